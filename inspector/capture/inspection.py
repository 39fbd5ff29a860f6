"""What one inspection leaves: each captured stop (when, at what cost) and the guest's files.

Owned here so that ``capture.run`` (which fills it) and ``capture.summary`` (which prints it)
both import it and neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from inspector.kernel.build import Build
from inspector.schema import Snapshot


@dataclass
class StopRecord:
    """One captured snapshot: when (seconds since QEMU started), at what cost."""

    index: int
    name: str
    path: Path
    at_seconds: float
    capture_seconds: float
    round_trips: int
    bytes_read: int


@dataclass
class Inspection:
    run_dir: Path
    build: Build
    records: list[StopRecord] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)
    shell_seconds: float = 0.0  # QEMU start to the guest's shell
    shell_monotonic: float = 0.0  # time.monotonic() when the shell answered
    last_stop_seconds: float = 0.0  # QEMU start to the end of the last capture
    guest_files: dict[str, Path] = field(default_factory=dict)
    guest_failures: dict[str, str] = field(default_factory=dict)  # file -> what went wrong
    # how each return was caught: "finish" (gdb's), "finish off its pages" (a hot function's
    # breakpoints disabled), "read watchpoint" (inspector.debug.returns)
    returns: dict[str, int] = field(default_factory=dict)
    ram_bytes: int = 0  # guest memory read from the RAM file at stops
    stub_bytes: int = 0  # … and through gdb's stub (no RAM file, or not translatable)

    def by_stop(self, name: str) -> list[Snapshot]:
        return [s for s in self.snapshots if s.stop == name]
