"""The capture schema, which is also the model's output: a diff is a plain comparison.

Names follow the kernel (``zone_start_pfn``, ``spanned_pages``, ``managed_pages``, ``nr_free``).
A field left ``None`` was not captured (or not predicted) at that stop. ``compare`` is strict: a
value that one side has and the other lacks is a difference, unless ``compare.not_captured()``
declares that field not captured for that version and arch (the report prints that list). JSON
carries ``schema`` = SCHEMA_VERSION; a reader refuses other versions with a one-line error.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inspector.errors import InspectorError
from inspector.paths import write_atomic
from inspector.registry import Role

SCHEMA_VERSION = 3

# The mm globals a snapshot carries, by how far mm init has got (4.7 names; a symbol a version
# lacks is left out by the capture and declared in compare.SKIPPED). Capture
# reads them and the model predicts them from the same table. Arrays are keyed ``name[zone]`` /
# ``name[nid]``.
GLOBALS_SIZED = (
    "arch_zone_lowest_possible_pfn[]",
    "arch_zone_highest_possible_pfn[]",
    "zone_movable_pfn[]",
    "movable_zone",
    "required_kernelcore",
    "required_movablecore",
    "dma_reserve",
)
GLOBALS_ZONELISTS = (
    *GLOBALS_SIZED,
    "nr_kernel_pages",
    "nr_all_pages",
    "vm_total_pages",
    "page_group_by_mobility_disabled",
    "current_zonelist_order",
    "policy_zone",
    "nr_online_nodes",
)
# What start_kernel's early allocations leave behind, at free_all_bootmem / memblock_free_all
# entry: the hash tables (pointer and log2 of the entries), the first per-cpu chunk, swiotlb.
GLOBALS_HASHES = (
    "pid_hash",
    "pidhash_shift",
    "dentry_hashtable",
    "d_hash_shift",
    "inode_hashtable",
    "i_hash_shift",
)
GLOBALS_PERCPU_SWIOTLB = ("pcpu_base_addr", "pcpu_unit_size", "io_tlb_start", "io_tlb_end")
GLOBALS_HANDOFF = (*GLOBALS_HASHES, *GLOBALS_PERCPU_SWIOTLB)
GLOBALS_BUDDY = (*GLOBALS_ZONELISTS, "totalram_pages")
GLOBALS_WMARKS = (*GLOBALS_BUDDY, "min_free_kbytes", "totalreserve_pages")
# page_alloc_init_late return: what the deferred pages change (the zones' managed pages and
# their part of the free lists) is per zone; the globals of the hand-off hold
GLOBALS_DEFERRED = ("totalram_pages",)
# The globals a model predicts at each role's stop (the capture reads the same table).
GLOBALS_AT: dict[Role, tuple[str, ...]] = {
    Role.NODE: GLOBALS_SIZED,
    Role.MEMMAP: GLOBALS_SIZED,
    Role.ZONELISTS: GLOBALS_ZONELISTS,
    Role.HANDOFF: GLOBALS_HANDOFF,
    Role.BUDDY: GLOBALS_BUDDY,
    Role.DEFERRED: GLOBALS_DEFERRED,
    Role.WMARKS: GLOBALS_WMARKS,
}

# enum migratetype, in order, for both 4.7 and 6.12 with CONFIG_CMA=n, MEMORY_ISOLATION=n
MIGRATETYPES = ("Unmovable", "Movable", "Reclaimable", "HighAtomic")


@dataclass
class MemblockRegion:
    base: int
    size: int
    nid: int
    flags: int = 0


@dataclass
class Memblock:
    memory: list[MemblockRegion] = field(default_factory=list)
    reserved: list[MemblockRegion] = field(default_factory=list)


@dataclass
class FirmwareRange:
    """One e820 entry (x86_64) or DT memory range (arm64): [start, end) and its type."""

    start: int
    end: int
    type: str


@dataclass
class Inputs:
    """Stop 1 (``free_area_init_nodes`` / ``free_area_init`` entry): what the model starts from."""

    max_zone_pfn: list[int]  # indexed like the kernel's enum zone_type
    zone_names: list[str]  # the kernel's zone_names[], same indexing
    memblock: Memblock
    numa_meminfo: list[MemblockRegion] = field(default_factory=list)  # x86: numa_meminfo
    node_distance: list[list[int]] = field(default_factory=list)  # [from][to]
    cpu_to_node: list[int] = field(default_factory=list)
    firmware_map: list[FirmwareRange] = field(default_factory=list)
    cmdline: str = ""
    constants: dict[str, int] = field(default_factory=dict)  # MAX_ORDER, pageblock_order, …
    # node_states[N_ONLINE] at entry: arm64 onlines memoryless nodes that nothing else here names
    online_nodes: list[int] | None = None
    # node_states[N_POSSIBLE] at entry: the nodes 6.12's free_area_init() sets up (for_each_node)
    possible_nodes: list[int] | None = None


@dataclass
class FreeArea:
    order: int
    nr_free: int
    free_list: list[int] | None = None  # list length per migratetype (MIGRATETYPES order)
    # the pfn of each free block, per migratetype, in list order (head first): at the hand-off
    blocks: list[list[int]] | None = None


@dataclass
class PerCpuPages:
    cpu: int
    count: int
    high: int
    batch: int


@dataclass
class Zone:
    node: int
    idx: int  # enum zone_type
    name: str
    zone_start_pfn: int
    spanned_pages: int
    present_pages: int
    managed_pages: int | None = None
    memmap_pages: int | None = None  # calc_memmap_size() (4.7 boot log: "pages used for memmap")
    pageblock_flags_bytes: int | None = None  # usemap_size()
    watermark: list[int] | None = None  # [WMARK_MIN, WMARK_LOW, WMARK_HIGH]
    lowmem_reserve: list[int] | None = None
    nr_free_pages: int | None = None  # vm_stat[NR_FREE_PAGES]
    free_area: list[FreeArea] | None = None
    pageset: list[PerCpuPages] | None = None
    # 6.12: zone->pageset_high_min / pageset_high_max (the bounds pcp->high is tuned within)
    pcp_high_min: int | None = None
    pcp_high_max: int | None = None
    pageblock_migratetypes: list[int] | None = None  # one per pageblock from zone_start_pfn
    # page_alloc_init_late return (CONFIG_DEFERRED_STRUCT_PAGE_INIT): per order, the
    # MIGRATE_MOVABLE free blocks at or above the node's first_deferred_pfn, i.e. what
    # deferred_init_memmap() freed into the pageblocks it made MOVABLE; counts, since the
    # per-node kthreads free in no fixed order. (Its other blocks lie in pageblocks whose first
    # pfn is reserved, left UNMOVABLE, which the kernel's own small allocations running
    # meanwhile take first: not compared.)
    deferred_movable_nr_free: list[int] | None = None


@dataclass
class Node:
    node_id: int
    node_start_pfn: int
    node_spanned_pages: int
    node_present_pages: int
    nr_zones: int | None = None
    zones: list[Zone] = field(default_factory=list)
    # CONFIG_DEFERRED_STRUCT_PAGE_INIT: the first pfn whose struct page memmap_init() left to
    # deferred_init_memmap() (ULONG_MAX: none, or done); read from build_all_zonelists on
    first_deferred_pfn: int | None = None


@dataclass
class Zonelist:
    node: int
    kind: str  # "fallback" (ZONELIST_FALLBACK) or "nofallback" (__GFP_THISNODE)
    zones: list[tuple[int, str]]  # (node, zone name), in the order the allocator tries them


@dataclass
class KernelId:
    version: str  # "4.7" / "6.12"
    release: str
    arch: str


@dataclass
class Snapshot:
    stop: str  # the stop's name in the stop plan, e.g. "free_area_init_core"
    kernel: KernelId
    inputs: Inputs | None = None
    nodes: list[Node] = field(default_factory=list)
    zonelists: list[Zonelist] | None = None
    globals: dict[str, int] = field(default_factory=dict)  # totalram_pages, vm_total_pages, …
    memblock: Memblock | None = None  # at free_all_bootmem / memblock_free_all entry
    schema: int = SCHEMA_VERSION

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=1) + "\n"

    def write(self, path: Path) -> None:
        write_atomic(path, self.to_json())

    @classmethod
    def from_json(cls, text: str, where: str = "snapshot") -> Snapshot:
        try:
            data = json.loads(text)
        except ValueError as e:
            raise InspectorError(
                f"{where} is not a whole snapshot (truncated or edited: {e}): capture it again"
            ) from None
        schema = data.get("schema") if isinstance(data, dict) else None
        if isinstance(schema, int) and schema > SCHEMA_VERSION:
            raise InspectorError(
                f"{where} has schema {schema}, newer than this mm-inspector's {SCHEMA_VERSION}: "
                "update mm-inspector to read it"
            )
        if schema != SCHEMA_VERSION:
            raise InspectorError(
                f"{where} has schema {schema}, not {SCHEMA_VERSION}: capture it again with this "
                "mm-inspector"
            )
        try:
            snap: Snapshot = _build(cls, data)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise InspectorError(
                f"{where} does not hold a snapshot ({type(e).__name__}: {e}; hand-edited?): "
                "capture it again"
            ) from None
        return snap

    @classmethod
    def read(cls, path: Path) -> Snapshot:
        return cls.from_json(path.read_text(errors="replace"), str(path))


def _build(tp: Any, data: Any) -> Any:
    """Rebuild a value of type ``tp`` (dataclass, list, tuple, dict, Optional) from JSON data."""
    if data is None:
        return None
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        kwargs = {
            f.name: _build(hints[f.name], data[f.name])
            for f in dataclasses.fields(tp)
            if f.name in data
        }
        return tp(**kwargs)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _build(inner[0], data)
    if origin is list:
        if args[0] is int:  # pageblocks, pfns: hundreds of thousands of entries at a terabyte
            return list(data)
        return [_build(args[0], x) for x in data]
    if origin is tuple:
        return tuple(_build(a, x) for a, x in zip(args, data, strict=True))
    if origin is dict:
        return {k: _build(args[1], v) for k, v in data.items()}
    return data
