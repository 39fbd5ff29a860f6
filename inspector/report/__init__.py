"""Pictures of a capture run: hand-written SVG, no third-party packages (``draw`` holds the
primitives, ``memmap`` and ``freelists`` the two pictures, ``svg`` writes them into a run)."""

from inspector.report.freelists import free_lists_svg
from inspector.report.memmap import memory_map_svg
from inspector.report.svg import write_pictures

__all__ = ["free_lists_svg", "memory_map_svg", "write_pictures"]
