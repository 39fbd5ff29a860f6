"""A real machine's memory-init lines against the model's: inputs from the log's firmware lines
(inspector.bootlog.firmware), the sizing stage (inspector.model.sizing) run at the log's
release (its change records decide the release branches), and every line of the classes below
judged, in the order printed; the rest of mm init's lines are listed as not judged, with why.

The model is 4.7's, taken forward by the changes inspector.kernel_changes records: a line of a
later release that differs is reported with the change records that touch it, so a difference
is either the model's error or a change the record does not place yet.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from inspector.bootlog.firmware import PAGE_SHIFT, Declared, MemoryMap, memory_map
from inspector.bootlog.holes import UNAVAILABLE, place_unavailable
from inspector.bootlog.read import BootLog
from inspector.errors import InspectorError
from inspector.kernel_changes import BY_ID, landed
from inspector.model.hash_tables import HashInputs, HashTables, hash_tables
from inspector.model.inputs import SizingInputs, Source
from inspector.model.sizing import Sizing, size
from inspector.schema import Memblock, MemblockRegion

_HASH = re.compile(r"^(PID|Dentry cache|Inode-cache|Mount-cache|Mountpoint-cache) hash table")
# The line classes the sizing stage predicts, each with its pattern (on the stripped text).
JUDGED: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "zone ranges",
        re.compile(r"^Zone ranges:|^  (DMA|DMA32|Normal|Movable|Device) +(\[mem|empty)"),
    ),
    ("movable zone start", re.compile(r"^Movable zone start for each node|^  Node \d+: 0x")),
    ("node ranges", re.compile(r"^Early memory node ranges|^  node +\d+: \[mem")),
    ("initmem setup", re.compile(r"^Initmem setup node \d+ (\[mem|as memoryless)")),
    ("node totalpages", re.compile(r"^On node \d+ totalpages:")),
    ("zone memmap", re.compile(r"^  \w+ zone: \d+ pages (used for memmap|exceeds freesize)")),
    ("zone LIFO batch", re.compile(r"^  \w+ zone: \d+ pages, LIFO batch:")),
    ("zonelists", re.compile(r"^Built \d+ zonelists")),
    ("policy zone", re.compile(r"^Policy zone:")),
    ("fallback order", re.compile(r"^Fallback order for Node")),
    ("memory total", re.compile(r"^Memory: /\d+K$")),
    ("hash tables", _HASH),
    ("unavailable ranges", UNAVAILABLE),
)
_NUMA_LINE = re.compile(
    r"^(?:NUMA: |ACPI: SRAT: |SRAT: |No NUMA configuration found|ACPI: NUMA: |Faking a node)"
)
# lines every boot prints well after vfs_caches_init(): a log without any is cut short
_BOOT_GOES_ON = re.compile(
    r"^(smp: Brought up|Brought up \d+ CPUs|devtmpfs: initialized|NET: Registered|"
    r"Freeing unused kernel|clocksource: Switched to|Switched to clocksource|Run /init|"
    r"Freeing SMP alternatives|smpboot: Total of|x86/mm: Checked W\+X|PCI: Using configuration)"
)
_MEMORY = re.compile(r"^Memory: \d+[kK]/(\d+)[kK] available")  # 3.10 x86: k
# Lines of mm init the log shows that are not judged yet, and why.
NOT_JUDGED: tuple[tuple[str, re.Pattern[str], str], ...] = (
    (
        "zone reserved",
        re.compile(r"^  \w+ zone: \d+ pages reserved"),
        "dma_reserve, an input taken from this line (memblock_find_dma_reserve() runs in "
        "setup_arch(), before the sizing)",
    ),
    (
        "reserved but unavailable",
        re.compile(r"^Reserved but unavailable: \d+ pages"),
        "4.19's zero_resv_unavail() counts holes reserved in memblock: needs memblock.reserved, "
        "which the log does not show",
    ),
    (
        "memory available",
        re.compile(r"^Memory: \d+K/\d+K available"),
        "its available part (before the /) needs the hand-off: only its total is judged",
    ),
)
X86_ZONES = ["DMA", "DMA32", "Normal", "Movable"]
MAX_DMA_PFN = 16 << (20 - PAGE_SHIFT)  # arch/x86/include/asm/dma.h
MAX_DMA32_PFN = 1 << (32 - PAGE_SHIFT)
_ZONE_LINE = re.compile(r"^  (\w+) +(?:\[mem (0x[0-9a-f]+)-(0x[0-9a-f]+)\]|empty)")
_RESERVED = re.compile(r"^  DMA zone: (\d+) pages reserved")


@dataclass
class LineResult:
    cls: str
    printed: str | None  # None: predicted, not printed
    predicted: str | None  # None: printed, not predicted
    line: int = 0  # the log's line number (0: not printed)
    changes: list[str] = field(default_factory=list)  # change records that touch this line

    @property
    def equal(self) -> bool:
        return self.printed == self.predicted


@dataclass
class Judgement:
    log: BootLog
    inputs: list[Declared]
    results: list[LineResult]
    not_judged: dict[str, tuple[int, str]]  # class -> (lines seen, why)
    model: str  # "4.7 at release R with changes …"
    sizing: Sizing

    def counts(self) -> dict[str, tuple[int, int]]:
        """class -> (judged, equal)."""
        out: dict[str, tuple[int, int]] = {}
        for r in self.results:
            j, e = out.get(r.cls, (0, 0))
            out[r.cls] = (j + 1, e + int(r.equal))
        return out

    @property
    def differences(self) -> list[LineResult]:
        return [r for r in self.results if not r.equal]


def _memory_total(text: str) -> str:
    """The Memory: line's judged part, its total: ``Memory: /BK``."""
    m = _MEMORY.match(text)
    return f"Memory: /{m.group(1)}K" if m else text


def _class_of(text: str) -> str | None:
    for name, pattern in JUDGED:
        if pattern.search(text):
            return name
    return None


def sizing_inputs(
    log: BootLog, mm: MemoryMap, changes: frozenset[str] = frozenset()
) -> tuple[SizingInputs, list[Declared]]:
    """The sizing stage's inputs from the log, each declared (the firmware's, or an output line
    taken as an input and then not judged, or the distribution's configuration assumed)."""
    declared = list(mm.declared)
    # online nodes: those with memory, and on arm64 every node numa_init() parsed (4.7's
    # numa_register_nodes() onlines memoryless ones too; see BootState.online_nodes); x86
    # onlines a memoryless node with CPUs from change x86-memoryless-nodes-online on
    nids = sorted({n for _, _, n in mm.memory} | set(mm.memoryless))
    late: list[int] = []
    if log.arch == "x86_64" and "x86-memoryless-nodes-online" in changes:
        late = sorted(set(mm.cpu_nodes) - set(nids))
    if log.arch == "x86_64":
        names = list(X86_ZONES)
        # zone_sizes_init() (arch/x86/mm/init.c): DMA below 16 MiB, DMA32 below 4 GiB, Normal
        # to max_low_pfn, which init_mem_mapping() made max_pfn on x86_64
        max_low_pfn = mm.max_pfn
        max_zone_pfn = [
            min(MAX_DMA_PFN, max_low_pfn),
            # clamped to max_low_pfn since change "x86-dma32-limit-clamped"
            min(MAX_DMA32_PFN, max_low_pfn)
            if "x86-dma32-limit-clamped" in changes
            else MAX_DMA32_PFN,
            max_low_pfn,
            0,
        ]
    else:
        ranges = [
            (ln, m) for ln, m in log.find(_ZONE_LINE) if m.group(1) not in ("Movable", "Device")
        ]
        names = [m.group(1) for _, m in ranges] + ["Movable"]
        max_zone_pfn = [
            ((int(m.group(3), 16) + 1) >> PAGE_SHIFT) if m.group(3) else 0 for _, m in ranges
        ] + [0]
        max_low_pfn = mm.max_pfn
        d = Declared("zone limits (Zone ranges)", tuple(ln.number for ln, _ in ranges), True)
        declared.append(d)
    reserved = log.first(_RESERVED)
    dma_reserve = int(reserved[1].group(1)) if reserved else 0
    if reserved:
        declared.append(
            Declared("dma_reserve (DMA zone: N pages reserved)", (reserved[0].number,), True)
        )
    declared.append(
        Declared(
            "configuration assumed: 4 KiB pages, 64-byte struct page, MAX_ORDER 11, "
            "pageblock_order 9 (HUGETLB), NUMA, NODES_SHIFT 10; SLIT distances 10/20",
            (),
        )
    )
    inputs = SizingInputs(
        version="4.7",
        arch=log.arch,
        release=log.release,
        max_zone_pfn=max_zone_pfn,
        zone_names=names,
        memblock=Memblock(
            memory=[MemblockRegion(s, e - s, n) for s, e, n in mm.memory], reserved=[]
        ),
        node_distance=[[10 if a == b else 20 for b in nids] for a in nids],
        cpu_to_node=[],
        cmdline=mm.cmdline,
        online_nodes=nids,
        possible_nodes=nids,
        max_order=11,
        sizeof_struct_page=64,
        page_size=1 << PAGE_SHIFT,
        max_low_pfn=max_low_pfn,
        dma_reserve=dma_reserve,
        pageblock_order=9,
        section_size_bits=27,
        nodes_shift=10,
        config_numa=True,
        nr_possible_cpus=1,
        cpu_to_node_at_zonelists=[],
        sources=_sources(declared, log.arch),
        late_memoryless_nodes=late,
        numa_meminfo=mm.numa_meminfo,
    )
    return inputs, declared


def _sources(declared: list[Declared], arch: str) -> dict[str, Source]:
    """Each input field's source, for the chains (``--explain``) and the report."""
    by = {d.what.split(" (")[0]: d.text() for d in declared}
    assumed = next((d.text() for d in declared if d.what.startswith("configuration")), "")
    memory = by.get("e820 map and its edits") or by.get("memblock.memory", "")
    if srat := by.get("SRAT memory affinities"):
        memory += f"; {srat}"
    out = {"memblock": Source("log", memory)}
    out["max_zone_pfn"] = Source(
        "log",
        f"zone_sizes_init() limits over max_pfn from {memory}"
        if arch == "x86_64"
        else by.get("zone limits", ""),
    )
    if "dma_reserve" in by:
        out["dma_reserve"] = Source("log", by["dma_reserve"])
    if "command line" in by:
        out["cmdline"] = Source("log", by["command line"])
    for name in ("page_size", "sizeof_struct_page", "max_order", "pageblock_order"):
        out[name] = Source("assumed", assumed)
    return out


def _predicted(log: BootLog, sizing: Sizing) -> list[str]:
    lines = list(sizing.log)
    # ZONE_DEVICE (a build option) prints "  Device   empty" after Normal; the log says whether
    # the kernel has it: an input from an output line
    if any(ln.text.startswith("  Device ") for ln in log.lines):
        at = max((i for i, t in enumerate(lines) if _ZONE_LINE.match(t)), default=0)
        lines.insert(at + 1, "  Device   empty")
    return [t for t in lines if _class_of(t)]


def judge(
    log: BootLog, *, with_: frozenset[str] = frozenset(), without: frozenset[str] = frozenset()
) -> Judgement:
    """``with_``/``without``: changes the user declares the kernel has or lacks against its
    release (a distribution's backport): the report names each declaration."""
    unknown = (with_ | without) - set(BY_ID)
    if unknown:
        raise InspectorError(
            f"no kernel change {', '.join(sorted(unknown))}: `mm-inspector dmesg --changes` "
            "lists them"
        )
    mm = memory_map(log)
    changes = (landed(log.version) | with_) - without
    inputs, declared = sizing_inputs(log, mm, changes)
    if log.boots > 1:
        first = log.lines[0].number
        declared.append(
            Declared(f"the last of the {log.boots} boots in the log (its lines from {first})", ())
        )
    for cid in sorted(with_):
        declared.append(Declared(f"declared: the kernel has {cid} (--with)", ()))
    for cid in sorted(without):
        declared.append(Declared(f"declared: the kernel lacks {cid} (--without)", ()))
    sizing = size(inputs, changes=changes)
    predicted = _predicted(log, sizing)
    input_lines = {n for d in declared if d.from_output for n in d.lines}
    # mem_init_print_info(): the total after the / is get_num_physpages(), every online
    # node's present pages (the part before it needs the hand-off)
    present = sum(p.node_present_pages for p in sizing.pgdats.values())
    if log.arch == "x86_64" and "mem-init-print-info" not in changes:
        present = mm.max_pfn  # x86_64's own mem_init() line: max_pfn pages (3.10)
    if log.arch == "x86_64":
        predicted = place_unavailable(predicted, mm, sizing, changes, _class_of)
    numa = log.first(_NUMA_LINE)
    hashes, hash_why = _hash_tables(log, mm, sizing, changes, config_numa=bool(numa))
    at = _after_zonelists(predicted, changes)
    predicted[at:at] = hashes.early
    predicted.append(f"Memory: /{present << (PAGE_SHIFT - 10)}K")
    predicted += hashes.late
    texts = {ln.number: _memory_total(ln.text) for ln in log.lines}
    not_judged_early: dict[str, tuple[int, str]] = {}
    printed = [
        (ln.number, texts[ln.number])
        for ln in log.lines
        if (c := _class_of(texts[ln.number]))
        and ln.number not in input_lines
        and not (c == "node ranges" and log.arch != "x86_64")
    ]
    if log.arch != "x86_64":
        predicted = [t for t in predicted if _class_of(t) != "node ranges"]
    # zone limits taken from the log (arm64) are not judged
    if log.arch != "x86_64":
        predicted = [t for t in predicted if _class_of(t) != "zone ranges"]
        printed = [(n, t) for n, t in printed if _class_of(t) != "zone ranges"]
        # arm64's pfn_valid() follows memblock's map (memblock_is_map_memory() until 5.14's
        # generic one), not whole sections: its hole counts are not predicted yet
        holes = [(n, t) for n, t in printed if _class_of(t) == "unavailable ranges"]
        if holes:
            printed = [x for x in printed if x not in holes]
            not_judged_early["unavailable ranges"] = (
                len(holes),
                "arm64's pfn_valid() follows memblock's map, not whole sections: not modelled "
                "from a log yet",
            )
    if numa:
        declared.append(Declared("CONFIG_NUMA=y (a NUMA set-up line)", (numa[0].number,)))
    else:
        # build_all_zonelists() prints "Policy zone:" under #ifdef CONFIG_NUMA only
        declared.append(Declared("CONFIG_NUMA=n (no NUMA set-up line in the log)", ()))
        # and !CONFIG_NUMA's build_zonelists() prints no fallback order
        predicted = [t for t in predicted if _class_of(t) not in ("policy zone", "fallback order")]
    not_judged: dict[str, tuple[int, str]] = dict(not_judged_early)
    if len(sizing.state.memory_nodes()) > 2:
        # past two nodes the order follows the SLIT's distances, which a log does not print
        # (10/20 are assumed): not judged
        printed = [(n, t) for n, t in printed if _class_of(t) != "fallback order"]
        predicted = [t for t in predicted if _class_of(t) != "fallback order"]
        seen = sum(1 for ln in log.lines if _class_of(ln.text) == "fallback order")
        if seen:
            not_judged["fallback order"] = (
                seen,
                "past two nodes with memory it follows the SLIT distances, which the log does "
                "not print",
            )
    if (
        log.arch == "x86_64"
        and not log.first(_RESERVED)
        and "init-lines-pr-debug" in changes
        and "managed-equals-present" not in changes
    ):
        # every zone's managed pages, so Total pages, need dma_reserve, which only the DMA
        # zone's "pages reserved" line shows, pr_debug from 5.14, until 6.10 drops it (change
        # "managed-equals-present"): a missing input
        printed = [(n, t) for n, t in printed if _class_of(t) != "zonelists"]
        predicted = [t for t in predicted if _class_of(t) != "zonelists"]
        seen = sum(1 for ln in log.lines if _class_of(ln.text) == "zonelists")
        not_judged["zonelists"] = (
            seen,
            "needs dma_reserve (x86's memblock_find_dma_reserve()), which the log shows only "
            "in the DMA zone's 'pages reserved' line, pr_debug from 5.14",
        )
    if hash_why:
        # tables the log's inputs do not decide: not judged
        names = {t.split(" hash table")[0] for t in hash_why[0]}
        printed = [(n, t) for n, t in printed if not _hash_of(t, names)]
        predicted = [t for t in predicted if not _hash_of(t, names)]
        seen = sum(1 for ln in log.lines if _hash_of(ln.text, names))
        if seen:
            not_judged["hash tables"] = (seen, hash_why[1])
    if not log.first(_BOOT_GOES_ON):
        # the log ends early in the boot (saved cut, or the start of a longer one): the late
        # tables it does not show, and a last line cut short, are not judged
        last = log.lines[-1].number if log.lines else 0
        shown = {t for _, t in printed}
        cut = [
            (n, t)
            for n, t in printed
            if n == last and any(q != t and q.startswith(t) for q in hashes.late)
        ]
        missing = [t for t in hashes.late if t not in shown]
        if cut or missing:
            printed = [x for x in printed if x not in cut]
            predicted = [t for t in predicted if t not in missing]
            not_judged["hash tables after the log's end"] = (
                len(missing),
                "the log ends before mnt_init() (no line of the later boot: "
                "'smp: Brought up', 'devtmpfs', 'NET: Registered', 'Freeing unused kernel'…)",
            )
    results = _align(printed, predicted, changes)
    for name, pattern, why in NOT_JUDGED:
        n = sum(1 for ln in log.lines if pattern.search(ln.text))
        if n:
            not_judged[name] = (n, why)
    # the release decides every branch: the sizing stage has exactly the changes the release
    # has (and the user's declarations), none taken from a nearest model
    used = sorted(changes & _USED)
    level = ".".join(map(str, log.version))
    stable = "" if log.release.startswith(level) else f", stable level {level}"
    model = f"the model at Linux {log.release}{stable} (sizing stage" + (
        f"; its branches with {', '.join(used)})"
        if used
        else "; without any change it branches on)"
    )
    return Judgement(log, declared, results, not_judged, model, sizing)


def _hash_of(text: str, names: set[str]) -> bool:
    m = _HASH.match(text)
    return m is not None and m.group(1) in names


def _after_zonelists(predicted: list[str], changes: frozenset[str]) -> int:
    """Where start_kernel() prints the early hash tables among the predicted lines: right
    after build_all_zonelists()'s lines, or before them from change
    "zonelists-in-mm-core-init" (mm_core_init() builds the zonelists after
    vfs_caches_init_early())."""
    zl = [i for i, t in enumerate(predicted) if _class_of(t) in _ZONELIST_CLASSES]
    if not zl:
        return len(predicted)
    return zl[0] if "zonelists-in-mm-core-init" in changes else zl[-1] + 1


_ZONELIST_CLASSES = ("zonelists", "policy zone", "fallback order")


def _hash_tables(
    log: BootLog, mm: MemoryMap, sizing: Sizing, changes: frozenset[str], *, config_numa: bool
) -> tuple[HashTables, tuple[list[str], str] | None]:
    """The hash tables' lines from the sizing's page counts, and the lines the log's inputs
    leave undecided with why (None: every line decided)."""
    if "calc-nr-kernel-pages" in changes:
        # nr_kernel_pages counted from memblock's free ranges at mem_init(): needs
        # memblock.reserved, which a log does not show
        return HashTables([], []), (
            [f"{n} hash table" for n in ("PID", "Dentry cache", "Inode-cache")]
            + ["Mount-cache hash table", "Mountpoint-cache hash table"],
            "nr_kernel_pages is counted from memblock's free ranges at mem_init() (change "
            "calc-nr-kernel-pages): needs memblock.reserved, which the log does not show",
        )

    def at(nr_kernel_pages: int) -> HashTables:
        return hash_tables(
            HashInputs(
                nr_kernel_pages=nr_kernel_pages,
                nr_all_pages=sizing.nr_all_pages,
                memory_nodes=len(sizing.state.memory_nodes()),
                online_nodes=len(sizing.pgdats),
                config_numa=config_numa,
                cmdline=mm.cmdline,
            ),
            changes,
        )

    hi = at(sizing.nr_kernel_pages)
    if log.arch != "x86_64" or log.first(_RESERVED):
        return hi, None
    # x86's dma_reserve (the DMA zone's reserved pages) is not in the log: every value from
    # 0 to the DMA zone's present pages; a line the same at both ends is decided
    dma = sum(z.present_pages for p in sizing.pgdats.values() for z in p.zones[:1])
    lo = at(max(0, sizing.nr_kernel_pages - dma))
    undecided = [a for a, b in zip(hi.early + hi.late, lo.early + lo.late, strict=True) if a != b]
    if not undecided:
        return hi, None
    return hi, (
        undecided,
        "needs dma_reserve (x86's memblock_find_dma_reserve()), which the log shows only in "
        "the DMA zone's 'pages reserved' line: the table differs across its possible values",
    )


# the change records the sizing stage branches on (named in the judgement's model; the stage
# itself gets every change of the release)
_USED = frozenset(
    {
        "pcp-batch-cap",
        "zonelist-zone-order-removed",
        "init-lines-pr-debug",
        "x86-memoryless-nodes-online",
        "initmem-memoryless-line",
        "managed-equals-present",
        "mem-ranges-018",
        "initmem-line-from-mm",
        "zonelist-default-node-order",
        "x86-dma32-limit-clamped",
        "fallback-order-printed",
        "node-load-accumulated",
        "fallback-skips-memoryless-local",
        "cpus-not-in-node-masks",
        "pid-hash-removed",
        "hash-adaptive-scale",
        "hash-alloc-type-printed",
        "hashdist-single-node",
        "hash-vmalloc-huge",
        "mount-hash-sized",
        "hash-order-get-order",
        "calc-nr-kernel-pages",
        "zonelists-in-mm-core-init",
        "unavailable-zeroed-line",
        "unavailable-tail-to-section",
        "unavailable-per-zone",
        "unavailable-per-node-zone",
        "possible-nodes",
        "free-area-init-reworked",
        "movable-zone-clipped",
        "movable-clips-zone",
        "movable-start-past-node-dropped",
        "mirror-needs-mirror-memory",
        "node-spanned-end-minus-start",
        "offline-node-line-dropped",
    }
)


def _align(
    printed: list[tuple[int, str]], predicted: list[str], changes: frozenset[str]
) -> list[LineResult]:
    """Printed and predicted lines matched in order (as difflib aligns them)."""
    out: list[LineResult] = []
    texts = [t for _, t in printed]
    sm = difflib.SequenceMatcher(a=texts, b=predicted, autojunk=False)
    for op, a0, a1, b0, b1 in sm.get_opcodes():
        if op == "equal":
            for k in range(a1 - a0):
                n, t = printed[a0 + k]
                out.append(LineResult(_class_of(t) or "?", t, t, n))
            continue
        pa, pb = printed[a0:a1], predicted[b0:b1]
        for k in range(max(len(pa), len(pb))):
            p = pa[k] if k < len(pa) else None
            q = pb[k] if k < len(pb) else None
            text = p[1] if p else q or ""
            r = LineResult(_class_of(text) or "?", p[1] if p else None, q, p[0] if p else 0)
            r.changes = _touching(text, changes)
            out.append(r)
    return out


def _touching(text: str, changes: frozenset[str]) -> list[str]:
    """The change records whose log patterns match this line (with whether the release has
    each), for a difference."""
    from fnmatch import fnmatchcase

    from inspector.flatten import log_key

    key = log_key(text) + " #1"  # the row key diff-versions gives the line
    out = []
    for cid, c in BY_ID.items():
        if any(p.startswith("log:") and fnmatchcase(key, p) for p in c.patterns):
            has = "has" if cid in changes else "lacks"
            out.append(f"{cid} ({has} it: {c.line()})")
    return out
