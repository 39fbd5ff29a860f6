"""Field-by-field comparison of two snapshots (model against capture), as text or JSON.

The comparison is strict. Dataclasses are walked recursively; nodes are matched by ``node_id``,
zones by (node, idx), zonelists by (node, kind), free areas by order, pagesets by cpu. A stop, node,
zone, order, CPU or ``globals`` key that one side has and the other lacks is a difference, and so
is a field one side left ``None``, unless ``NOT_CAPTURED`` declares that field not captured for
that version and arch (every report prints that list). Every difference names its stop, its path
(``node[1].zone[DMA32].managed_pages``), both values, and the kernel function that computes the
field in that kernel version. ``compare_run`` also holds the model's boot-log lines against the
guest's dmesg, line by line.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inspector.schema import GLOBALS_HASHES, GLOBALS_PERCPU_SWIOTLB, MIGRATETYPES, Snapshot

# Fields that are runtime state rather than a prediction: skipped unless asked for.
DEFAULT_IGNORE: frozenset[str] = frozenset(
    {
        "kernel.release",
        "zone.pageset.count",
        "inputs",
        "globals.cpu_to_node",
        "globals.dma_reserve",
        "init_per_zone_wmark_min:zone.nr_free_pages",
    }
)
# What each ignored path is, for the report: nothing is skipped without saying so.
IGNORED_WHY = {
    "kernel.release": "the release string (the model knows the version only)",
    "zone.pageset.count": "pages on a per-cpu list right now: runtime state, not initialisation",
    "inputs": "stop 1's inputs are what the model starts from",
    "globals.cpu_to_node": "the CPU topology, parsed after stop 1: a declared later-stop input",
    "globals.dma_reserve": "a stop-1 input: x86's memblock_find_dma_reserve() runs in setup_arch() "
    "before paging_init (its effect, the 'pages reserved' line and DMA's managed pages, is "
    "compared)",
    "init_per_zone_wmark_min:zone.nr_free_pages": "pages start_kernel allocates after the "
    "hand-off (slab caches, page tables, ...) are not modelled; nr_free is compared at the "
    "hand-off",
}
# Fields a version/arch does not capture: None there on the capture side is not a difference.
NOT_CAPTURED: dict[tuple[str, str], dict[str, str]] = {
    ("6.12", "x86_64"): {"globals.vm_total_pages": "a local of build_all_zonelists() in 6.12"},
    ("6.12", "arm64"): {"globals.vm_total_pages": "a local of build_all_zonelists() in 6.12"},
}
# Classes of compared values (generic path prefixes, longest first wins), for the counts.
CLASSES: tuple[tuple[str, str], ...] = (
    ("zone.pageblock_migratetypes", "pageblocks"),
    ("zone.free_area.blocks", "free blocks"),
    ("zone.free_area", "free-list counts"),
    ("zone.nr_free_pages", "free-list counts"),
    ("zone.free_blocks", "free blocks"),
    ("zone.watermark", "watermarks"),
    ("zone.lowmem_reserve", "lowmem_reserve"),
    ("zone.pageset", "pcp"),
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


def value_class(path: str) -> str:
    g = generic_path(path)
    for prefix, name in CLASSES:
        if g == prefix or g.startswith(prefix + ".") or g.startswith(prefix + "["):
            return name
    return "other"


WMARK_NAMES = ("min", "low", "high")

# Which 4.7 function computes a field. Keys are the generic path (indexes dropped); a key of the
# form "stop:path" wins over the plain one at that stop.
FUNCTIONS_4_7: dict[str, str] = {
    "node.node_start_pfn": "free_area_init_node()",
    "node.node_spanned_pages": "calculate_node_totalpages()",
    "node.node_present_pages": "calculate_node_totalpages()",
    "node.nr_zones": "init_currently_empty_zone()",
    "zone.zone_start_pfn": "zone_spanned_pages_in_node()",
    "zone.spanned_pages": "zone_spanned_pages_in_node()",
    "zone.present_pages": "zone_absent_pages_in_node()",
    "zone.memmap_pages": "calc_memmap_size()",
    "zone.managed_pages": "free_area_init_core()",
    "free_all_bootmem.return:zone.managed_pages": "__free_pages_boot_core()",
    "init_per_zone_wmark_min:zone.managed_pages": "__free_pages_boot_core()",
    "zone.pageblock_flags_bytes": "usemap_size()",
    "zone.pageblock_migratetypes": "memmap_init_zone()",
    "zone.nr_free_pages": "__free_one_page()",
    "zone.free_area": "__free_one_page()",
    "zone.free_area.nr_free": "__free_one_page()",
    "zone.free_area.free_list": "__free_one_page()",
    "zone.free_area.blocks": "__free_one_page() (list_add / list_add_tail)",
    "zone.watermark": "__setup_per_zone_wmarks()",
    "zone.lowmem_reserve": "setup_per_zone_lowmem_reserve()",
    "zone.pageset": "setup_zone_pageset()",
    "zone.pageset.high": "pageset_set_batch()",
    "zone.pageset.batch": "pageset_set_batch()",
    "zone": "free_area_init_core()",
    "node": "free_area_init_nodes()",
    "zonelist": "build_zonelists()",
    "zonelist.zones": "build_zonelists()",
    "globals.vm_total_pages": "build_all_zonelists()",
    "globals.page_group_by_mobility_disabled": "build_all_zonelists()",
    "globals.current_zonelist_order": "set_zonelist_order()",
    "globals.policy_zone": "check_highest_zone()",
    "globals.nr_online_nodes": "free_area_init_nodes()",
    "globals.totalram_pages": "free_all_bootmem()",
    "globals.min_free_kbytes": "init_per_zone_wmark_min()",
    "globals.totalreserve_pages": "calculate_totalreserve_pages()",
    "globals.nr_kernel_pages": "free_area_init_core()",
    "globals.nr_all_pages": "free_area_init_core()",
    "globals.dma_reserve": "memblock_find_dma_reserve()",
    "globals.movable_zone": "find_usable_zone_for_movable()",
    "globals.zone_movable_pfn": "find_zone_movable_pfns_for_nodes()",
    "globals.required_kernelcore": "cmdline_parse_kernelcore()",
    "globals.required_movablecore": "cmdline_parse_movablecore()",
    "globals.arch_zone_lowest_possible_pfn": "free_area_init_nodes()",
    "globals.arch_zone_highest_possible_pfn": "free_area_init_nodes()",
    "globals.pid_hash": "alloc_large_system_hash() (pidhash_init)",
    "globals.pidhash_shift": "alloc_large_system_hash() (pidhash_init)",
    "globals.dentry_hashtable": "alloc_large_system_hash() (dcache_init_early)",
    "globals.d_hash_shift": "alloc_large_system_hash() (dcache_init_early)",
    "globals.inode_hashtable": "alloc_large_system_hash() (inode_init_early)",
    "globals.i_hash_shift": "alloc_large_system_hash() (inode_init_early)",
    "globals.pcpu_base_addr": "pcpu_embed_first_chunk()",
    "globals.pcpu_unit_size": "pcpu_build_alloc_info()",
    "globals.io_tlb_start": "swiotlb_init()",
    "globals.io_tlb_end": "swiotlb_init()",
    "memblock": "memblock_add_range() / memblock_remove_range() (start_kernel's early allocations)",
}

FUNCTIONS: dict[str, dict[str, str]] = {"4.7": FUNCTIONS_4_7}


@dataclass
class Difference:
    path: str
    model: Any
    captured: Any
    function: str
    stop: str = ""

    def text(self) -> str:
        return f"{self.path}: model {self.model!r}, captured {self.captured!r}  [{self.function}]"


def generic_path(path: str) -> str:
    """``node[1].zone[DMA32].free_area[3].nr_free`` -> ``zone.free_area.nr_free``.

    ``globals[zone_movable_pfn[1]]`` -> ``globals.zone_movable_pfn``.
    """
    if path.startswith("globals["):
        return "globals." + re.sub(r"\[.*$", "", path[len("globals[") : -1])
    g = re.sub(r"\[[^\]]*\]", "", path)
    return g[len("node.") :] if g.startswith("node.zone") else g


def function_for(path: str, version: str, stop: str) -> str:
    """The kernel function computing ``path``: the longest matching table entry."""
    table = FUNCTIONS.get(version, {})
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
        self.not_captured = NOT_CAPTURED.get((version, arch), {})
        self.zone_names = zone_names
        self.out: list[Difference] = []
        self.counts: Counter[str] = Counter()

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
        self.counts[value_class(path)] += 1
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
            self.counts[value_class(path)] += 1
            if a != b:
                self.add(path, a, b)

    def sequence(self, path: str, a: list[Any], b: list[Any]) -> None:
        name = generic_path(path).rsplit(".", 1)[-1]
        if name == "zones" and all(_is_scalar(x) for x in a + b):
            self.counts[value_class(path)] += 1
            if a != b:  # a zonelist is one value: its order is the point
                self.add(path, a, b)
            return
        if len(a) != len(b):
            self.counts[value_class(path)] += 1
            self.add(f"{path}.length", len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            self.value(f"{path}[{self.label(name, i)}]", x, y)

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
                self.counts[value_class(sub)] += 1
                self.add(sub, "present" if x else "missing", "present" if y else "missing")
                continue
            self.value(sub, x, y)

    def dataclass(self, path: str, a: Any, b: Any) -> None:
        prefix = f"{path}." if path else ""
        for f in dataclasses.fields(a):
            sub = prefix + f.name
            x, y = getattr(a, f.name), getattr(b, f.name, None)
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
    w = _Walker(version, captured.kernel.arch, captured.stop, ignore, names)
    w.value("", model, captured)
    return w


def diff(
    model: Snapshot, captured: Snapshot, *, ignore: frozenset[str] = DEFAULT_IGNORE
) -> list[Difference]:
    """Every value where ``model`` and ``captured`` disagree, or that only one side has."""
    return _walk(model, captured, ignore).out


def merge(snapshots: list[Snapshot]) -> Snapshot:
    """One snapshot from several hits of the same stop (per node or per zone); later hits win.

    Nodes are merged by node_id and zones by idx; globals and zonelists are combined.
    """
    if not snapshots:
        raise ValueError("merge() needs at least one snapshot")
    out = dataclasses.replace(snapshots[0], nodes=[], globals={}, zonelists=None)
    nodes: dict[int, Any] = {}
    for snap in snapshots:
        for node in snap.nodes:
            old = nodes.get(node.node_id)
            zones = {z.idx: z for z in (old.zones if old else [])}
            zones.update({z.idx: z for z in node.zones})
            nodes[node.node_id] = dataclasses.replace(node, zones=[zones[i] for i in sorted(zones)])
        out.globals.update(snap.globals)
        if snap.zonelists is not None:
            out.zonelists = (out.zonelists or []) + snap.zonelists
        if snap.inputs is not None:
            out.inputs = snap.inputs
        if snap.memblock is not None:
            out.memblock = snap.memblock
    out.nodes = [nodes[n] for n in sorted(nodes)]
    return out


def load_run(run_dir: Path) -> dict[str, Snapshot]:
    """The numbered snapshots of a capture run (``NN-<stop>.json``), merged per stop."""
    by_stop: dict[str, list[Snapshot]] = defaultdict(list)
    for path in sorted(run_dir.glob("[0-9]*.json")):
        snap = Snapshot.read(path)
        by_stop[snap.stop].append(snap)
    return {stop: merge(snaps) for stop, snaps in by_stop.items()}


# Memory-init lines of the kernel's log that the 4.7 model predicts: each one printed must be
# predicted, and each predicted must have been printed (mm/page_alloc.c, mm/nobootmem.c).
LOG_LINES_4_7 = re.compile(
    r"^(Zone ranges:|  (DMA|DMA32|Normal|Movable) +(\[mem|empty)|Movable zone start for each node"
    r"|  Node \d+: 0x|Early memory node ranges|  node +\d+: \[mem|Initmem setup node"
    r"|On node \d+ totalpages:|  \w+ zone: \d+ pages (used for memmap|reserved|exceeds freesize)"
    r"|  \w+ zone: \d+ pages, LIFO batch:|Built \d+ zonelists|Policy zone:"
    r"|Could not find start_pfn|Memory: \d+K/\d+K available"
    r"|percpu: Embedded |(PID|Dentry cache|Inode-cache|Mount-cache|Mountpoint-cache) hash table"
    r"|software IO TLB \[mem)"
)
_TIMESTAMP = re.compile(r"^\[ *\d+\.\d+\] ")
MEMORY_LINE = re.compile(r"^(Memory: \d+K/\d+K available).*")
LOG_NOTE = (
    "the Memory: line is judged up to 'available' (the image's section sizes that follow are "
    "not predicted)"
)


def kernel_log_lines(dmesg: str) -> list[str]:
    """The memory-init lines of a guest's dmesg, without timestamps, in the order printed."""
    out = []
    for raw in dmesg.splitlines():
        line = _TIMESTAMP.sub("", raw)
        if LOG_LINES_4_7.match(line):
            out.append(MEMORY_LINE.sub(r"\1", line))
    return out


def judge_log(predicted: list[str], printed: list[str]) -> tuple[list[Difference], int]:
    """Line-by-line: a printed line not predicted, or a predicted one not printed, is a
    difference (matched in order, as difflib aligns them). Returns (differences, compared)."""
    import difflib

    out: list[Difference] = []
    sm = difflib.SequenceMatcher(a=predicted, b=printed, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            continue
        for k in range(max(i2 - i1, j2 - j1)):
            a = predicted[i1 + k] if i1 + k < i2 else "missing"
            b = printed[j1 + k] if j1 + k < j2 else "missing"
            out.append(Difference(f"log[{j1 + k}]", a, b, "printk()", "dmesg"))
    return out, max(len(predicted), len(printed))


# Stop 1's snapshot is the model's input, not a prediction. At the hand-off stop only memblock is
# compared; its ``inputs`` carry the ACPI-parsed later-stop inputs (LATER_INPUTS).
INPUT_STOPS = ("free_area_init_nodes",)
HANDOFF_STOP = "free_all_bootmem"

# The kernel's own trace of memblock (``memblock=debug``): every reserve and free with its range.
_TRACE = re.compile(
    r"^\s*(memblock_reserve|memblock_free|__memblock_free_early): "
    r"\[(0x[0-9a-f]+)-(0x[0-9a-f]+)\]"
)
_TRACE_START = re.compile(r"^On node \d+ totalpages:")
TRACE_NOTE = (
    "memblock=debug: the kernel's reserve/free trace from the first 'On node N totalpages' to "
    "'Memory:' is held against the model's allocations, range by range"
)


def kernel_memblock_trace(dmesg: str) -> list[str] | None:
    """The reserve and free ranges the kernel logged between stop 1 and the hand-off, or None
    when the guest did not boot with ``memblock=debug``."""
    out: list[str] = []
    started = False
    seen = False
    for raw in dmesg.splitlines():
        line = _TIMESTAMP.sub("", raw)
        if _TRACE_START.match(line):
            started = True
        if line.startswith("Memory: ") and started:
            break
        m = _TRACE.match(line)
        if m:
            seen = True
            if started:
                op = "reserve" if m.group(1) == "memblock_reserve" else "free"
                start, last = int(m.group(2), 16), int(m.group(3), 16)
                out.append(f"{op} [{start:#x}-{last + 1:#x})")
    return out if seen else None


def model_memblock_trace(calls: list[Any]) -> list[str]:
    """The model's memblock calls as the kernel's trace prints them: each successful allocation
    reserves its range, each free frees its range."""
    out = []
    for c in calls:
        if c.op == "alloc" and not c.base:
            continue
        op = "reserve" if c.op == "alloc" else "free"
        out.append(f"{op} [{c.base:#x}-{c.base + c.size:#x})")
    return out


@dataclass
class Comparison:
    """The model against one capture run: differences per stop and what was compared."""

    run_dir: Path
    diffs: dict[str, list[Difference]]
    counts: Counter[str]  # compared values per class
    per_stop: Counter[str]  # compared values per stop
    provenance: str  # one line per model input
    later: dict[str, int]  # later-stop input -> compared values that depend on it
    not_captured: dict[str, str]
    ignored: dict[str, str]
    notes: list[str]

    @property
    def flat(self) -> list[Difference]:
        return [d for ds in self.diffs.values() for d in ds]

    def text(self) -> str:
        lines = []
        for stop, ds in self.diffs.items():
            lines.append(report_text(ds, title=f"{stop} ({self.per_stop[stop]} values)").rstrip())
        lines.append("compared values per class:")
        lines += [f"  {k:20} {v}" for k, v in sorted(self.counts.items())]
        lines.append(f"  {'total':20} {sum(self.counts.values())}")
        lines.append("model inputs:")
        lines.append(self.provenance)
        for name, n in self.later.items():
            lines.append(f"compared values that depend on later-stop input {name}: {n}")
        for what, why in {**self.not_captured, **self.ignored}.items():
            lines.append(f"not compared: {what}: {why}")
        lines += [f"note: {n}" for n in self.notes]
        total = len(self.flat)
        lines.append(f"{total} difference{'s' if total != 1 else ''} between model and kernel")
        return "\n".join(lines) + "\n"

    def to_json(self) -> str:
        return (
            json.dumps(
                {
                    "differences": [dataclasses.asdict(d) for d in self.flat],
                    "compared": dict(self.counts),
                    "later_inputs": self.later,
                    "not_compared": {**self.not_captured, **self.ignored},
                    "notes": self.notes,
                },
                indent=1,
                default=str,
            )
            + "\n"
        )


def compare(run_dir: Path) -> Comparison:
    """Run the model on a capture run's declared inputs and diff every stop, strictly, and the
    boot log against the guest's dmesg."""
    from inspector.errors import InspectorError
    from inspector.model import v4_7
    from inspector.model.inputs import LATER_INPUTS, model_inputs

    if not run_dir.is_dir():
        raise InspectorError(f"{run_dir} is not a directory: name an inspect run directory")
    captured = load_run(run_dir)
    if not captured:
        raise InspectorError(f"{run_dir} holds no snapshots (NN-<stop>.json): not an inspect run")
    start = captured.get(INPUT_STOPS[0])
    version = start.kernel.version if start else next(iter(captured.values())).kernel.version
    if version != v4_7.VERSION:
        raise InspectorError(f"{run_dir}: no model for Linux {version} yet")
    inputs = model_inputs(run_dir, captured, INPUT_STOPS[0], HANDOFF_STOP, v4_7.ZONELISTS)
    model = v4_7.Linux47(inputs)
    predicted = model.run()
    diffs: dict[str, list[Difference]] = {}
    counts: Counter[str] = Counter()
    per_stop: Counter[str] = Counter()
    for stop in list(predicted) + [s for s in captured if s not in predicted]:
        if stop in INPUT_STOPS:
            continue
        if stop not in predicted or stop not in captured:
            d = Difference(
                f"stop[{stop}]",
                "present" if stop in predicted else "missing",
                "present" if stop in captured else "missing",
                "the stop plan",
                stop,
            )
            diffs[stop] = [d]
            counts["stops"] += 1
            per_stop[stop] += 1
            continue
        w = _walk(predicted[stop], captured[stop])
        diffs[stop] = w.out
        counts.update(w.counts)
        per_stop[stop] = sum(w.counts.values())
    dmesg = run_dir / "dmesg.txt"
    if dmesg.exists():
        log_diffs, n = judge_log(model.log, kernel_log_lines(dmesg.read_text(errors="replace")))
    else:
        log_diffs = [Difference("log", "present", "missing (no dmesg.txt)", "printk()", "dmesg")]
        n = 1
    diffs["dmesg"] = log_diffs
    counts["log lines"] += n
    per_stop["dmesg"] = n
    notes = [LOG_NOTE]
    trace = kernel_memblock_trace(dmesg.read_text(errors="replace")) if dmesg.exists() else None
    if trace is not None and model.early is not None:
        tdiffs, n = judge_log(model_memblock_trace(model.early.mb.calls), trace)
        for d in tdiffs:
            d.path = d.path.replace("log[", "memblock_trace[")
            d.function = "memblock_reserve() / memblock_free()"
            d.stop = "memblock=debug"
        diffs["memblock=debug"] = tdiffs
        counts["memblock trace"] += n
        per_stop["memblock=debug"] = n
        notes.append(TRACE_NOTE)
    later = {name: sum(per_stop[s] for s in LATER_INPUTS[name][1]) for name in inputs.later()}
    return Comparison(
        run_dir=run_dir,
        diffs=diffs,
        counts=counts,
        per_stop=per_stop,
        provenance=inputs.provenance_text(),
        later=later,
        not_captured=NOT_CAPTURED.get((version, inputs.arch), {}),
        ignored=dict(IGNORED_WHY),
        notes=notes,
    )


def compare_run(run_dir: Path) -> dict[str, list[Difference]]:
    """The differences of ``compare(run_dir)``, per stop (and ``dmesg``)."""
    return compare(run_dir).diffs


def report_text(diffs: list[Difference], *, title: str = "") -> str:
    """A plain-text report: one line per difference, or a line saying there are none."""
    head = f"{title}: " if title else ""
    if not diffs:
        return f"{head}no differences\n"
    lines = [f"{head}{len(diffs)} difference{'s' if len(diffs) != 1 else ''}"]
    lines += ["  " + d.text() for d in diffs]
    return "\n".join(lines) + "\n"


def report_json(diffs: list[Difference]) -> str:
    """The differences as a JSON list of {path, model, captured, function}."""
    return json.dumps([dataclasses.asdict(d) for d in diffs], indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m inspector.compare RUN_DIR [--json]``: the model against one capture run."""
    import argparse
    import sys

    p = argparse.ArgumentParser(prog="python -m inspector.compare", description=main.__doc__)
    p.add_argument("run_dir", type=Path, help="a capture run directory (NN-<stop>.json files)")
    p.add_argument("--json", action="store_true", help="print the differences as JSON")
    args = p.parse_args(argv)
    result = compare(args.run_dir)
    sys.stdout.write(result.to_json() if args.json else result.text())
    return 1 if result.flat else 0


if __name__ == "__main__":
    raise SystemExit(main())
