"""What a change record is: an upstream change, its commits, its first release and the
``diff-versions`` rows it explains (inspector.kernel_changes lists them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Condition = Callable[[Any, Any], bool]


@dataclass(frozen=True)
class Commit:
    """An upstream commit as drgn's helpers cite one. ``id`` is empty where only the subject
    could be checked here (the series was found, its mainline id was not)."""

    id: str  # 12 hex digits
    subject: str
    release: str  # the first release that has it ("v5.10-rc1"), "" where not checked

    def cite(self) -> str:
        if not self.id:
            return f'"{self.subject}" (mainline id not checked here)'
        return f'commit {self.id} ("{self.subject}")' + (
            f", {self.release}" if self.release else ""
        )


@dataclass(frozen=True)
class KernelChange:
    id: str
    what: str  # the behaviour, 4.7 → 6.12
    function: str  # where it lives in 6.12
    commits: tuple[Commit, ...] = ()
    patterns: tuple[str, ...] = ()
    when: Condition | None = field(default=None, compare=False, repr=False)
    arches: tuple[str, ...] = ("x86_64", "arm64")
    # the whole cause where it matches (or where ``sole_when`` holds): other, broader changes
    # are then not listed for the row
    sole: bool = False
    sole_when: Condition | None = field(default=None, compare=False, repr=False)
    # the first release, where no commit with a checked release places it: "v5.14", with
    # the evidence in ``evidence`` (real machines' logs, say)
    since: str = ""
    evidence: str = ""
    # stable releases known to carry the change before (or without) its mainline release:
    # "6.12.118" means that 6.12.y release and the later ones of 6.12.y
    backports: tuple[str, ...] = ()

    def is_sole(self, old: Any, new: Any) -> bool:
        return self.sole or (self.sole_when is not None and self.sole_when(old, new))

    def line(self) -> str:
        cites = "; ".join(c.cite() for c in self.commits)
        return f"{self.what} [{self.function}]" + (f"; {cites}" if cites else "")


def grouped_by_node(zonelist: Any) -> bool:
    """Is a zonelist (``"node:zone node:zone …"``) in node order (each node's zones together)?"""
    if not isinstance(zonelist, str):
        return True
    nodes = [entry.split(":")[0] for entry in zonelist.split()]
    seen: list[str] = []
    for n in nodes:
        if seen and n != seen[-1] and n in seen:
            return False
        if not seen or n != seen[-1]:
            seen.append(n)
    return True


def both_node_order(old: Any, new: Any) -> bool:
    return grouped_by_node(old) and grouped_by_node(new)


def was_zone_order(old: Any, new: Any) -> bool:
    return not grouped_by_node(old) or old is None or new is None


def empty_zone_reserve(old: Any, new: Any) -> bool:
    return new == 0 and old not in (0, None)


def absent_in_new(old: Any, new: Any) -> bool:
    return new is None


def absent_in_old(old: Any, new: Any) -> bool:
    return old is None


def present_in_both(old: Any, new: Any) -> bool:
    return old is not None and new is not None


# What follows from the memory each kernel reserved before the hand-off: patterns of rows that
# depend on memblock.reserved (image size and place, early allocations).
FROM_RESERVED = (
    "inputs:memblock.reserved",
    "handoff:memblock.reserved",
    "handoff:globals[*]",
    "buddy:*",
    "wmarks:*.managed_pages",
    "wmarks:*.watermark[*]",
    "wmarks:*.lowmem_reserve[*]",
    "wmarks:*.pageset.batch",
    "wmarks:*.pcp_high_m*",
    "wmarks:globals[*]",
    "zonelists:globals[nr_kernel_pages]",
    "zonelists:globals[nr_all_pages]",
    "log:Memory: *",
    "log:* zone: # pages, LIFO batch:#*",
    "log:Built # zonelists*",
    "log:* hash table entries: #*",
    "log:percpu: Embedded *",
    "log:software IO TLB*",
    "handoff:globals[*hash*]",
)
