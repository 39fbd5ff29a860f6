"""One 6.12 boot replayed from free_area_init() to the watermarks (init/main.c start_kernel() →
setup_arch() → … → mm_core_init() → mem_init() → memblock_free_all(), then the postcore
initcall)."""

from __future__ import annotations

from inspector.model import chains
from inspector.model.inputs import ModelInputs
from inspector.model.spec import Replay
from inspector.model.v4_7.alternative import alternative_instructions
from inspector.model.v4_7.zonelists import build_all_zonelists
from inspector.model.v6_12.cma import cma_init_reserved_areas
from inspector.model.v6_12.free_area_init import free_area_init
from inspector.model.v6_12.mem_init import mem_init_print_info
from inspector.model.v6_12.memblock_free_all import deferred_init_memmap, memblock_free_all
from inspector.model.v6_12.memmap import memmap_init
from inspector.model.v6_12.snapshot import handoff_snapshot, snapshot
from inspector.model.v6_12.start_kernel import EarlyAllocs612
from inspector.model.v6_12.state import (
    BOOTMEM,
    CORE,
    DEFERRED,
    HANDOFF,
    MEMMAP,
    WMARKS,
    ZONELISTS,
    Linux612State,
)
from inspector.model.v6_12.watermarks import init_per_zone_wmark_min
from inspector.schema import Snapshot


class Linux612(Linux612State):
    """One boot of a 6.12 kernel, replayed: call ``run()`` then read the snapshots."""

    def run(self) -> dict[str, Snapshot]:
        free_area_init(self)  # with calc_nr_kernel_pages(); memmap_init() comes last in it
        self.snapshots[CORE] = snapshot(self, CORE)
        memmap_init(self)
        self.snapshots[MEMMAP] = snapshot(self, MEMMAP)
        early = EarlyAllocs612(self)
        self.log[:0] = early.param_log  # swiotlb=N,M: printed by parse_early_param()
        # the rest of setup_arch(), setup_command_line(), setup_per_cpu_areas(), parse_args(),
        # vfs_caches_init_early(), trap_init() (init/main.c start_kernel(), 6.12)
        early.after_free_area_init()
        in_mm_core_init = self.has("zonelists-in-mm-core-init")
        if not in_mm_core_init:  # start_kernel() (init/main.c, 6.1), before parse_args()
            self.log += early.log
            early.log = []
            build_all_zonelists(self)
            self.snapshots[ZONELISTS] = snapshot(self, ZONELISTS)
        early.after_percpu()
        self.log += early.log
        if in_mm_core_init:
            build_all_zonelists(self)  # mm_core_init()
            self.snapshots[ZONELISTS] = snapshot(self, ZONELISTS)
        early.log = []
        early.after_zonelists()  # mem_init()'s swiotlb
        self.log += early.log
        self.memblock_bootmem = self.handoff_override or early.mb.snapshot()
        self.snapshots[HANDOFF] = handoff_snapshot(self, early.handoff_globals())
        memblock_free_all(self)
        chains.handoff(self, "memblock_free_all() (mm/memblock.c, 6.12)")
        self.snapshots[BOOTMEM] = snapshot(self, BOOTMEM)
        if not self.has("memory-line-late"):
            mem_init_print_info(self)  # mm_init() (init/main.c, 6.1), after mem_init()
        # vfs_caches_init() and mnt_init()'s hash tables, x86's pci_iommu_init() banner
        self.log += early.late_hash_lines() + early.late_log
        # arch_cpu_finalize_init() → alternative_instructions() (x86), then the postcore
        # initcall; the 4.7 function mirrors the same 6.12 code (arch/x86/kernel/alternative.c)
        alternative_instructions(self)
        # kernel_init_freeable() → page_alloc_init_late(): the deferred struct pages
        deferred_init_memmap(self)
        if self.full_inputs().config_deferred_struct_page_init:
            self.snapshots[DEFERRED] = snapshot(self, DEFERRED)
        cma_init_reserved_areas(self)  # a core_initcall, before the postcore watermarks
        init_per_zone_wmark_min(self)
        self.snapshots[WMARKS] = snapshot(self, WMARKS)
        return self.snapshots


def replay(inputs: ModelInputs) -> Replay:
    model = Linux612(inputs)
    snaps = model.run()
    return Replay(snaps, model.log, model.mb.calls, model.handoff_frames, model.prov.stops)
