"""The state of one 6.12 boot: the 4.7 state record (inspector.model.v4_7.state) with what 6.12
adds, and the 6.12 stop names. 6.12 moved the sizing code to mm/mm_init.c."""

from __future__ import annotations

from inspector.arch import get_arch
from inspector.model.inputs import ModelInputs
from inspector.model.memblock import MemblockState
from inspector.model.v4_7.state import Linux47State
from inspector.registry import Role, stop_name

VERSION = "6.12"
FIRST = stop_name(VERSION, Role.INPUTS)  # free_area_init entry
CORE = stop_name(VERSION, Role.NODE)  # free_area_init_core entry, per possible node
MEMMAP = stop_name(VERSION, Role.MEMMAP)  # memmap_init_range return, per (range, zone)
ZONELISTS = stop_name(VERSION, Role.ZONELISTS)  # return
HANDOFF = stop_name(VERSION, Role.HANDOFF)
BOOTMEM = stop_name(VERSION, Role.BUDDY)
DEFERRED = stop_name(VERSION, Role.DEFERRED)  # return; with CONFIG_DEFERRED_STRUCT_PAGE_INIT
WMARKS = stop_name(VERSION, Role.WMARKS)
STOPS = (CORE, MEMMAP, ZONELISTS, HANDOFF, BOOTMEM, DEFERRED, WMARKS)
# The stops the 6.12 model does not reach, and why: compare reports them as not compared.
NOT_MODELLED: dict[str, str] = {}


class Linux612State(Linux47State):
    """The 4.7 record, plus 6.12's per-(range, zone) memmap_init_range() calls."""

    def __init__(self, inputs: ModelInputs) -> None:
        super().__init__(inputs)
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
        # for_each_node(): the possible nodes (x86 6.12 onlines memoryless CPU nodes later)
        self.possible_nodes = sorted(inputs.possible_nodes) or self.online_nodes()
        self.arch_arg_registers = get_arch(inputs.arch).arg_registers
        # memblock from stop 1 on: 6.12's free_area_init() allocates offline nodes' pgdats
        self.mb = MemblockState(
            inputs.memblock,
            reserve_nid=1 << inputs.nodes_shift,  # memblock_reserve(): MAX_NUMNODES
            current_limit=inputs.memblock_current_limit,
            smp_cache_bytes=inputs.smp_cache_bytes,
            low_limit=0,
            page_size=inputs.page_size,
        )

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
