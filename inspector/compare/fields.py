"""The strict field walk of two snapshots (model against capture): nodes matched by ``node_id``,
zones by (node, idx), zonelists by (node, kind), free areas by order, pagesets by cpu; what is
not compared and why (``IGNORED_WHY``; by change: ``ignored_by_release``, ``not_captured``);
the class of each compared value; and the kernel function each version's model names for a
field.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from typing import Any

from inspector.errors import InspectorError
from inspector.flatten import generic_path
from inspector.kernel_changes import landed
from inspector.model import functions_for
from inspector.schema import GLOBALS_HASHES, GLOBALS_PERCPU_SWIOTLB, MIGRATETYPES, Snapshot


@dataclass(frozen=True)
class Skip:
    """A field compare does not judge, and why: ``runtime`` state (skipped unless asked for),
    a value that is runtime state ``ignored`` from a change on, or a field a kernel does not
    have from a change on (``absent``: None on the capture side is then no difference)."""

    why: str
    kind: str = "runtime"  # "runtime" | "ignored" | "absent"
    change: str | None = None  # the change record from which it holds (None: every release)


# Every field compare does not judge, in one table: nothing is skipped without saying why, and
# from a change on the release decides, through the change record, never a version string.
SKIPPED: dict[str, Skip] = {
    "kernel.release": Skip("the release string (the model knows the version only)"),
    "zone.pageset.count": Skip(
        "pages on a per-cpu list right now: runtime state, not initialisation"
    ),
    "inputs": Skip("stop 1's inputs are what the model starts from"),
    "globals.cpu_to_node": Skip(
        "the CPU topology, parsed after stop 1: a declared later-stop input"
    ),
    "globals.dma_reserve": Skip(
        "a stop-1 input: x86's memblock_find_dma_reserve() runs in setup_arch() before "
        "paging_init (its effect, the 'pages reserved' line and DMA's managed pages, is compared)"
    ),
    "init_per_zone_wmark_min:zone.nr_free_pages": Skip(
        "pages start_kernel allocates after the hand-off (slab caches, page tables, ...) are "
        "not modelled; nr_free is compared at the hand-off"
    ),
    "zone.pageset.high": Skip(
        "pcp->high is auto-tuned at runtime (between high_min and high_max) since change "
        "pcp-high-autotune, not initialisation",
        "ignored",
        "pcp-high-autotune",
    ),
    "globals.vm_total_pages": Skip(
        "a local of build_all_zonelists() since change vm-total-pages-local",
        "absent",
        "vm-total-pages-local",
    ),
}
IGNORED_WHY = {p: s.why for p, s in SKIPPED.items() if s.kind == "runtime"}
DEFAULT_IGNORE: frozenset[str] = frozenset(IGNORED_WHY)


def _from_changes(kind: str, version: str) -> dict[str, str]:
    try:
        have = landed(version)
    except InspectorError:  # not a release (a run of unknown version): nothing skipped
        return {}
    return {p: s.why for p, s in SKIPPED.items() if s.kind == kind and s.change in have}


def ignored_by_release(version: str) -> dict[str, str]:
    """What compare skips in a kernel of ``version`` (``"6.1"``, ``"6.12.118"``) and why."""
    return _from_changes("ignored", version)


def not_captured(version: str, arch: str) -> dict[str, str]:
    """What a kernel of ``version`` on ``arch`` does not have, and why."""
    return _from_changes("absent", version)


# Classes of compared values (generic path prefixes, longest first wins), for the counts.
CLASSES: tuple[tuple[str, str], ...] = (
    ("zone.pageblock_migratetypes", "pageblocks"),
    ("zone.free_area.blocks", "free blocks"),
    ("zone.free_area", "free-list counts"),
    ("zone.deferred_movable_nr_free", "free-list counts"),
    ("zone.nr_free_pages", "free-list counts"),
    ("zone.free_blocks", "free blocks"),
    ("zone.watermark", "watermarks"),
    ("zone.lowmem_reserve", "lowmem_reserve"),
    ("zone.pageset", "pcp"),
    ("zone.pcp_high_min", "pcp"),
    ("zone.pcp_high_max", "pcp"),
    ("zonelist", "zonelists"),
    *((f"globals.{g}", "hash tables") for g in GLOBALS_HASHES),
    *((f"globals.{g}", "per-cpu and swiotlb") for g in GLOBALS_PERCPU_SWIOTLB),
    ("globals", "globals"),
    ("memblock", "memblock at the hand-off"),
    ("log", "log lines"),
    ("stop", "stops"),
    ("kernel", "kernel id"),
    ("node", "node and zone sizes"),
    ("zone", "node and zone sizes"),
)


def why_not_compared(generic: str, version: str, arch: str, stop: str) -> str | None:
    """Why compare skips a field (a generic path, ``zone.pageset.high``), or None if it does not."""
    reasons = {
        **IGNORED_WHY,
        **ignored_by_release(version),
        **not_captured(version, arch),
    }
    ignore = (
        set(DEFAULT_IGNORE) | set(ignored_by_release(version)) | set(not_captured(version, arch))
    )
    for key in (generic, f"{stop}:{generic}"):
        parts = key.split(".")
        for n in range(1, len(parts) + 1):
            if ".".join(parts[:n]) in ignore:
                return reasons.get(".".join(parts[:n]), "not compared")
    return None


def value_class(path: str) -> str:
    g = generic_path(path)
    for prefix, name in CLASSES:
        if g == prefix or g.startswith(prefix + ".") or g.startswith(prefix + "["):
            return name
    return "other"


WMARK_NAMES = ("min", "low", "high")


@dataclass
class Difference:
    path: str
    model: Any
    captured: Any
    function: str
    stop: str = ""
    # the kernel functions the model's chain for the value passes through (provenance)
    via: str = ""

    def text(self) -> str:
        via = f"; via {self.via}" if self.via else ""
        return (
            f"{self.path}: model {self.model!r}, captured {self.captured!r}  [{self.function}{via}]"
        )


def function_for(path: str, version: str, stop: str) -> str:
    """The kernel function computing ``path``: the longest matching entry of the table the
    version's model registers."""

    table = functions_for(version)
    parts = generic_path(path).split(".")
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if f"{stop}:{key}" in table:
            return table[f"{stop}:{key}"]
        if key in table:
            return table[key]
    return "?"


class _Walker:
    def __init__(
        self,
        version: str,
        arch: str,
        stop: str,
        ignore: frozenset[str],
        zone_names: list[str],
    ):
        self.version = version
        self.stop = stop
        self.ignore = ignore
        self.not_captured = not_captured(version, arch)
        self.zone_names = zone_names
        self.out: list[Difference] = []
        self.counts: Counter[str] = Counter()
        # every value compared, by the path compare prints: (model, captured)
        self.leaves: dict[str, tuple[Any, Any]] = {}

    def count(self, path: str, model: Any, captured: Any) -> None:
        self.counts[value_class(path)] += 1
        self.leaves[path] = (model, captured)

    def ignored(self, path: str) -> bool:
        g = generic_path(path)
        for key in (g, f"{self.stop}:{g}"):
            parts = key.split(".")
            if any(".".join(parts[:n]) in self.ignore for n in range(1, len(parts) + 1)):
                return True
        return False

    def add(self, path: str, model: Any, captured: Any) -> None:
        self.out.append(
            Difference(
                path, model, captured, function_for(path, self.version, self.stop), self.stop
            )
        )

    def one_sided(self, path: str, a: Any, b: Any) -> bool:
        """A value only one side has: a difference unless declared not captured. True when
        handled (nothing more to compare)."""
        if a is None and b is None:
            return True
        if a is not None and b is not None:
            return False
        if b is None and generic_path(path) in self.not_captured:
            return True
        self.count(path, a, b)
        self.add(path, "missing" if a is None else _short(a), "missing" if b is None else _short(b))
        return True

    def value(self, path: str, a: Any, b: Any) -> None:
        """Compare two values of the same declared type, recursing into structure."""
        if self.ignored(path) or self.one_sided(path, a, b):
            return
        if dataclasses.is_dataclass(a) and dataclasses.is_dataclass(b):
            self.dataclass(path, a, b)
        elif isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b), key=str):
                self.value(f"{path}[{key}]", a.get(key), b.get(key))
        elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
            self.sequence(path, list(a), list(b))
        else:
            self.count(path, a, b)
            if a != b:
                self.add(path, a, b)

    def sequence(self, path: str, a: list[Any], b: list[Any]) -> None:
        name = generic_path(path).rsplit(".", 1)[-1]
        if name == "zones" and all(_is_scalar(x) for x in a + b):
            self.count(path, a, b)
            if a != b:  # a zonelist is one value: its order is the point
                self.add(path, a, b)
            return
        if len(a) != len(b):
            self.count(f"{path}.length", len(a), len(b))
            self.add(f"{path}.length", len(a), len(b))
        if a and b and all(type(x) is int for x in a) and all(type(y) is int for y in b):
            self.ints(path, name, a, b)
            return
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            self.value(f"{path}[{self.label(name, i)}]", x, y)

    def ints(self, path: str, name: str, a: list[int], b: list[int]) -> None:
        """``value()`` over two lists of ints (a zone's pageblocks, a free list's pfns: up to
        2^19 entries a zone at 1 TiB), with what depends only on the generic path (ignored or
        not, the value's class) decided once rather than per entry."""
        if self.ignored(f"{path}[0]"):
            return
        cls = value_class(f"{path}[0]")
        n = min(len(a), len(b))
        leaves = self.leaves
        for i in range(n):
            sub = f"{path}[{self.label(name, i)}]"
            leaves[sub] = (a[i], b[i])
            if a[i] != b[i]:
                self.add(sub, a[i], b[i])
        self.counts[cls] += n

    def label(self, name: str, i: int) -> str:
        if name in ("free_list", "blocks") and i < len(MIGRATETYPES):
            return MIGRATETYPES[i]
        if name == "watermark" and i < len(WMARK_NAMES):
            return WMARK_NAMES[i]
        if name == "lowmem_reserve" and i < len(self.zone_names):
            return self.zone_names[i]
        return str(i)

    def keyed(self, path: str, a: list[Any], b: list[Any], key: Any, label: Any) -> None:
        """Match entries by key; an entry only one side has is a difference."""
        ka = {key(x): x for x in a}
        kb = {key(x): x for x in b}
        for k in sorted(set(ka) | set(kb)):
            x, y = ka.get(k), kb.get(k)
            sub = f"{path}[{label(x if x is not None else y)}]"
            if self.ignored(sub):
                continue
            if x is None or y is None:
                self.count(sub, x, y)
                self.add(sub, "present" if x else "missing", "present" if y else "missing")
                continue
            self.value(sub, x, y)

    def dataclass(self, path: str, a: Any, b: Any) -> None:
        prefix = f"{path}." if path else ""
        for f in dataclasses.fields(a):
            sub = prefix + f.name
            x: Any = getattr(a, f.name)
            y: Any = getattr(b, f.name, None)
            if f.name in ("stop", "schema") and not path:
                continue  # the snapshot's own identity
            if self.ignored(sub) or self.one_sided(sub, x, y):
                continue
            if f.name == "nodes":
                self.keyed("node", x, y, lambda n: n.node_id, lambda n: n.node_id)
            elif f.name == "zones" and path.startswith("node["):
                self.keyed(f"{path}.zone", x, y, lambda z: z.idx, lambda z: z.name)
            elif f.name == "zonelists":
                self.keyed(
                    "zonelist", x, y, lambda z: (z.node, z.kind), lambda z: f"{z.node},{z.kind}"
                )
            elif f.name == "free_area":
                self.keyed(sub, x, y, lambda fa: fa.order, lambda fa: fa.order)
            elif f.name == "pageset":
                self.keyed(sub, x, y, lambda p: p.cpu, lambda p: p.cpu)
            elif f.name == "globals":
                self.value("globals", x, y)
            else:
                self.value(sub, x, y)


def _short(x: Any) -> Any:
    """A value for the one-sided difference line: scalars as they are, structure by kind."""
    if isinstance(x, int | str | float):
        return x
    if isinstance(x, list | tuple):
        return f"{len(x)} entries"
    return "present"


def _is_scalar(x: Any) -> bool:
    return isinstance(x, int | str | tuple)


def _walk(model: Snapshot, captured: Snapshot, ignore: frozenset[str] = DEFAULT_IGNORE) -> _Walker:
    by_idx: dict[int, str] = {}
    for snap in (model, captured):
        if snap.inputs and snap.inputs.zone_names:
            by_idx.update(enumerate(snap.inputs.zone_names))
        for node in snap.nodes:
            by_idx.update({z.idx: z.name for z in node.zones})
    names = [by_idx.get(i, str(i)) for i in range(max(by_idx, default=-1) + 1)]
    version = captured.kernel.version or model.kernel.version
    ignore = ignore | frozenset(ignored_by_release(version))
    w = _Walker(version, captured.kernel.arch, captured.stop, ignore, names)
    w.value("", model, captured)
    return w


def diff(
    model: Snapshot, captured: Snapshot, *, ignore: frozenset[str] = DEFAULT_IGNORE
) -> list[Difference]:
    """Every value where ``model`` and ``captured`` disagree, or that only one side has."""
    return _walk(model, captured, ignore).out
