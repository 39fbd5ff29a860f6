"""Pictures of a capture run: hand-written SVG, no third-party packages (see ``svg``)."""

from inspector.report.svg import free_lists_svg, memory_map_svg, write_pictures

__all__ = ["free_lists_svg", "memory_map_svg", "write_pictures"]
