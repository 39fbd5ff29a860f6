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
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inspector.model import LOG_LINES_4_7, functions_for, model_for
from inspector.registry import Role, stop_name
from inspector.rundir import load_run, require_complete
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
# Fields ignored for one version only, with the reason (printed like the rest).
IGNORED_BY_VERSION: dict[str, dict[str, str]] = {
    "6.12": {
        "zone.pageset.high": "pcp->high is auto-tuned at runtime in 6.12 (between high_min and "
        "high_max), not initialisation",
    },
}
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
        **IGNORED_BY_VERSION.get(version, {}),
        **NOT_CAPTURED.get((version, arch), {}),
    }
    ignore = (
        set(DEFAULT_IGNORE)
        | set(IGNORED_BY_VERSION.get(version, {}))
        | set(NOT_CAPTURED.get((version, arch), {}))
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


def generic_path(path: str) -> str:
    """``node[1].zone[DMA32].free_area[3].nr_free`` -> ``zone.free_area.nr_free``.

    ``globals[zone_movable_pfn[1]]`` -> ``globals.zone_movable_pfn``.
    """
    if path.startswith("globals["):
        return "globals." + re.sub(r"\[.*$", "", path[len("globals[") : -1])
    g = re.sub(r"\[[^\]]*\]", "", path)
    return g[len("node.") :] if g.startswith("node.zone") else g


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
        self.not_captured = NOT_CAPTURED.get((version, arch), {})
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
    ignore = ignore | frozenset(IGNORED_BY_VERSION.get(version, {}))
    w = _Walker(version, captured.kernel.arch, captured.stop, ignore, names)
    w.value("", model, captured)
    return w


def diff(
    model: Snapshot, captured: Snapshot, *, ignore: frozenset[str] = DEFAULT_IGNORE
) -> list[Difference]:
    """Every value where ``model`` and ``captured`` disagree, or that only one side has."""
    return _walk(model, captured, ignore).out


_TIMESTAMP = re.compile(r"^\[ *\d+\.\d+\] ")
MEMORY_LINE = re.compile(r"^(Memory: \d+K/\d+K available).*")
LOG_NOTE = (
    "the Memory: line is judged up to 'available' (the image's section sizes that follow are "
    "not predicted)"
)


_SPLICE = re.compile(r"\[ *\d+\.\d+\] ")


def unsplice(dmesg: str) -> list[str]:
    """The guest's dmesg as lines, with the console's splices undone: ``dmesg`` runs over the
    serial console, where a message the kernel prints meanwhile (e.g. ``serial8250: too much
    work for irq4``) can land inside a line, even inside its timestamp (``[[    2.2] serial…``).
    Such a line holds a second timestamp: the text before it is the start of a line whose rest
    is the next line (together they make a timestamped line), and the intruding message is
    dropped."""
    lines = dmesg.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _SPLICE.search(line, 1)
        if (
            m
            and i + 1 < len(lines)
            and not _TIMESTAMP.match(lines[i + 1])
            and _TIMESTAMP.match(line[: m.start()] + lines[i + 1])
        ):
            out.append(line[: m.start()] + lines[i + 1])
            i += 2
            continue
        out.append(line)
        i += 1
    return out


def kernel_log_lines(dmesg: str, pattern: re.Pattern[str] = LOG_LINES_4_7) -> list[str]:
    """The memory-init lines of a guest's dmesg that ``pattern`` (the model's) selects, without
    timestamps, in the order printed."""
    out = []
    for raw in unsplice(dmesg):
        line = _TIMESTAMP.sub("", raw)
        if pattern.match(line):
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


# Stop 1's snapshot (inspector.registry Role.INPUTS) is the model's input, not a prediction. At
# the hand-off stop memblock and the early allocations' globals are compared; its ``inputs``
# carry the ACPI-parsed later-stop inputs (LATER_INPUTS).

# The kernel's own trace of memblock (``memblock=debug``): every reserve and free with its range.
# 4.7 names the frees memblock_free/__memblock_free_early, 6.12 memblock_phys_free.
_TRACE = re.compile(
    r"^\s*(memblock_reserve|memblock_free|memblock_phys_free|__memblock_free_early): "
    r"\[(0x[0-9a-f]+)-(0x[0-9a-f]+)\]"
)
_TRACE_START = re.compile(r"^On node \d+ totalpages:")
_TRACE_END = re.compile(r"^Memory: ")


def trace_note(start: re.Pattern[str], end: re.Pattern[str]) -> str:
    def name(p: re.Pattern[str]) -> str:
        return p.pattern.lstrip("^").replace("\\d+", "N").replace("\\", "").strip()

    return (
        f"memblock=debug: the kernel's reserve/free trace from the first '{name(start)}' to "
        f"'{name(end)}' is held against the model's allocations, range by range"
    )


TRACE_NOTE = trace_note(_TRACE_START, _TRACE_END)


def kernel_memblock_trace(
    dmesg: str, start: re.Pattern[str] = _TRACE_START, end: re.Pattern[str] = _TRACE_END
) -> list[str] | None:
    """The reserve and free ranges the kernel logged between stop 1 and the hand-off (from the
    first line ``start`` matches to the first ``end`` matches after it), or None when the guest
    did not boot with ``memblock=debug``."""
    out: list[str] = []
    started = False
    seen = False
    for raw in unsplice(dmesg):
        line = _TIMESTAMP.sub("", raw)
        if start.match(line):
            started = True
        if started and end.match(line):
            break
        m = _TRACE.match(line)
        if m:
            seen = True
            if started:
                op = "reserve" if m.group(1) == "memblock_reserve" else "free"
                first, last = int(m.group(2), 16), int(m.group(3), 16)
                out.append(f"{op} [{first:#x}-{last + 1:#x})")
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
    predicted: dict[str, Snapshot] = field(default_factory=dict)  # the model's snapshots
    predicted_log: list[str] = field(default_factory=list)  # the model's boot-log lines
    handoff_frames: list[Any] = field(default_factory=list)  # spec.HandoffFrame per range
    # stop -> path -> (model, captured): every value compared, as compare names it
    leaves: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)
    # stop -> path -> the model's provenance chain (inspector.model.provenance)
    chains: dict[str, dict[str, Any]] = field(default_factory=dict)

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
    from inspector.model.inputs import LATER_INPUTS, model_inputs

    require_complete(run_dir)
    captured = load_run(run_dir)
    if not captured:
        raise InspectorError(f"{run_dir} holds no snapshots (NN-<stop>.json): not an inspect run")
    version = next(iter(captured.values())).kernel.version
    spec = model_for(version)
    first = stop_name(version, Role.INPUTS)
    inputs = model_inputs(
        run_dir,
        captured,
        first,
        stop_name(version, Role.HANDOFF),
        stop_name(version, Role.ZONELISTS),
    )
    rep = spec.replay(inputs)
    predicted = rep.snapshots
    diffs: dict[str, list[Difference]] = {}
    counts: Counter[str] = Counter()
    per_stop: Counter[str] = Counter()
    leaves: dict[str, dict[str, tuple[Any, Any]]] = {}
    for stop in list(predicted) + [s for s in captured if s not in predicted]:
        if stop == first:  # the model's input, not a prediction
            continue
        if stop in spec.not_modelled:  # declared, and printed by the report
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
        leaves[stop] = w.leaves
        counts.update(w.counts)
        per_stop[stop] = sum(w.counts.values())
    dmesg = run_dir / "dmesg.txt"
    if dmesg.exists():
        printed = kernel_log_lines(dmesg.read_text(errors="replace"), spec.log_lines)
        log_diffs, n = judge_log(rep.log, printed)
    else:
        log_diffs = [Difference("log", "present", "missing (no dmesg.txt)", "printk()", "dmesg")]
        n = 1
    diffs["dmesg"] = log_diffs
    counts["log lines"] += n
    per_stop["dmesg"] = n
    notes = [LOG_NOTE]
    trace = (
        kernel_memblock_trace(dmesg.read_text(errors="replace"), spec.trace_start, spec.trace_end)
        if dmesg.exists()
        else None
    )
    if trace is not None and stop_name(version, Role.HANDOFF) in spec.not_modelled:
        notes.append(
            "memblock=debug: the trace is not judged, the early allocations of this "
            "version are not modelled yet"
        )
    elif trace is not None:
        tdiffs, n = judge_log(model_memblock_trace(rep.memblock_calls), trace)
        for d in tdiffs:
            d.path = d.path.replace("log[", "memblock_trace[")
            d.function = "memblock_reserve() / memblock_free()"
            d.stop = "memblock=debug"
        diffs["memblock=debug"] = tdiffs
        counts["memblock trace"] += n
        per_stop["memblock=debug"] = n
        notes.append(trace_note(spec.trace_start, spec.trace_end))
    later = {
        name: sum(per_stop[stop_name(version, role)] for role in LATER_INPUTS[name][1])
        for name in inputs.later()
    }
    for stop, ds in diffs.items():  # name the functions each value's chain passes through
        for d in ds:
            d.via = via(rep.provenance.get(stop, {}), d.path)
    return Comparison(
        run_dir=run_dir,
        diffs=diffs,
        counts=counts,
        per_stop=per_stop,
        provenance=inputs.provenance_text(),
        later=later,
        not_captured={
            **NOT_CAPTURED.get((version, inputs.arch), {}),
            **{f"stop {k}": why for k, why in spec.not_modelled.items()},
        },
        ignored={**IGNORED_WHY, **IGNORED_BY_VERSION.get(version, {})},
        notes=notes,
        predicted=predicted,
        predicted_log=rep.log,
        handoff_frames=rep.handoff_frames,
        leaves=leaves,
        chains=rep.provenance,
    )


def via(chains: dict[str, Any], path: str, most: int = 4) -> str:
    """The distinct kernel functions of ``path``'s chain, nearest first (its own excluded)."""
    from inspector.model.provenance import walk

    names: list[str] = []
    for c in walk(chains, path):
        name = c.function.split(" (")[0]
        if name not in names:
            names.append(name)
    return " <- ".join(names[1 : most + 1])


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
