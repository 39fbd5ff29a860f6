"""Hand-written SVG pictures of a capture run (no third-party packages): ``write_pictures`` puts
``memmap.svg`` (report.memmap), ``freelists.svg`` (report.freelists), ``zonelists.svg`` and
``watermarks.svg`` (report.zonelists) into a run directory.
"""

from __future__ import annotations

from pathlib import Path

from inspector.paths import write_atomic
from inspector.report.freelists import free_lists_svg
from inspector.report.memmap import memory_map_svg
from inspector.report.zonelists import watermarks_svg, zonelists_svg
from inspector.rundir import buddy_snapshot, input_snapshot, nodes_snapshot

MEMMAP_FILE = "memmap.svg"


FREELISTS_FILE = "freelists.svg"
ZONELISTS_FILE = "zonelists.svg"
WATERMARKS_FILE = "watermarks.svg"


def write_pictures(run_dir: Path) -> list[Path]:
    """Write the run's pictures into a capture run directory; a picture whose
    snapshots are missing is skipped. Returns the paths written."""
    from inspector.rundir import load_run

    snapshots = load_run(run_dir)
    written: list[Path] = []
    if input_snapshot(snapshots) is not None and nodes_snapshot(snapshots) is not None:
        path = run_dir / MEMMAP_FILE
        write_atomic(path, memory_map_svg(snapshots))
        written.append(path)
    zl = next((s for s in snapshots.values() if s.zonelists), None)
    if zl is not None:
        path = run_dir / ZONELISTS_FILE
        write_atomic(path, zonelists_svg(zl))
        written.append(path)
    wm = next(
        (
            s
            for s in reversed(snapshots.values())
            if any(z.watermark for n in s.nodes for z in n.zones)
        ),
        None,
    )
    if wm is not None:
        path = run_dir / WATERMARKS_FILE
        write_atomic(path, watermarks_svg(wm))
        written.append(path)
    buddy = buddy_snapshot(snapshots)
    if buddy is not None:
        path = run_dir / FREELISTS_FILE
        write_atomic(path, free_lists_svg(buddy))
        written.append(path)
    return written
