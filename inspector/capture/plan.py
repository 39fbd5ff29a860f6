"""The stop plan per kernel version, and the few facts about a build that DWARF does not carry.

Stops, in the order the kernel reaches them (4.7 name; 6.12 in brackets):

1. ``free_area_init_nodes`` [``free_area_init``] entry: the inputs (schema.Inputs).
2. ``free_area_init_core`` entry, once per online node (inlined on both versions; gdb breaks at
   the inlined site; the node is the k-th online node on the k-th hit).
3. ``memmap_init_zone`` [``memmap_init_range``]: arguments at entry, the zone and its pageblock
   migratetypes at return (``finish``), once per populated zone (6.12: per zone range).
4. ``build_all_zonelists`` return: every node's zones (sizes final) and zonelists.
5. ``free_all_bootmem`` [``memblock_free_all``]: memblock at entry; free areas at return.
6. ``init_per_zone_wmark_min`` return: watermarks, lowmem_reserve, per-cpu pagesets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from inspector.errors import InspectorError


@dataclass(frozen=True)
class StopSpec:
    """One stop: where to break, and which capture handlers run at entry and after return."""

    name: str  # the snapshot's ``stop`` (the kernel function's name)
    function: str  # breakpoint location
    entry: str | None  # handler run at the breakpoint (see capture.run.Capture)
    on_return: str | None = None  # handler run after ``finish``; None: no finish
    repeat: bool = False  # hit once per node/zone; else deleted after its first hit
    inlined: bool = False  # no out-of-line copy: gdb's linespec finds the inlined site(s)


@dataclass(frozen=True)
class Plan:
    version: str
    stops: tuple[StopSpec, ...]
    # The node_states[] mask free_area_init(_nodes) walks, calling free_area_init_node on each:
    # 4.7 for_each_online_node; 6.12 for_each_node (possible nodes: offline memoryless nodes get
    # their pgdat from alloc_offline_node_data()).
    init_nodes: str = "N_ONLINE"


PLAN_4_7 = Plan(
    "4.7",
    (
        StopSpec("free_area_init_nodes", "free_area_init_nodes", "inputs"),
        StopSpec(
            "free_area_init_core", "free_area_init_core", "node_entry", repeat=True, inlined=True
        ),
        StopSpec("memmap_init_zone", "memmap_init_zone", "memmap_args", "memmap_done", repeat=True),
        StopSpec("build_all_zonelists", "build_all_zonelists", None, "zonelists"),
        StopSpec("free_all_bootmem", "free_all_bootmem", "memblock", "buddy"),
        StopSpec("init_per_zone_wmark_min", "init_per_zone_wmark_min", None, "watermarks"),
    ),
    init_nodes="N_ONLINE",
)

PLAN_6_12 = Plan(
    "6.12",
    (
        StopSpec("free_area_init", "free_area_init", "inputs"),
        StopSpec(
            "free_area_init_core", "free_area_init_core", "node_entry", repeat=True, inlined=True
        ),
        StopSpec(
            "memmap_init_range", "memmap_init_range", "memmap_args", "memmap_done", repeat=True
        ),
        StopSpec("build_all_zonelists", "build_all_zonelists", None, "zonelists"),
        StopSpec("memblock_free_all", "memblock_free_all", "memblock", "buddy"),
        StopSpec("init_per_zone_wmark_min", "init_per_zone_wmark_min", None, "watermarks"),
    ),
    init_nodes="N_POSSIBLE",
)

# Integer arguments at a function's first instruction (SysV AMD64 and AAPCS64): breaking at
# the entry address and reading these avoids gdb expanding the CU's full symbol table, which
# costs seconds on a 6.12 vmlinux.
ARG_REGISTERS = {
    "x86_64": ("rdi", "rsi", "rdx", "rcx", "r8", "r9"),
    "arm64": ("x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7"),
}

PLANS = {p.version: p for p in (PLAN_4_7, PLAN_6_12)}


def plan_for(version: str) -> Plan:
    if version not in PLANS:
        raise InspectorError(f"no stop plan for Linux {version}: choose one of {', '.join(PLANS)}")
    return PLANS[version]


# SECTION_SIZE_BITS is a macro, absent from DWARF: arch/x86/include/asm/sparsemem.h (27 on
# x86_64, both versions); arch/arm64/include/asm/sparsemem.h (30 in 4.7; 27 with 4K pages since
# commit f0b13ee23241 "arm64/sparsemem: reduce SECTION_SIZE_BITS", 5.12).
_SECTION_SIZE_BITS = {
    ("4.7", "x86_64"): 27,
    ("6.12", "x86_64"): 27,
    ("4.7", "arm64"): 30,
    ("6.12", "arm64"): 27,
}


@dataclass(frozen=True)
class KernelFacts:
    """What readers need beyond DWARF, from the version, the arch and the build's .config."""

    version: str
    arch: str
    page_size: int
    section_size_bits: int
    pageblock_order: int
    nr_pageblock_bits: int
    # 4.7 numbers pageblock bits from the top of each word (``word >> (BITS_PER_LONG - bitidx
    # - 1)``); 6.12 from the bottom (``word >> bitidx``).
    pageblock_bits_msb_first: bool

    @property
    def page_shift(self) -> int:
        return self.page_size.bit_length() - 1

    @property
    def pfn_section_shift(self) -> int:
        return self.section_size_bits - self.page_shift

    @property
    def usemap_bytes(self) -> int:
        """usemap_size(): BITS_TO_LONGS(SECTION_BLOCKFLAGS_BITS) * sizeof(unsigned long)."""
        bits = (1 << (self.pfn_section_shift - self.pageblock_order)) * self.nr_pageblock_bits
        return -(-bits // 64) * 8


def read_config(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.startswith("CONFIG_") and "=" in line:
            k, _, v = line.partition("=")
            out[k] = v.strip('"')
    return out


def kernel_facts(
    version: str, arch: str, config: Path, nr_orders: int, nr_pageblock_bits: int
) -> KernelFacts:
    """``nr_orders`` is len(zone->free_area) (MAX_ORDER in 4.7, NR_PAGE_ORDERS in 6.12)."""
    cfg = read_config(config)
    if "CONFIG_SPARSEMEM" not in cfg:
        raise InspectorError(f"{config}: captures need CONFIG_SPARSEMEM (pageblock flags)")
    page_size = 4096
    if arch == "arm64":
        for size, opt in ((16384, "CONFIG_ARM64_16K_PAGES"), (65536, "CONFIG_ARM64_64K_PAGES")):
            if opt in cfg:
                page_size = size
    if page_size != 4096:
        raise InspectorError(f"{config}: only 4 KiB pages are supported")
    # include/linux/pageblock-flags.h: HUGETLB_PAGE_ORDER (2 MiB pages: 9) with hugetlb pages,
    # else the largest buddy order (4.7: MAX_ORDER - 1; 6.12: MAX_PAGE_ORDER).
    pageblock_order = min(9, nr_orders - 1) if "CONFIG_HUGETLB_PAGE" in cfg else nr_orders - 1
    return KernelFacts(
        version=version,
        arch=arch,
        page_size=page_size,
        section_size_bits=_SECTION_SIZE_BITS[(version, arch)],
        pageblock_order=pageblock_order,
        nr_pageblock_bits=nr_pageblock_bits,
        pageblock_bits_msb_first=version == "4.7",
    )
