"""A pure-Python reference model of Linux 4.7 memory initialisation (x86_64 and arm64).

Each function re-expresses one 4.7 function and says which; the model starts from the captured
``Inputs`` at ``free_area_init_nodes`` entry and predicts, stop by stop, the same ``schema``
dataclasses that the capture produces, plus the kernel's own boot-log lines.

Configuration modelled (see kernel-configs/ and the built .config): NUMA=y, SPARSEMEM_VMEMMAP,
HAVE_MEMBLOCK_NODE_MAP, NO_BOOTMEM, no HIGHMEM, no CMA, no MEMORY_ISOLATION, no MEMORY_HOTPLUG, no
DEFERRED_STRUCT_PAGE_INIT, no HUGETLB_PAGE (so pageblock_order = MAX_ORDER - 1 = 10, read from the
inputs' constants when captured). The arm64 ``CONFIG_NUMA=n`` path (zone_sizes_init() with
explicit zone and hole sizes) is available with ``config_numa=False``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from inspector.errors import InspectorError
from inspector.model.common import (
    MEMBLOCK_MIRROR,
    PageGeometry,
    clamp,
    early_param_last,
    early_params,
    ffs0,
    for_each_free_mem_range,
    for_each_mem_pfn_range,
    int_sqrt,
    memblock_end_of_dram,
    memblock_is_map_memory,
    memblock_search_pfn_nid,
    memblock_start_of_dram,
    memparse,
    mult_frac,
    page_align,
    pageblock_range,
    pfn_down,
    pfn_phys,
    pfn_up,
    rounddown_pow_of_two,
    roundup,
)
from inspector.model.inputs import ModelInputs
from inspector.model.spec import Replay
from inspector.model.v4_7_early import EarlyAllocs47
from inspector.registry import Role, stop_name
from inspector.schema import (
    GLOBALS_BUDDY,
    GLOBALS_SIZED,
    GLOBALS_WMARKS,
    GLOBALS_ZONELISTS,
    MIGRATETYPES,
    FreeArea,
    KernelId,
    Memblock,
    Node,
    PerCpuPages,
    Snapshot,
    Zone,
    Zonelist,
)

VERSION = "4.7"
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
# The snapshots the model predicts, named by the registry (inspector/registry.py) as the capture
# names them.
CORE = stop_name(VERSION, Role.NODE)  # entry, per node: sizes from calculate_node_totalpages()
MEMMAP = stop_name(VERSION, Role.MEMMAP)  # return, per zone: pageblocks as memmap_init_zone() sets
ZONELISTS = stop_name(VERSION, Role.ZONELISTS)  # return
HANDOFF = stop_name(VERSION, Role.HANDOFF)  # entry: memblock as the buddy allocator is handed it
BOOTMEM = stop_name(VERSION, Role.BUDDY)  # return: the buddy allocator after the hand-off
WMARKS = stop_name(VERSION, Role.WMARKS)  # return: watermarks, lowmem_reserve, pagesets
STOPS = (CORE, MEMMAP, ZONELISTS, HANDOFF, BOOTMEM, WMARKS)


@dataclass(frozen=True)
class Arch47:
    """What differs between the two 4.7 builds, each item with where the kernel says so."""

    name: str
    zone_names: tuple[str, ...]  # enum zone_type with this config (include/linux/mmzone.h)
    section_size_bits: int  # arch/*/include/asm/sparsemem.h
    nodes_shift: int  # CONFIG_NODES_SHIFT in the .config
    arch_pfn_valid: bool  # HAVE_ARCH_PFN_VALID: pfn_valid() = memblock_is_map_memory() (arm64)
    nodes_span_other_nodes: bool  # CONFIG_NODES_SPAN_OTHER_NODES (x86_64 ACPI NUMA)
    lowmem_reserve_ratio: tuple[int, ...]  # sysctl_lowmem_reserve_ratio[MAX_NR_ZONES-1]
    # Nodes whose cpumask_of_node() is non-empty when start_kernel() calls build_all_zonelists():
    # x86 adds CPUs in identify_cpu() (check_bugs(), later); arm64's numa_init() maps CPU 0 to node
    # 0.
    nodes_with_cpus_at_zonelists: frozenset[int]


X86_64 = Arch47(
    name="x86_64",
    zone_names=("DMA", "DMA32", "Normal", "Movable"),
    section_size_bits=27,
    nodes_shift=6,
    arch_pfn_valid=False,
    nodes_span_other_nodes=True,
    lowmem_reserve_ratio=(256, 256, 32),
    nodes_with_cpus_at_zonelists=frozenset(),
)
ARM64 = Arch47(
    name="arm64",
    zone_names=("DMA", "Normal", "Movable"),
    section_size_bits=30,
    nodes_shift=2,
    arch_pfn_valid=True,
    nodes_span_other_nodes=False,
    lowmem_reserve_ratio=(256, 32),
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


class Linux47:
    """One boot of a 4.7 kernel, replayed: call ``run()`` then read the snapshots."""

    def __init__(self, inputs: ModelInputs, *, handoff: Memblock | None = None) -> None:
        """``handoff`` is for unit tests of the buddy arithmetic on a synthetic layout: memblock
        as the test states it at free_all_bootmem() entry, instead of the model's replay of
        the early allocations (compare never passes it)."""
        arch = inputs.arch
        if arch not in ARCHES:
            raise ValueError(f"no 4.7 model for arch {arch!r}: choose one of {sorted(ARCHES)}")
        config_numa = inputs.config_numa
        if not config_numa and arch != "arm64":
            raise ValueError("the CONFIG_NUMA=n path is modelled for arm64 only")
        self.arch = ARCHES[arch]
        self.inputs = inputs
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
        # memblock as free_all_bootmem() finds it: predicted by EarlyAllocs47 (run())
        self.early: EarlyAllocs47 | None = None
        self.memblock_bootmem = inputs.memblock
        self.handoff_override = handoff
        self.nr_cpu_ids = inputs.nr_possible_cpus
        self.max_numnodes = 1 << inputs.nodes_shift if config_numa else 1
        self.max_low_pfn = inputs.max_low_pfn
        self.log: list[str] = []
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

    # --- helpers ------------------------------------------------------------------------------

    def zone(self, nid: int, idx: int) -> ZoneState:
        return self.pgdats[nid].zones[idx]

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
        shift = self.arch.section_size_bits - self.geo.page_shift
        section = pfn >> shift
        for start, end, _ in for_each_mem_pfn_range(self.memblock, None, self.geo.page_shift):
            if (start >> shift) <= section <= ((end - 1) >> shift):
                return True
        return False

    def early_pfn_in_nid(self, pfn: int, nid: int) -> bool:
        """early_pfn_in_nid() (mm/page_alloc.c): false only for a pfn of another node's memory."""
        if not self.arch.nodes_span_other_nodes:
            return True
        found = memblock_search_pfn_nid(self.memblock, pfn, self.geo.page_shift)
        return not (found >= 0 and found != nid)

    # --- stop 1: free_area_init_nodes ----------------------------------------------------------

    def cmdline_parse_kernelcore(self) -> None:
        # mirrors cmdline_parse_kernelcore() / cmdline_parse_movablecore() (mm/page_alloc.c, 4.7)
        for name, value in early_params(self.inputs.cmdline):
            if value is None:
                continue
            if name == "kernelcore":
                if "mirror" in value.split(","):
                    self.mirrored_kernelcore = True
                else:
                    self.required_kernelcore = memparse(value)[0] >> self.geo.page_shift
            elif name == "movablecore":
                self.required_movablecore = memparse(value)[0] >> self.geo.page_shift

    def find_min_pfn_for_node(self, nid: int | None) -> int:
        # mirrors find_min_pfn_for_node() (mm/page_alloc.c, 4.7); None = MAX_NUMNODES
        starts = [s for s, _, _ in for_each_mem_pfn_range(self.memblock, nid, self.geo.page_shift)]
        if not starts:
            self.log.append(f"Could not find start_pfn for node {nid}")
            return 0
        return min(starts)

    def get_pfn_range_for_nid(self, nid: int) -> tuple[int, int]:
        # mirrors get_pfn_range_for_nid() (mm/page_alloc.c, 4.7)
        ranges = list(for_each_mem_pfn_range(self.memblock, nid, self.geo.page_shift))
        if not ranges:
            return 0, 0
        return min(s for s, _, _ in ranges), max(e for _, e, _ in ranges)

    def find_usable_zone_for_movable(self) -> None:
        # mirrors find_usable_zone_for_movable() (mm/page_alloc.c, 4.7)
        for idx in range(self.max_nr_zones - 1, -1, -1):
            if idx == self.zone_movable:
                continue
            if self.arch_zone_highest_possible_pfn[idx] > self.arch_zone_lowest_possible_pfn[idx]:
                self.movable_zone = idx
                return
        self.movable_zone = 0

    def early_calculate_totalpages(self) -> tuple[int, list[int]]:
        # mirrors early_calculate_totalpages() (mm/page_alloc.c, 4.7): pages and N_MEMORY nodes
        total = 0
        nodes: set[int] = set()
        for start, end, nid in for_each_mem_pfn_range(self.memblock, None, self.geo.page_shift):
            total += end - start
            if end - start:
                nodes.add(nid)
        return total, sorted(nodes)

    def find_zone_movable_pfns_for_nodes(self) -> None:
        # mirrors find_zone_movable_pfns_for_nodes() (mm/page_alloc.c, 4.7)
        totalpages, memory_nodes = self.early_calculate_totalpages()
        self.find_usable_zone_for_movable()
        zmp = self.zone_movable_pfn
        if self.mirrored_kernelcore:
            for r in self.memblock.memory:
                if r.flags & MEMBLOCK_MIRROR:
                    continue
                start = pfn_up(r.base, self.geo.page_shift)
                if start < 0x100000:
                    continue
                zmp[r.nid] = min(start, zmp[r.nid]) if zmp.get(r.nid) else start
            self._align_zone_movable_pfn()
            return
        # the kernel works on the globals themselves: their final values are compared
        if self.required_movablecore:
            movable = roundup(self.required_movablecore, self.geo.max_order_nr_pages)
            self.required_movablecore = min(totalpages, movable)
            self.required_kernelcore = max(
                self.required_kernelcore, totalpages - self.required_movablecore
            )
        self._spread_kernelcore(totalpages, memory_nodes)
        self._align_zone_movable_pfn()

    def _spread_kernelcore(self, totalpages: int, memory_nodes: list[int]) -> None:
        # the restart: loop of find_zone_movable_pfns_for_nodes() (mm/page_alloc.c, 4.7)
        zmp = self.zone_movable_pfn
        usable_nodes = len(memory_nodes)
        required_kernelcore = self.required_kernelcore
        if not required_kernelcore or required_kernelcore >= totalpages:
            return
        usable_startpfn = self.arch_zone_lowest_possible_pfn[self.movable_zone]
        while True:  # restart:
            kernelcore_node = required_kernelcore // usable_nodes
            for nid in memory_nodes:
                if required_kernelcore < kernelcore_node:
                    kernelcore_node = required_kernelcore // usable_nodes
                kernelcore_remaining = kernelcore_node
                for start_pfn, end_pfn, _ in for_each_mem_pfn_range(
                    self.memblock, nid, self.geo.page_shift
                ):
                    start_pfn = max(start_pfn, zmp.get(nid, 0))
                    if start_pfn >= end_pfn:
                        continue
                    if start_pfn < usable_startpfn:
                        kernel_pages = min(end_pfn, usable_startpfn) - start_pfn
                        kernelcore_remaining -= min(kernel_pages, kernelcore_remaining)
                        required_kernelcore -= min(kernel_pages, required_kernelcore)
                        if end_pfn <= usable_startpfn:
                            zmp[nid] = end_pfn
                            continue
                        start_pfn = usable_startpfn
                    size_pages = min(end_pfn - start_pfn, kernelcore_remaining)
                    zmp[nid] = start_pfn + size_pages
                    required_kernelcore -= min(required_kernelcore, size_pages)
                    kernelcore_remaining -= size_pages
                    if not kernelcore_remaining:
                        break
            usable_nodes -= 1
            if not (usable_nodes and required_kernelcore > usable_nodes):
                break
        self.required_kernelcore = required_kernelcore

    def _align_zone_movable_pfn(self) -> None:
        # the out2: label of find_zone_movable_pfns_for_nodes(): align to MAX_ORDER_NR_PAGES
        for nid, pfn in list(self.zone_movable_pfn.items()):
            self.zone_movable_pfn[nid] = roundup(pfn, self.geo.max_order_nr_pages)

    def free_area_init_nodes(self) -> None:
        # mirrors free_area_init_nodes() (mm/page_alloc.c, 4.7)
        mzp = self.inputs.max_zone_pfn
        lo, hi = self.arch_zone_lowest_possible_pfn, self.arch_zone_highest_possible_pfn
        lo[0] = self.find_min_pfn_for_node(None)
        hi[0] = mzp[0]
        for i in range(1, self.max_nr_zones):
            if i == self.zone_movable:
                continue
            lo[i] = hi[i - 1]
            hi[i] = max(mzp[i], lo[i])
        lo[self.zone_movable] = hi[self.zone_movable] = 0
        self.cmdline_parse_kernelcore()
        self.find_zone_movable_pfns_for_nodes()
        self.log.append("Zone ranges:")
        for i in range(self.max_nr_zones):
            if i == self.zone_movable:
                continue
            head = f"  {self.zone_names[i]:<8s} "
            if lo[i] == hi[i]:
                self.log.append(head + "empty")
            else:
                self.log.append(
                    head + f"[mem {_hex018(self._phys(lo[i]))}-{_hex018(self._phys(hi[i]) - 1)}]"
                )
        self.log.append("Movable zone start for each node")
        for nid in sorted(self.zone_movable_pfn):
            if self.zone_movable_pfn[nid]:
                self.log.append(f"  Node {nid}: {_hex018(self._phys(self.zone_movable_pfn[nid]))}")
        self.log.append("Early memory node ranges")
        for start, end, nid in for_each_mem_pfn_range(self.memblock, None, self.geo.page_shift):
            self.log.append(
                f"  node {nid:3d}: [mem {_hex018(self._phys(start))}-"
                f"{_hex018(self._phys(end) - 1)}]"
            )
        for nid in self.online_nodes():
            self.free_area_init_node(nid, self.find_min_pfn_for_node(nid))

    def _phys(self, pfn: int) -> int:
        return pfn_phys(pfn, self.geo.page_shift)

    def free_area_init_node(
        self,
        nid: int,
        node_start_pfn: int,
        zones_size: list[int] | None = None,
        zholes_size: list[int] | None = None,
    ) -> None:
        # mirrors free_area_init_node() (mm/page_alloc.c, 4.7)
        pgdat = PgdatState(node_id=nid, node_start_pfn=node_start_pfn)
        pgdat.zones = [
            ZoneState(node=nid, idx=j, name=self.zone_names[j]) for j in range(self.max_nr_zones)
        ]
        self.pgdats[nid] = pgdat
        if zones_size is None:  # HAVE_MEMBLOCK_NODE_MAP
            start_pfn, end_pfn = self.get_pfn_range_for_nid(nid)
            end_phys = self._phys(end_pfn) - 1 if end_pfn else 0
            self.log.append(
                f"Initmem setup node {nid} [mem {_hex018(self._phys(start_pfn))}-"
                f"{_hex018(end_phys)}]"
            )
        else:
            start_pfn, end_pfn = node_start_pfn, 0
        self.calculate_node_totalpages(pgdat, start_pfn, end_pfn, zones_size, zholes_size)
        self.free_area_init_core(pgdat)

    def adjust_zone_range_for_zone_movable(
        self, nid: int, zone_type: int, node_end_pfn: int, zone_start: int, zone_end: int
    ) -> tuple[int, int]:
        # mirrors adjust_zone_range_for_zone_movable() (mm/page_alloc.c, 4.7)
        zmp = self.zone_movable_pfn.get(nid, 0)
        if zmp:
            if zone_type == self.zone_movable:
                zone_start = zmp
                zone_end = min(node_end_pfn, self.arch_zone_highest_possible_pfn[self.movable_zone])
            elif zone_start >= zmp:
                zone_start = zone_end
        return zone_start, zone_end

    def zone_spanned_pages_in_node(
        self,
        nid: int,
        zone_type: int,
        node_start_pfn: int,
        node_end_pfn: int,
        zones_size: list[int] | None,
    ) -> tuple[int, int, int]:
        # mirrors zone_spanned_pages_in_node() (mm/page_alloc.c, 4.7): (spanned, start, end)
        if zones_size is not None:  # !HAVE_MEMBLOCK_NODE_MAP variant
            start = node_start_pfn + sum(zones_size[:zone_type])
            return zones_size[zone_type], start, start + zones_size[zone_type]
        if not node_start_pfn and not node_end_pfn:
            return 0, 0, 0
        zone_start = self.arch_zone_lowest_possible_pfn[zone_type]
        zone_end = self.arch_zone_highest_possible_pfn[zone_type]
        zone_start, zone_end = self.adjust_zone_range_for_zone_movable(
            nid, zone_type, node_end_pfn, zone_start, zone_end
        )
        if zone_end < node_start_pfn or zone_start > node_end_pfn:
            return 0, zone_start, zone_end
        zone_end = min(zone_end, node_end_pfn)
        zone_start = max(zone_start, node_start_pfn)
        return zone_end - zone_start, zone_start, zone_end

    def __absent_pages_in_range(self, nid: int | None, range_start: int, range_end: int) -> int:
        # mirrors __absent_pages_in_range() (mm/page_alloc.c, 4.7)
        nr_absent = range_end - range_start
        for start, end, _ in for_each_mem_pfn_range(self.memblock, nid, self.geo.page_shift):
            s = clamp(start, range_start, range_end)
            e = clamp(end, range_start, range_end)
            nr_absent -= e - s
        return nr_absent

    def zone_absent_pages_in_node(
        self,
        nid: int,
        zone_type: int,
        node_start_pfn: int,
        node_end_pfn: int,
        zholes_size: list[int] | None,
        config_memblock_node_map: bool = True,
    ) -> int:
        # mirrors zone_absent_pages_in_node() (mm/page_alloc.c, 4.7)
        if not config_memblock_node_map:
            return zholes_size[zone_type] if zholes_size else 0
        if not node_start_pfn and not node_end_pfn:
            return 0
        zone_low = self.arch_zone_lowest_possible_pfn[zone_type]
        zone_high = self.arch_zone_highest_possible_pfn[zone_type]
        zone_start = clamp(node_start_pfn, zone_low, zone_high)
        zone_end = clamp(node_end_pfn, zone_low, zone_high)
        zone_start, zone_end = self.adjust_zone_range_for_zone_movable(
            nid, zone_type, node_end_pfn, zone_start, zone_end
        )
        nr_absent = self.__absent_pages_in_range(nid, zone_start, zone_end)
        zmp = self.zone_movable_pfn.get(nid, 0)
        if zmp:
            if self.mirrored_kernelcore:
                for r in self.memblock.memory:  # every region, of any node, as the kernel does
                    s = clamp(pfn_up(r.base, self.geo.page_shift), zone_start, zone_end)
                    e = clamp(pfn_down(r.base + r.size, self.geo.page_shift), zone_start, zone_end)
                    mirror = bool(r.flags & MEMBLOCK_MIRROR)
                    if zone_type == self.zone_movable and mirror:
                        nr_absent += e - s
                    if zone_type == self.zone_normal and not mirror:
                        nr_absent += e - s
            elif zone_type == self.zone_normal:
                # 4.7 charges the whole movable part of the node to ZONE_NORMAL's holes, even
                # when ZONE_MOVABLE was carved from a lower zone (movable_zone != ZONE_NORMAL).
                nr_absent += node_end_pfn - zmp
        return nr_absent

    def calculate_node_totalpages(
        self,
        pgdat: PgdatState,
        node_start_pfn: int,
        node_end_pfn: int,
        zones_size: list[int] | None,
        zholes_size: list[int] | None,
    ) -> None:
        # mirrors calculate_node_totalpages() (mm/page_alloc.c, 4.7)
        total = real_total = 0
        for zone in pgdat.zones:
            size, zstart, _ = self.zone_spanned_pages_in_node(
                pgdat.node_id, zone.idx, node_start_pfn, node_end_pfn, zones_size
            )
            absent = self.zone_absent_pages_in_node(
                pgdat.node_id,
                zone.idx,
                node_start_pfn,
                node_end_pfn,
                zholes_size,
                config_memblock_node_map=zones_size is None,
            )
            real_size = (size - absent) & ULONG_MASK  # unsigned long arithmetic
            zone.zone_start_pfn = zstart if size else 0
            zone.spanned_pages = size
            zone.present_pages = real_size
            total += size
            real_total += real_size
        pgdat.node_spanned_pages = total
        pgdat.node_present_pages = real_total & ULONG_MASK
        self.log.append(f"On node {pgdat.node_id} totalpages: {pgdat.node_present_pages}")

    def calc_memmap_size(self, spanned_pages: int, present_pages: int) -> int:
        # mirrors calc_memmap_size() (mm/page_alloc.c, 4.7), CONFIG_SPARSEMEM=y
        pages = spanned_pages
        if spanned_pages > present_pages + (present_pages >> 4):
            pages = present_pages
        return page_align(pages * self.geo.sizeof_struct_page, self.geo.page_shift) >> (
            self.geo.page_shift
        )

    def zone_batchsize(self, managed_pages: int) -> int:
        # mirrors zone_batchsize() (mm/page_alloc.c, 4.7), CONFIG_MMU=y
        batch = managed_pages // 1024
        if batch * self.geo.page_size > 512 * 1024:
            batch = (512 * 1024) // self.geo.page_size
        batch //= 4
        if batch < 1:
            batch = 1
        return rounddown_pow_of_two(batch + batch // 2) - 1

    def free_area_init_core(self, pgdat: PgdatState) -> None:
        # mirrors free_area_init_core() (mm/page_alloc.c, 4.7); no HIGHMEM zone in these configs
        for zone in pgdat.zones:
            j = zone.idx
            size = zone.spanned_pages
            realsize = freesize = zone.present_pages
            memmap_pages = self.calc_memmap_size(size, realsize)
            zone.memmap_pages = memmap_pages
            if freesize >= memmap_pages:
                freesize -= memmap_pages
                if memmap_pages:
                    self.log.append(f"  {zone.name} zone: {memmap_pages} pages used for memmap")
            else:
                self.log.append(
                    f"  {zone.name} zone: {memmap_pages} pages exceeds freesize {freesize}"
                )
            if j == 0 and freesize > self.dma_reserve:
                freesize -= self.dma_reserve
                self.log.append(f"  {zone.name} zone: {self.dma_reserve} pages reserved")
            self.nr_kernel_pages = (self.nr_kernel_pages + freesize) & ULONG_MASK
            self.nr_all_pages = (self.nr_all_pages + freesize) & ULONG_MASK
            zone.managed_pages = freesize
            self.zone_pcp_init(zone)
            if not size:
                continue
            pgdat.nr_zones = j + 1  # init_currently_empty_zone()
            self.memmap_init_zone(size, pgdat.node_id, j, zone.zone_start_pfn)
            self.memmap_zone_pageblocks[(pgdat.node_id, j)] = self.zone_pageblock_migratetypes(zone)

    def zone_pcp_init(self, zone: ZoneState) -> None:
        # mirrors zone_pcp_init() (mm/page_alloc.c, 4.7): the boot pageset and the LIFO line
        if zone.populated():
            self.log.append(
                f"  {zone.name} zone: {zone.present_pages} pages, LIFO batch:"
                f"{self.zone_batchsize(zone.managed_pages)}"
            )

    # --- stop 3: memmap_init_zone ----------------------------------------------------------------

    def memmap_init_skips(self, pfn: int, nid: int, zone: int) -> bool:
        """The ``continue``s of memmap_init_zone()'s MEMMAP_EARLY loop for one pfn."""
        if not self.early_pfn_valid(pfn):
            return True
        if not self.config_numa:
            return False
        if not self.early_pfn_in_nid(pfn, nid):
            return True
        zmp = self.zone_movable_pfn.get(nid, 0)
        if not self.mirrored_kernelcore and zmp and zone == self.zone_normal and pfn >= zmp:
            return True
        if self.mirrored_kernelcore and zone == self.zone_movable:
            addr = self._phys(pfn)
            for r in self.memblock.memory:
                if r.base <= addr < r.base + r.size and r.flags & MEMBLOCK_MIRROR:
                    return True
        return False

    def memmap_init_zone(self, size: int, nid: int, zone: int, start_pfn: int) -> None:
        # mirrors memmap_init_zone() (mm/page_alloc.c, 4.7): pageblock-aligned pfns get
        # set_pageblock_migratetype(MIGRATE_MOVABLE); every pfn gets its zone links
        self.memmap_calls.append(
            {"size": size, "nid": nid, "zone": zone, "start_pfn": start_pfn, "context": 0}
        )
        end_pfn = start_pfn + size
        nr = self.geo.pageblock_nr_pages
        first = roundup(start_pfn, nr)
        for pfn in range(first, end_pfn, nr):
            if not self.memmap_init_skips(pfn, nid, zone):
                self.pageblock_mt[pfn >> self.geo.pageblock_order] = MIGRATE_MOVABLE
        self.page_zone_cache.clear()

    def zone_pageblock_migratetypes(self, zone: ZoneState) -> list[int]:
        """get_pageblock_migratetype() for every pageblock the zone spans (0 where never set)."""
        blocks = pageblock_range(zone.zone_start_pfn, zone.spanned_pages, self.geo.pageblock_order)
        return [self.pageblock_mt.get(b, MIGRATE_UNMOVABLE) for b in blocks]

    def page_zone(self, pfn: int) -> tuple[int, int]:
        """page_zone_id() of a pfn: the (nid, zone) whose memmap_init_zone() initialised it last.

        A page no memmap_init_zone() reached keeps zeroed flags: node 0, zone 0.
        """
        if pfn in self.page_zone_cache:
            return self.page_zone_cache[pfn]
        result = (0, 0)
        for nid in sorted(self.pgdats):
            for zone in self.pgdats[nid].zones:
                inside = zone.spanned_pages and zone.zone_start_pfn <= pfn < zone.zone_end_pfn
                if inside and not self.memmap_init_skips(pfn, nid, zone.idx):
                    result = (nid, zone.idx)
        self.page_zone_cache[pfn] = result
        return result

    # --- stop 4: build_all_zonelists ------------------------------------------------------------

    def set_zonelist_order(self) -> None:
        # mirrors set_zonelist_order() and default_zonelist_order() (mm/page_alloc.c, 4.7):
        # NUMA on 64-bit defaults to Node order; !NUMA always says Zone order
        if not self.config_numa:
            self.current_zonelist_order = ZONELIST_ORDER_ZONE
            return
        user = early_param_last(self.inputs.cmdline, "numa_zonelist_order")
        order = ZONELIST_ORDER_DEFAULT
        if user:
            order = {
                "d": ZONELIST_ORDER_DEFAULT,
                "n": ZONELIST_ORDER_NODE,
                "z": ZONELIST_ORDER_ZONE,
            }.get(user[0].lower(), ZONELIST_ORDER_DEFAULT)
        if order == ZONELIST_ORDER_DEFAULT:
            order = ZONELIST_ORDER_NODE  # default_zonelist_order(), CONFIG_64BIT
        self.current_zonelist_order = order

    def memory_nodes(self) -> list[int]:
        """node_states[N_MEMORY] after free_area_init_nodes(): nodes with present pages."""
        return [nid for nid in sorted(self.pgdats) if self.pgdats[nid].node_present_pages]

    def find_next_best_node(self, node: int, used: set[int], node_load: dict[int, int]) -> int:
        # mirrors find_next_best_node() (mm/page_alloc.c, 4.7)
        if node not in used:
            used.add(node)
            return node
        min_val = None
        best = -1
        nr_online = len(self.pgdats)
        for n in self.memory_nodes():
            if n in used:
                continue
            val = self.node_distance(node, n)
            val += int(n < node)
            if n in self.arch.nodes_with_cpus_at_zonelists:
                val += PENALTY_FOR_NODE_WITH_CPUS
            val *= nr_online * self.max_numnodes
            val += node_load.get(n, 0)
            if min_val is None or val < min_val:
                min_val = val
                best = n
        if best >= 0:
            used.add(best)
        return best

    def build_zonelists_node(self, nid: int, out: list[tuple[int, str]]) -> None:
        # mirrors build_zonelists_node() (mm/page_alloc.c, 4.7): populated zones, highest first
        for zone in reversed(self.pgdats[nid].zones):
            if zone.populated():
                out.append((nid, zone.name))
                self.check_highest_zone(zone.idx)

    def check_highest_zone(self, k: int) -> None:
        # mirrors check_highest_zone() (include/linux/mempolicy.h, 4.7)
        if k > self.policy_zone and k != self.zone_movable:
            self.policy_zone = k

    def build_zonelists(self, local_node: int, node_load: dict[int, int]) -> None:
        # mirrors build_zonelists() (mm/page_alloc.c, 4.7), CONFIG_NUMA and !CONFIG_NUMA variants
        fallback: list[tuple[int, str]] = []
        if not self.config_numa:
            self.build_zonelists_node(local_node, fallback)
            self.zonelists.append(Zonelist(node=local_node, kind="fallback", zones=fallback))
            return
        used: set[int] = set()
        load = len(self.pgdats)
        prev_node = local_node
        node_order: list[int] = []
        while (node := self.find_next_best_node(local_node, used, node_load)) >= 0:
            if self.node_distance(local_node, node) != self.node_distance(local_node, prev_node):
                node_load[node] = load
            prev_node = node
            load -= 1
            if self.current_zonelist_order == ZONELIST_ORDER_NODE:
                self.build_zonelists_node(node, fallback)  # build_zonelists_in_node_order()
            else:
                node_order.append(node)
        if self.current_zonelist_order == ZONELIST_ORDER_ZONE:
            # build_zonelists_in_zone_order()
            for zone_type in range(self.max_nr_zones - 1, -1, -1):
                for node in node_order:
                    z = self.pgdats[node].zones[zone_type]
                    if z.populated():
                        fallback.append((node, z.name))
                        self.check_highest_zone(zone_type)
        thisnode: list[tuple[int, str]] = []
        self.build_zonelists_node(local_node, thisnode)  # build_thisnode_zonelists()
        self.zonelists.append(Zonelist(node=local_node, kind="fallback", zones=fallback))
        self.zonelists.append(Zonelist(node=local_node, kind="nofallback", zones=thisnode))

    def nr_free_zone_pages(self, offset: int) -> int:
        # mirrors nr_free_zone_pages() (mm/page_alloc.c, 4.7): managed above the high watermark,
        # zones up to ``offset`` in the boot CPU's node fallback zonelist
        m = self.inputs.cpu_to_node_at_zonelists
        boot_node = m[0] if m and m[0] >= 0 else 0
        lists = [z for z in self.zonelists if z.kind == "fallback" and z.node == boot_node]
        if not lists:
            lists = [z for z in self.zonelists if z.kind == "fallback"][:1]
        total = 0
        for nid, name in lists[0].zones if lists else []:
            zone = self.zone(nid, self.zone_names.index(name))
            if zone.idx > offset:
                continue
            high = zone.watermark[2]
            if zone.managed_pages > high:
                total = (total + zone.managed_pages - high) & ULONG_MASK  # unsigned long sum
        return total

    def build_all_zonelists(self) -> None:
        # mirrors build_all_zonelists() and __build_all_zonelists() (mm/page_alloc.c, 4.7)
        self.set_zonelist_order()
        node_load: dict[int, int] = {}
        for nid in sorted(self.pgdats):
            self.build_zonelists(nid, node_load)
        # nr_free_pagecache_pages(): gfp_zone(GFP_HIGHUSER_MOVABLE) = ZONE_MOVABLE
        self.vm_total_pages = self.nr_free_zone_pages(self.zone_movable)
        self.page_group_by_mobility_disabled = int(
            self.vm_total_pages < self.geo.pageblock_nr_pages * MIGRATE_TYPES
        )
        self.log.append(
            f"Built {len(self.pgdats)} zonelists in "
            f"{ZONELIST_ORDER_NAME[self.current_zonelist_order]} order, mobility grouping "
            f"{'off' if self.page_group_by_mobility_disabled else 'on'}.  "
            f"Total pages: {to_long(self.vm_total_pages)}"
        )
        if self.config_numa:
            self.log.append(f"Policy zone: {self.zone_names[self.policy_zone]}")

    # --- stop 5: free_all_bootmem ------------------------------------------------------------

    def reset_all_zones_managed_pages(self) -> None:
        # mirrors reset_all_zones_managed_pages() (mm/nobootmem.c, 4.7)
        for zone in self.all_zones():
            zone.managed_pages = 0
            zone.nr_free_pages = 0
            zone.free_area = [[0] * MIGRATE_TYPES for _ in range(self.geo.max_order)]

    def free_lists(self) -> dict[tuple[int, int], dict[tuple[int, int], list[int]]]:
        """zone -> (order, migratetype) -> the pfns on that free list, head first."""
        out: dict[tuple[int, int], dict[tuple[int, int], list[tuple[int, int]]]] = {}
        for pfn, b in self.free_blocks.items():
            out.setdefault(b.zone, {}).setdefault((b.order, b.migratetype), []).append((b.key, pfn))
        return {z: {k: [p for _, p in sorted(v)] for k, v in d.items()} for z, d in out.items()}

    def get_pfnblock_migratetype(self, pfn: int) -> int:
        # mirrors get_pfnblock_migratetype() (mm/page_alloc.c, 4.7)
        return self.pageblock_mt.get(pfn >> self.geo.pageblock_order, MIGRATE_UNMOVABLE)

    def __free_one_page(self, pfn: int, zone_key: tuple[int, int], order: int, mt: int) -> None:
        # mirrors __free_one_page() (mm/page_alloc.c, 4.7): merge with free buddies of the same
        # order in the same zone up to MAX_ORDER-1 (no isolated pageblocks at boot)
        zone = self.zone(*zone_key)
        zone.nr_free_pages += 1 << order  # __mod_zone_freepage_state()
        while order < self.geo.max_order - 1:
            buddy_pfn = pfn ^ (1 << order)
            buddy = self.free_blocks.get(buddy_pfn)
            if buddy is None or buddy.order != order or buddy.zone != zone_key:
                break
            del self.free_blocks[buddy_pfn]
            self.zone(*buddy.zone).free_area[order][buddy.migratetype] -= 1
            pfn &= buddy_pfn
            order += 1
        # done_merging: if the buddy of the next-highest order is free, list_add_tail() (it may
        # coalesce soon), else list_add()
        tail = False
        if order < self.geo.max_order - 2:
            combined = (pfn ^ (1 << order)) & pfn
            higher = self.free_blocks.get(combined ^ (1 << (order + 1)))
            tail = higher is not None and higher.order == order + 1 and higher.zone == zone_key
        self.list_seq += 1
        key = self.list_seq if tail else -self.list_seq
        self.free_blocks[pfn] = FreeBlock(order=order, migratetype=mt, zone=zone_key, key=key)
        zone.free_area[order][mt] += 1

    def __free_pages_boot_core(self, pfn: int, order: int) -> None:
        # mirrors __free_pages_boot_core() (mm/page_alloc.c, 4.7) and __free_pages(): order 0 goes
        # through free_hot_cold_page() into the boot pageset (high 0, batch 1) and straight on to
        # free_pcppages_bulk(); higher orders through __free_pages_ok() and free_one_page()
        zone_key = self.page_zone(pfn)
        self.zone(*zone_key).managed_pages += 1 << order
        mt = self.get_pfnblock_migratetype(pfn)
        if order == 0 and mt >= MIGRATE_PCPTYPES:
            mt = MIGRATE_MOVABLE
        self.__free_one_page(pfn, zone_key, order, mt)

    def __free_pages_memory(self, start: int, end: int) -> None:
        # mirrors __free_pages_memory() (mm/nobootmem.c, 4.7)
        while start < end:
            order = min(self.geo.max_order - 1, ffs0(start))
            while start + (1 << order) > end:
                order -= 1
            self.__free_pages_boot_core(start, order)
            start += 1 << order

    def __free_memory_core(self, start: int, end: int) -> int:
        # mirrors __free_memory_core() (mm/nobootmem.c, 4.7)
        start_pfn = pfn_up(start, self.geo.page_shift)
        end_pfn = min(pfn_down(end, self.geo.page_shift), self.max_low_pfn)
        if start_pfn > end_pfn:
            return 0
        self.__free_pages_memory(start_pfn, end_pfn)
        return end_pfn - start_pfn

    def free_low_memory_core_early(self) -> int:
        # mirrors free_low_memory_core_early() (mm/nobootmem.c, 4.7); reserve_bootmem_region()
        # only sets PageReserved, so the reserved list matters through the free ranges alone.
        # CONFIG_ARCH_DISCARD_MEMBLOCK (x86) also frees reallocated region arrays: there are
        # none while the arrays stay within INIT_MEMBLOCK_REGIONS (checked in __init__).
        count = 0
        for start, end, _ in for_each_free_mem_range(self.memblock_bootmem):
            count += self.__free_memory_core(start, end)
        return count

    def free_all_bootmem(self) -> None:
        # mirrors free_all_bootmem() (mm/nobootmem.c, 4.7)
        self.reset_all_zones_managed_pages()
        self.free_blocks.clear()
        self.totalram_pages += self.free_low_memory_core_early()

    def mem_init_print_info(self) -> None:
        # mirrors the first numbers of mem_init_print_info() (mm/page_alloc.c, 4.7):
        # nr_free_pages() and get_num_physpages(), right after free_all_bootmem()
        kib = self.geo.page_shift - 10
        free = sum(z.nr_free_pages for z in self.all_zones())
        physpages = sum(p.node_present_pages for p in self.pgdats.values())  # get_num_physpages()
        self.log.append(
            f"Memory: {(free << kib) & ULONG_MASK}K/{(physpages << kib) & ULONG_MASK}K available"
        )

    # --- stop 6: pagesets and watermarks --------------------------------------------------------

    def pageset_set_batch(self, batch: int) -> tuple[int, int]:
        # mirrors pageset_set_batch() (mm/page_alloc.c, 4.7): (high, batch)
        return 6 * batch, max(1, batch)

    def setup_per_cpu_pageset(self) -> None:
        # mirrors setup_per_cpu_pageset() / zone_pageset_init() (mm/page_alloc.c, 4.7):
        # populated zones get their own pagesets; the rest keep boot_pageset (batch 0)
        for zone in self.all_zones():
            batch = self.zone_batchsize(zone.managed_pages) if zone.populated() else 0
            self.pagesets[(zone.node, zone.idx)] = self.pageset_set_batch(batch)

    def setup_per_zone_wmarks(self) -> None:
        # mirrors __setup_per_zone_wmarks() (mm/page_alloc.c, 4.7), no highmem zones
        pages_min = self.min_free_kbytes >> (self.geo.page_shift - 10)
        lowmem_pages = sum(z.managed_pages for z in self.all_zones())
        for zone in self.all_zones():
            tmp = pages_min * zone.managed_pages // lowmem_pages if lowmem_pages else 0
            wmin = tmp
            tmp = max(tmp >> 2, mult_frac(zone.managed_pages, WATERMARK_SCALE_FACTOR, 10000))
            zone.watermark = [wmin, wmin + tmp, wmin + 2 * tmp]
        self.calculate_totalreserve_pages()

    def setup_per_zone_lowmem_reserve(self) -> None:
        # mirrors setup_per_zone_lowmem_reserve() (mm/page_alloc.c, 4.7)
        ratio = [max(1, r) for r in self.arch.lowmem_reserve_ratio]
        for pgdat in self.pgdats.values():
            for zone in pgdat.zones:
                zone.lowmem_reserve = [0] * self.max_nr_zones
            for j, zone in enumerate(pgdat.zones):
                managed = zone.managed_pages
                zone.lowmem_reserve[j] = 0
                for idx in range(j - 1, -1, -1):
                    lower = pgdat.zones[idx]
                    lower.lowmem_reserve[j] = managed // ratio[idx]
                    managed += lower.managed_pages
        self.calculate_totalreserve_pages()

    def calculate_totalreserve_pages(self) -> None:
        # mirrors calculate_totalreserve_pages() (mm/page_alloc.c, 4.7)
        total = 0
        for zone in self.all_zones():
            reserve = max([0, *zone.lowmem_reserve[zone.idx :]]) if zone.lowmem_reserve else 0
            reserve += zone.watermark[2]
            total += min(reserve, zone.managed_pages)
        self.totalreserve_pages = total

    def alternative_instructions(self) -> None:
        # mirrors alternative_instructions() (arch/x86/kernel/alternative.c, 4.7), CONFIG_SMP:
        # unless the kernel was patched to UP while more CPUs are possible, free_init_pages()
        # (arch/x86/mm/init.c) hands [__smp_locks, __smp_locks_end) back page by page through
        # free_reserved_area(): adjust_managed_page_count(+1) per page. Present CPUs = possible
        # CPUs on these machines (no hotplug slots).
        if self.arch.name != "x86_64" or self.inputs.smp_locks is None:
            return
        noreplace_smp = any(n == "noreplace-smp" for n, _ in early_params(self.inputs.cmdline))
        maxcpus = early_param_last(self.inputs.cmdline, "maxcpus")
        setup_max_cpus = int(maxcpus) if maxcpus and maxcpus.isdigit() else NR_CPUS_DEFAULT
        if any(n == "nosmp" for n, _ in early_params(self.inputs.cmdline)):
            setup_max_cpus = 0
        uniproc_patched = not noreplace_smp and (self.nr_cpu_ids == 1 or setup_max_cpus <= 1)
        if uniproc_patched and self.nr_cpu_ids != 1:
            return
        begin, end = self.inputs.smp_locks
        # free_reserved_area(): PAGE_ALIGN(start) .. end & PAGE_MASK, via __pa_symbol()
        start_pfn = pfn_up(begin - START_KERNEL_MAP + (self.inputs.phys_base or 0), 12)
        end_pfn = pfn_down(end - START_KERNEL_MAP + (self.inputs.phys_base or 0), 12)
        for pfn in range(start_pfn, end_pfn):
            self.zone(*self.page_zone(pfn)).managed_pages += 1  # adjust_managed_page_count()
            self.totalram_pages += 1

    def init_per_zone_wmark_min(self) -> None:
        # mirrors init_per_zone_wmark_min() (mm/page_alloc.c, 4.7); watermarks are still zero, so
        # nr_free_buffer_pages() is the managed pages of zones up to ZONE_NORMAL
        lowmem_kbytes = self.nr_free_zone_pages(self.zone_normal) * (self.geo.page_size >> 10)
        self.min_free_kbytes = clamp(int_sqrt(lowmem_kbytes * 16), 128, 65536)
        self.setup_per_zone_wmarks()
        self.setup_per_zone_lowmem_reserve()

    # --- the whole boot ---------------------------------------------------------------------------

    def zone_sizes_init_nonuma(self) -> None:
        # mirrors zone_sizes_init() of arch/arm64/mm/init.c (4.7) for CONFIG_NUMA=n: one node,
        # explicit zone sizes and holes handed to free_area_init_node()
        sh = self.geo.page_shift
        lo = pfn_up(memblock_start_of_dram(self.memblock), sh)
        hi = pfn_down(memblock_end_of_dram(self.memblock), sh)
        max_dma = self.inputs.max_zone_pfn[0]
        zone_size = [0] * self.max_nr_zones
        zone_size[0] = max_dma - lo
        zone_size[self.zone_normal] = hi - max_dma
        zhole = list(zone_size)
        for r in self.memblock.memory:
            # memblock_region_memory_base_pfn() rounds up, _end_pfn() rounds down
            start, end = pfn_up(r.base, sh), pfn_down(r.base + r.size, sh)
            if start >= hi:
                continue
            if start < max_dma:
                zhole[0] -= min(end, max_dma) - start
            if end > max_dma:
                zhole[self.zone_normal] -= min(end, hi) - max(start, max_dma)
        self.free_area_init_node(0, lo, zone_size, zhole)

    def run(self) -> dict[str, Snapshot]:
        """Replay the boot from free_area_init_nodes to init_per_zone_wmark_min."""
        if self.config_numa:
            self.free_area_init_nodes()
        else:
            self.zone_sizes_init_nonuma()
        self.snapshots[CORE] = self.snapshot(CORE)
        self.snapshots[MEMMAP] = self.snapshot(MEMMAP)
        early = EarlyAllocs47(
            self.inputs, nr_kernel_pages=self.nr_kernel_pages, nr_all_pages=self.nr_all_pages
        )
        self.early = early
        # free_area_init_core()'s wait tables, the rest of setup_arch(), setup_command_line()
        # and setup_per_cpu_areas() (init/main.c start_kernel(), 4.7)
        early.after_free_area_init(
            [(z.node, z.spanned_pages) for p in self.pgdats.values() for z in p.zones]
        )
        self.log += early.log
        self.build_all_zonelists()
        self.snapshots[ZONELISTS] = self.snapshot(ZONELISTS)
        early.log = []
        early.after_zonelists()  # pidhash_init(), vfs_caches_init_early(), mem_init()'s start
        self.log += early.log
        self.memblock_bootmem = self.handoff_override or early.mb.snapshot()
        self.snapshots[HANDOFF] = Snapshot(
            stop=HANDOFF,
            kernel=KernelId(version=VERSION, release=self.release, arch=self.arch.name),
            memblock=self.memblock_bootmem,
            globals=early.handoff_globals(),
        )
        self.free_all_bootmem()
        self.mem_init_print_info()
        self.snapshots[BOOTMEM] = self.snapshot(BOOTMEM)
        self.log += self.late_hash_lines()
        self.setup_per_cpu_pageset()
        self.alternative_instructions()
        self.init_per_zone_wmark_min()
        self.snapshots[WMARKS] = self.snapshot(WMARKS)
        return self.snapshots

    def late_hash_lines(self) -> list[str]:
        """The lines start_kernel prints after the hand-off from what the model knows: with
        hashdist the dentry and inode hashes (vmalloc), mnt_init()'s two (fs/namespace.c, 4.7),
        each through alloc_large_system_hash() (mm/page_alloc.c), and x86's swiotlb banner."""
        assert self.early is not None
        sizer = EarlyAllocs47(
            self.inputs, nr_kernel_pages=self.nr_kernel_pages, nr_all_pages=self.nr_all_pages
        )
        if self.early.hashdist():
            sizer.vfs_caches(early=False)  # vfs_caches_init() (fs/dcache.c)
        sizer.hash_from_param("Mount-cache", "struct hlist_head", "mhash_entries", 19)
        sizer.hash_from_param("Mountpoint-cache", "struct hlist_head", "mphash_entries", 19)
        if self.arch.name == "x86_64" and self.early.swiotlb is not None:
            # pci_swiotlb_late_init() (arch/x86/kernel/pci-swiotlb.c, 4.7), a rootfs_initcall
            sizer.log.append(self.early.swiotlb_line())
        return sizer.log

    # --- snapshots --------------------------------------------------------------------------------

    def snapshot(self, stop: str) -> Snapshot:
        """The model's state at one stop, as the schema's dataclasses."""
        nodes = []
        for nid in sorted(self.pgdats):
            p = self.pgdats[nid]
            # memmap_init_zone() is called for zones that span pages: its stop shows only those
            zones = [
                self.zone_snapshot(z, stop) for z in p.zones if stop != MEMMAP or z.spanned_pages
            ]
            if not zones:
                continue
            nodes.append(
                Node(
                    node_id=nid,
                    node_start_pfn=p.node_start_pfn,
                    node_spanned_pages=p.node_spanned_pages,
                    node_present_pages=p.node_present_pages,
                    nr_zones=0 if stop == CORE else p.nr_zones,  # set after entry
                    zones=zones,
                )
            )
        return Snapshot(
            stop=stop,
            kernel=KernelId(version=VERSION, release=self.release, arch=self.arch.name),
            nodes=nodes,
            zonelists=[replace(z, zones=list(z.zones)) for z in self.zonelists]
            if stop == ZONELISTS
            else None,
            globals=self.globals_at(stop),
        )

    def zone_snapshot(self, z: ZoneState, stop: str) -> Zone:
        zone = Zone(
            node=z.node,
            idx=z.idx,
            name=z.name,
            zone_start_pfn=z.zone_start_pfn,
            spanned_pages=z.spanned_pages,
            present_pages=z.present_pages,
            # free_area_init_core() sets managed_pages after its entry, where CORE stops
            managed_pages=None if stop == CORE else z.managed_pages,
            # calc_memmap_size() is seen at memmap_init_zone(), by the capture's arithmetic
            memmap_pages=z.memmap_pages if stop == MEMMAP else None,
        )
        if stop == MEMMAP:
            zone.pageblock_migratetypes = self.memmap_zone_pageblocks.get((z.node, z.idx), [])
        if stop in (ZONELISTS, BOOTMEM):
            zone.pageblock_migratetypes = self.zone_pageblock_migratetypes(z)
        if stop == BOOTMEM:
            zone.nr_free_pages = z.nr_free_pages
            lists = self.free_lists().get((z.node, z.idx), {})
            zone.free_area = [
                FreeArea(
                    order=o,
                    nr_free=sum(z.free_area[o]),
                    free_list=list(z.free_area[o]),
                    blocks=[lists.get((o, mt), []) for mt in range(MIGRATE_TYPES)],
                )
                for o in range(self.geo.max_order)
            ]
        if stop == WMARKS:
            zone.watermark = list(z.watermark)
            zone.lowmem_reserve = list(z.lowmem_reserve)
            high, batch = self.pagesets[(z.node, z.idx)]
            # count is runtime state: the model says 0 (compare ignores it by default). A zone
            # with no present pages keeps the shared boot_pageset: not a per-zone value.
            if z.populated():
                zone.pageset = [
                    PerCpuPages(cpu=c, count=0, high=high, batch=batch)
                    for c in range(self.nr_cpu_ids)
                ]
        return zone

    def global_value(self, name: str) -> dict[str, int]:
        """One entry of schema.GLOBALS_* as the model holds it (arrays keyed like the capture)."""
        base = name.removesuffix("[]")
        if base.startswith("arch_zone_"):
            values = getattr(self, base)
            return {f"{base}[{zn}]": values[i] for i, zn in enumerate(self.zone_names)}
        if base == "zone_movable_pfn":
            return {f"{base}[{nid}]": self.zone_movable_pfn.get(nid, 0) for nid in self.pgdats}
        if base == "nr_online_nodes":
            return {base: len(self.pgdats)}  # node_set_state(N_ONLINE) as nodes come online
        return {base: getattr(self, base)}

    def globals_at(self, stop: str) -> dict[str, int]:
        table = {
            CORE: GLOBALS_SIZED,
            MEMMAP: GLOBALS_SIZED,
            ZONELISTS: GLOBALS_ZONELISTS,
            BOOTMEM: GLOBALS_BUDDY,
            WMARKS: GLOBALS_WMARKS,
        }[stop]
        g: dict[str, int] = {}
        for name in table:
            g.update(self.global_value(name))
        if stop == MEMMAP and self.memmap_calls:
            # the arguments of the last memmap_init_zone() call (the capture keeps the last hit)
            g.update({f"arg.{k}": v for k, v in self.memmap_calls[-1].items()})
        if stop == BOOTMEM:
            g["return"] = self.totalram_pages  # free_all_bootmem()'s pages, all it counted
        return g


def to_long(x: int) -> int:
    """An unsigned long printed with ``%ld``."""
    return x - (1 << 64) if x >> 63 else x


def _hex018(x: int) -> str:
    """printk's ``%#018Lx`` (lib/vsprintf.c prints the ``0x`` for zero too, unlike C)."""
    return format(x, "#018x")


def replay(inputs: ModelInputs) -> Replay:
    """The whole boot, as compare reads it (inspector.model registers this)."""
    model = Linux47(inputs)
    snaps = model.run()
    calls = model.early.mb.calls if model.early else []
    return Replay(snaps, model.log, calls)


def predict(inputs: ModelInputs, *, handoff: Memblock | None = None) -> dict[str, Snapshot]:
    """The model's snapshot at every stop, keyed by stop name (see ``STOPS``)."""
    return Linux47(inputs, handoff=handoff).run()


def boot_log_lines(inputs: ModelInputs, *, handoff: Memblock | None = None) -> list[str]:
    """The kernel's own memory-init boot-log lines (message text, without the timestamp).

    The ``Memory:`` line is predicted up to ``available``; the rest of it depends on the image.
    """
    model = Linux47(inputs, handoff=handoff)
    model.run()
    return model.log
