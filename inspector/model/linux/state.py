"""The state one boot builds up (pgdats and zones, free blocks, pageblocks, mm globals), the
constants of the configuration, and the accessors every step reads it through
(include/linux/mmzone.h, mm/mm_init.c, mm/page_alloc.c), at any release the model covers: one
record whose fields exist for the releases that have them (``first_deferred_pfn`` with
CONFIG_DEFERRED_STRUCT_PAGE_INIT, ``pcp_high`` from change "pcp-high-autotune", ...). The steps
are functions over this record in the modules named after the kernel code they mirror (see the
package docstring).

Configuration modelled (see kernel-configs/ and the built .config): NUMA=y, SPARSEMEM_VMEMMAP,
HAVE_MEMBLOCK_NODE_MAP, no HIGHMEM, no MEMORY_ISOLATION, no MEMORY_HOTPLUG; CMA and
DEFERRED_STRUCT_PAGE_INIT where the build has them (Debian's kernels); pageblock_order read from
the inputs' constants. The arm64 ``CONFIG_NUMA=n`` path (zone_sizes_init() with explicit zone and
hole sizes) is available with ``config_numa=False``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from inspector.arch import get_arch
from inspector.errors import InspectorError
from inspector.kernel_changes import BY_ID, landed
from inspector.model.common import (
    PageGeometry,
    for_each_mem_pfn_range,
    memblock_is_map_memory,
    memblock_search_pfn_nid,
    pfn_phys,
)
from inspector.model.inputs import ModelInputs, SizingInputs
from inspector.model.memblock import MemblockState
from inspector.model.provenance import Provenance
from inspector.model.spec import HandoffFrame
from inspector.registry import Role, stop_name
from inspector.release import Release
from inspector.schema import (
    MIGRATETYPES,
    Memblock,
    Snapshot,
    Zonelist,
)

if TYPE_CHECKING:
    from inspector.model.linux.start_kernel_v4 import EarlyAllocs47

ULONG_MASK = (1 << 64) - 1

MIGRATE_UNMOVABLE = MIGRATETYPES.index("Unmovable")
MIGRATE_MOVABLE = MIGRATETYPES.index("Movable")
MIGRATE_PCPTYPES = 3  # include/linux/mmzone.h: Unmovable, Movable, Reclaimable
MIGRATE_TYPES = len(MIGRATETYPES)

ZONELIST_ORDER_DEFAULT, ZONELIST_ORDER_NODE, ZONELIST_ORDER_ZONE = 0, 1, 2
ZONELIST_ORDER_NAME = ("Default", "Node", "Zone")

INIT_MEMBLOCK_REGIONS = 128  # include/linux/memblock.h
START_KERNEL_MAP = 0xFFFFFFFF80000000  # __START_KERNEL_map (arch/x86/include/asm/page_64_types.h)
NR_CPUS_DEFAULT = 1 << 31  # setup_max_cpus = NR_CPUS unless maxcpus= (init/main.c); any > 1
PENALTY_FOR_NODE_WITH_CPUS = 1  # include/linux/topology.h
WATERMARK_SCALE_FACTOR = 10  # mm/page_alloc.c default
# The snapshots the model predicts, by role (inspector/registry.py names them per stop plan):
# CORE: free_area_init_core() entry, per node (sizes from calculate_node_totalpages()); MEMMAP:
# memmap_init_zone() / memmap_init_range() return (pageblocks); ZONELISTS: build_all_zonelists()
# return; HANDOFF: free_all_bootmem() / memblock_free_all() entry (memblock handed over);
# BOOTMEM: its return (the buddy allocator); DEFERRED: page_alloc_init_late() return (with
# CONFIG_DEFERRED_STRUCT_PAGE_INIT); WMARKS: init_per_zone_wmark_min() return
CORE, MEMMAP, ZONELISTS = Role.NODE, Role.MEMMAP, Role.ZONELISTS
HANDOFF, BOOTMEM, DEFERRED, WMARKS = Role.HANDOFF, Role.BUDDY, Role.DEFERRED, Role.WMARKS
ROLES = (CORE, MEMMAP, ZONELISTS, HANDOFF, BOOTMEM, DEFERRED, WMARKS)

# zone -> (order, migratetype) -> pfns on that free list, head first
FreeLists = dict[tuple[int, int], dict[tuple[int, int], list[int]]]


@dataclass(frozen=True)
class ArchFacts:
    """What differs between the two arches' builds, each item with where the kernel says so."""

    name: str
    arch_pfn_valid: bool  # HAVE_ARCH_PFN_VALID: pfn_valid() = memblock_is_map_memory() (arm64)
    nodes_span_other_nodes: bool  # CONFIG_NODES_SPAN_OTHER_NODES (x86_64 ACPI NUMA)
    # Nodes whose cpumask_of_node() is non-empty when start_kernel() calls build_all_zonelists():
    # x86 adds CPUs in identify_cpu() (check_bugs(), later); arm64's numa_init() maps CPU 0 to node
    # 0.
    nodes_with_cpus_at_zonelists: frozenset[int]


X86_64 = ArchFacts(
    name="x86_64",
    arch_pfn_valid=False,
    nodes_span_other_nodes=True,
    nodes_with_cpus_at_zonelists=frozenset(),
)
ARM64 = ArchFacts(
    name="arm64",
    arch_pfn_valid=True,
    nodes_span_other_nodes=False,
    nodes_with_cpus_at_zonelists=frozenset({0}),
)
ARCHES = {"x86_64": X86_64, "arm64": ARM64}


@dataclass
class ZoneState:
    """The fields of one ``struct zone`` the model tracks."""

    node: int
    idx: int
    name: str
    zone_start_pfn: int = 0
    spanned_pages: int = 0
    present_pages: int = 0
    managed_pages: int = 0
    memmap_pages: int = 0
    watermark: list[int] = field(default_factory=lambda: [0, 0, 0])
    lowmem_reserve: list[int] = field(default_factory=list)
    nr_free_pages: int = 0
    # free_area[order][migratetype] = number of free blocks
    free_area: list[list[int]] = field(default_factory=list)

    @property
    def zone_end_pfn(self) -> int:
        return self.zone_start_pfn + self.spanned_pages

    def populated(self) -> bool:
        """populated_zone() (include/linux/mmzone.h)."""
        return self.present_pages != 0


@dataclass
class PgdatState:
    """The fields of one ``pg_data_t`` the model tracks."""

    node_id: int
    node_start_pfn: int = 0
    node_spanned_pages: int = 0
    node_present_pages: int = 0
    nr_zones: int = 0
    zones: list[ZoneState] = field(default_factory=list)


@dataclass
class FreeBlock:
    order: int
    migratetype: int
    zone: tuple[int, int]  # (nid, zone idx) of the page that heads it: page_zone_id()
    key: int = 0  # place in its free list: list_add() heads get ever smaller keys, tails larger


class BootState:
    """The state record of one boot (``boot.Linux`` adds ``run()``): what each step reads and
    writes, and the accessors they share."""

    def __init__(self, inputs: SizingInputs, *, handoff: Memblock | None = None) -> None:
        """``handoff`` is for unit tests of the buddy arithmetic on a synthetic layout: memblock
        as the test states it at free_all_bootmem() entry, instead of the model's replay of
        the early allocations (compare never passes it)."""
        arch = inputs.arch
        if arch not in ARCHES:
            raise ValueError(f"no model for arch {arch!r}: choose one of {sorted(ARCHES)}")
        config_numa = inputs.config_numa
        if not config_numa and arch != "arm64":
            raise ValueError("the CONFIG_NUMA=n path is modelled for arm64 only")
        self.arch = ARCHES[arch]
        self.inputs = inputs  # zone sizing and the zonelists read nothing else (full_inputs())
        self.config_numa = config_numa
        self.release = inputs.release
        self.geo = PageGeometry(
            page_shift=inputs.page_size.bit_length() - 1,
            max_order=inputs.max_order,
            pageblock_order=inputs.pageblock_order,
            sizeof_struct_page=inputs.sizeof_struct_page,
        )
        names = tuple(inputs.zone_names)
        self.zone_names = names
        self.max_nr_zones = len(names)
        self.zone_movable = names.index("Movable")
        self.zone_normal = names.index("Normal")
        self.memblock = inputs.memblock
        if len(self.memblock.reserved) > INIT_MEMBLOCK_REGIONS:
            raise InspectorError(
                f"memblock.reserved holds {len(self.memblock.reserved)} regions at stop 1: a "
                f"reallocated array (memblock_double_array) is not modelled"
            )
        # memblock as the hand-off finds it: predicted by the early allocations (boot.py)
        self.early: EarlyAllocs47 | None = None  # before change "image-and-early-allocations"
        self.memblock_bootmem = inputs.memblock
        self.handoff_override = handoff
        self.nr_cpu_ids = inputs.nr_possible_cpus
        self.max_numnodes = 1 << inputs.nodes_shift if config_numa else 1
        self.max_low_pfn = inputs.max_low_pfn
        self.log: list[str] = []
        self.handoff_frames: list[HandoffFrame] = []
        # where each computed value came from (inspector.model.provenance), cut at every stop
        self.prov = Provenance(sources={k: v.text() for k, v in inputs.sources.items()})
        # globals of mm/page_alloc.c
        self.arch_zone_lowest_possible_pfn = [0] * self.max_nr_zones
        self.arch_zone_highest_possible_pfn = [0] * self.max_nr_zones
        self.zone_movable_pfn: dict[int, int] = {}
        self.movable_zone = 0
        self.required_kernelcore = 0
        self.required_movablecore = 0
        self.mirrored_kernelcore = False
        # set by memblock_find_dma_reserve() in setup_arch() before paging_init(): an input
        self.dma_reserve = inputs.dma_reserve
        self.nr_kernel_pages = 0
        self.nr_all_pages = 0
        self.pgdats: dict[int, PgdatState] = {}
        self.pageblock_mt: dict[int, int] = {}  # pageblock index -> migratetype (sparse usemaps)
        self.page_zone_cache: dict[int, tuple[int, int]] = {}
        self.free_blocks: dict[int, FreeBlock] = {}
        self.list_seq = 0
        # free_lists() as last computed, and the (list_seq, block count) it was computed at
        self._free_lists: tuple[tuple[int, int], FreeLists] | None = None
        self.zonelists: list[Zonelist] = []
        self.current_zonelist_order = ZONELIST_ORDER_DEFAULT
        self.policy_zone = 0
        self.vm_total_pages = 0
        self.page_group_by_mobility_disabled = 0
        self.totalram_pages = 0
        self.min_free_kbytes = 1024
        self.totalreserve_pages = 0
        self.pagesets: dict[tuple[int, int], tuple[int, int]] = {}  # (high, batch)
        self.snapshots: dict[str, Snapshot] = {}
        self.memmap_zone_pageblocks: dict[tuple[int, int], list[int]] = {}
        self.memmap_calls: list[dict[str, int]] = []  # memmap_init_zone() arguments, in order
        # memmap_init_zone() per zone (pageblock by pageblock); off for the sizing stage alone
        self.with_memmap = True
        # the upstream changes (inspector.kernel_changes ids) the modelled release has, where a
        # step branches on one: none for 4.7 itself; a boot log may declare backports on top
        self.changes: frozenset[str] = landed(inputs.release)
        # the stop plan's version name ("4.7", "6.1", "6.12"): the snapshots' names
        self.version = inputs.version
        # memmap_init()'s hole cursor (change "memmap-init-memblock-ranges")
        self.hole_pfn = 0
        # CONFIG_DEFERRED_STRUCT_PAGE_INIT: each node's first_deferred_pfn (absent: none),
        # defer_init()'s statics (prev_end_pfn, nr_initialised) and the free ranges the
        # hand-off left to deferred_init_memmap()
        self.first_deferred_pfn: dict[int, int] = {}
        self.defer_statics = [0, 0]
        self.deferred_free: list[tuple[int, int]] = []
        # page_zone()'s (start_pfn, end_pfn, (nid, zone)) runs of memory, sorted, and their starts
        self.zone_runs: list[tuple[int, int, tuple[int, int]]] = []
        self.zone_run_starts: list[int] = []
        self.cma_areas: list[tuple[int, int]] = []  # [start, end) physical, from memblock
        self.pcp_high: dict[tuple[int, int], tuple[int, int]] = {}  # (high_min, high_max)
        # for_each_node(): the possible nodes (change "possible-nodes")
        self.possible_nodes = sorted(inputs.possible_nodes) or self.online_nodes()
        self.arch_arg_registers = get_arch(arch).arg_registers
        self._mb: MemblockState | None = None

    @property
    def mb(self) -> MemblockState:
        """memblock from stop 1 on, for the early allocations of releases from change
        "image-and-early-allocations" (and free_area_init()'s pg_data_t of offline nodes)."""
        if self._mb is None:
            inputs = self.full_inputs()
            self._mb = MemblockState(
                inputs.memblock,
                reserve_nid=1 << inputs.nodes_shift,  # memblock_reserve(): MAX_NUMNODES
                current_limit=inputs.memblock_current_limit,
                smp_cache_bytes=inputs.smp_cache_bytes,
                low_limit=0,
                page_size=inputs.page_size,
            )
        return self._mb

    @property
    def has_full_inputs(self) -> bool:
        """Were the whole inputs given (a capture), not a boot log's sizing inputs alone?"""
        return isinstance(self.inputs, ModelInputs)

    @property
    def series(self) -> str:
        """The release without its patch level, as the citations print it: ``"6.1"``."""
        return str(Release.parse(self.release).series)

    def cite(self, function: str, mm_init: bool = False) -> str:
        """``function`` cited at this release: ``"free_area_init_core() (mm/mm_init.c, 6.12)"``.
        ``mm_init``: a function commit 9420f89db2dd ("mm: move most of core MM initialization
        to mm/mm_init.c", v6.4) moved from mm/page_alloc.c."""
        rel = Release.parse(self.release).series
        moved = mm_init and rel >= Release(6, 4)
        return f"{function} ({'mm/mm_init.c' if moved else 'mm/page_alloc.c'}, {rel})"

    def pcp_batch_cap(self) -> int:
        """zone_batchsize()'s cap in bytes: 1 MiB since change "pcp-batch-cap" (commit
        d8a759b57035, v4.19), 512 KiB before."""
        return 1024 * 1024 if self.has("pcp-batch-cap") else 512 * 1024

    def stop(self, role: Role) -> str:
        """The name of the snapshot of ``role`` in this boot's stop plan."""
        return stop_name(self.version, role)

    # --- helpers ------------------------------------------------------------------------------

    def has(self, change: str) -> bool:
        """Has the modelled kernel ``change`` (an inspector.kernel_changes id)?"""
        assert change in BY_ID, change
        return change in self.changes

    def hex_addr(self, x: int) -> str:
        """An address in the sizing lines: ``%#018Lx`` since change "mem-ranges-018", before it
        ``%#010Lx``."""
        return _hex018(x) if self.has("mem-ranges-018") else format(x, "#010x")

    def log_init_line(self, text: str) -> None:
        """A per-node or per-zone line of zone sizing: printk(KERN_DEBUG) in 4.7 (in the log
        buffer), pr_debug from 5.14 (change "init-lines-pr-debug"), then not in the log."""
        if "init-lines-pr-debug" not in self.changes:
            self.log.append(text)

    def full_inputs(self) -> ModelInputs:
        """The whole record, for the stages after the zonelists (early allocations, the
        hand-off, the watermarks): a state made from a boot log's sizing inputs alone stops at
        the zonelists."""
        if not isinstance(self.inputs, ModelInputs):
            raise InspectorError(
                "this state was made from sizing inputs alone: the stages after "
                "build_all_zonelists() need the whole ModelInputs"
            )
        return self.inputs

    def zone(self, nid: int, idx: int) -> ZoneState:
        return self.pgdats[nid].zones[idx]

    def record_handoff_frame(self, start_pfn: int, end_pfn: int) -> None:
        """The free lists now, after the hand-off freed [start_pfn, end_pfn)."""
        self.handoff_frames.append(
            HandoffFrame(
                start_pfn,
                end_pfn,
                {(z.node, z.idx): [list(c) for c in z.free_area] for z in self.all_zones()},
                {(z.node, z.idx): z.managed_pages for z in self.all_zones()},
            )
        )

    def all_zones(self) -> Iterable[ZoneState]:
        """for_each_zone() over online nodes in node order."""
        for nid in sorted(self.pgdats):
            yield from self.pgdats[nid].zones

    def online_nodes(self) -> list[int]:
        """node_online_map at free_area_init_nodes(): the nodes the arch registered.

        Taken from the inputs when captured. Otherwise inferred: x86_64 4.7 onlines only nodes with
        memory (numa_register_memblks(); a memoryless node's CPUs move to the nearest online
        node); arm64's numa_register_nodes() onlines every parsed node, memoryless ones too, which
        the inputs cannot show (cpu_to_node_map is filled later, by smp_init_cpus()).
        """
        if not self.config_numa:
            return [0]
        if self.inputs.online_nodes:
            return sorted(self.inputs.online_nodes)
        nids = {r.nid for r in self.memblock.memory}
        if self.arch.name == "arm64":
            nids |= {n for n in self.inputs.cpu_to_node if n >= 0}
        return sorted(nids) or [0]

    def node_distance(self, a: int, b: int) -> int:
        """node_distance() / __node_distance(): the captured table, 10/20 outside it."""
        d = self.inputs.node_distance
        if a < len(d) and b < len(d[a]):
            return d[a][b]
        return 10 if a == b else 20

    def early_pfn_valid(self, pfn: int) -> bool:
        """early_pfn_valid() = pfn_valid() (include/linux/mmzone.h, SPARSEMEM).

        arm64 (HAVE_ARCH_PFN_VALID): memblock_is_map_memory(); x86_64: the pfn's memory section was
        marked present by memory_present() (mm/sparse.c) for some memblock memory range.
        """
        if self.arch.arch_pfn_valid:
            return memblock_is_map_memory(self.memblock, pfn_phys(pfn, self.geo.page_shift))
        shift = self.inputs.section_size_bits - self.geo.page_shift
        section = pfn >> shift
        for start, end, _ in for_each_mem_pfn_range(self.memblock, None, self.geo.page_shift):
            if (start >> shift) <= section <= ((end - 1) >> shift):
                return True
        return False

    def pfn_valid(self, pfn: int) -> bool:
        """pfn_valid() (include/linux/mmzone.h, SPARSEMEM_VMEMMAP, 6.12): the pfn's section
        is present with a memmap, i.e. some memblock.memory range touches it (early sections are
        valid whole). Both arches: arm64 has no HAVE_ARCH_PFN_VALID in 6.12."""
        shift = self.inputs.section_size_bits - self.geo.page_shift
        section = pfn >> shift
        for r in self.memblock.memory:
            start = r.base >> self.geo.page_shift
            end = (r.base + r.size - 1) >> self.geo.page_shift
            if (start >> shift) <= section <= (end >> shift):
                return True
        return False

    def early_pfn_in_nid(self, pfn: int, nid: int) -> bool:
        """early_pfn_in_nid() (mm/page_alloc.c): false only for a pfn of another node's memory."""
        if not self.arch.nodes_span_other_nodes:
            return True
        found = memblock_search_pfn_nid(self.memblock, pfn, self.geo.page_shift)
        return not (found >= 0 and found != nid)

    # --- stop 1: free_area_init_nodes ----------------------------------------------------------

    def _phys(self, pfn: int) -> int:
        return pfn_phys(pfn, self.geo.page_shift)

    # --- stop 4: build_all_zonelists ------------------------------------------------------------

    def memory_nodes(self) -> list[int]:
        """node_states[N_MEMORY] after free_area_init_nodes(): nodes with present pages."""
        return [nid for nid in sorted(self.pgdats) if self.pgdats[nid].node_present_pages]

    # --- stop 5: free_all_bootmem ------------------------------------------------------------

    def free_lists(self) -> FreeLists:
        """zone -> (order, migratetype) -> the pfns on that free list, head first. Computed once
        per state of the lists (every free bumps list_seq), not once per zone asked."""
        at = (self.list_seq, len(self.free_blocks))
        if self._free_lists is not None and self._free_lists[0] == at:
            return self._free_lists[1]
        out: dict[tuple[int, int], dict[tuple[int, int], list[tuple[int, int]]]] = {}
        for pfn, b in self.free_blocks.items():
            out.setdefault(b.zone, {}).setdefault((b.order, b.migratetype), []).append((b.key, pfn))
        lists = {z: {k: [p for _, p in sorted(v)] for k, v in d.items()} for z, d in out.items()}
        self._free_lists = (at, lists)
        return lists

    def get_pfnblock_migratetype(self, pfn: int) -> int:
        # mirrors get_pfnblock_migratetype() (mm/page_alloc.c, 4.7)
        return self.pageblock_mt.get(pfn >> self.geo.pageblock_order, MIGRATE_UNMOVABLE)


def to_long(x: int) -> int:
    """An unsigned long printed with ``%ld``."""
    return x - (1 << 64) if x >> 63 else x


def _hex018(x: int) -> str:
    """printk's ``%#018Lx`` (lib/vsprintf.c prints the ``0x`` for zero too, unlike C)."""
    return format(x, "#018x")
