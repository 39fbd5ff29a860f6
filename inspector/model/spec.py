"""What a registered model is: its version, how it replays a boot, and which kernel function
computes each field (inspector.model registers one per kernel version)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from inspector.model.inputs import ModelInputs
from inspector.model.memblock import MemblockCall
from inspector.model.provenance import Chain
from inspector.schema import Snapshot


@dataclass
class Replay:
    """One boot replayed by a model: a snapshot per stop, the boot-log lines it printed, and
    every memblock allocation and free between stop 1 and the hand-off, in order."""

    snapshots: dict[str, Snapshot]
    log: list[str]
    memblock_calls: list[MemblockCall] = field(default_factory=list)
    # the free lists after each memblock range the hand-off freed (inspector.model.spec's
    # HandoffFrame), for the walkthrough's frame-by-frame view
    handoff_frames: list[HandoffFrame] = field(default_factory=list)
    # stop -> field path -> the chain that computed it (inspector.model.provenance)
    provenance: dict[str, dict[str, Chain]] = field(default_factory=dict)


@dataclass
class HandoffFrame:
    """The buddy allocator after the hand-off freed one more memblock range [start_pfn,
    end_pfn): every zone's free_area[order][migratetype] block counts, keyed (nid, zone idx)."""

    start_pfn: int
    end_pfn: int
    free_area: dict[tuple[int, int], list[list[int]]]
    managed: dict[tuple[int, int], int] = field(default_factory=dict)  # managed_pages so far


@dataclass(frozen=True)
class ModelSpec:
    version: str
    replay: Callable[[ModelInputs], Replay]
    functions: dict[str, str]  # generic field path (or "stop:path") -> kernel function
    log_lines: re.Pattern[str]  # the kernel's log lines this model predicts, all of them
    # the memblock=debug trace judged: from the first log line ``trace_start`` matches (printed
    # by stop 1's function before it allocates) to the first ``trace_end`` matches after it
    # (printed once the hand-off is done)
    trace_start: re.Pattern[str] = re.compile(r"^On node \d+ totalpages:")
    trace_end: re.Pattern[str] = re.compile(r"^Memory: ")
    # the lines a kernel of a given release prints that the model predicts, where they depend
    # on the release (inspector.kernel_changes); None: ``log_lines`` at every release
    log_lines_by_release: Callable[[str], re.Pattern[str]] | None = None

    def log_lines_at(self, release: str) -> re.Pattern[str]:
        """The log lines judged for a kernel of ``release``."""
        if self.log_lines_by_release is None:
            return self.log_lines
        return self.log_lines_by_release(release)
