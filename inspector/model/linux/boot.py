"""One boot replayed in start_kernel()'s order (init/main.c), from stop 1 to the watermarks, at
the release of its inputs: each step where the kernel changed asks the change record
(inspector.kernel_changes), never a version string.

    setup_arch() → free_area_init() [→ memmap_init_zone() per zone, before change
    "memmap-init-memblock-ranges"; memmap_init() after it] → the rest of setup_arch(),
    setup_per_cpu_areas(), … → build_all_zonelists() (in mm_core_init() since change
    "zonelists-in-mm-core-init") → mem_init() → free_all_bootmem() / memblock_free_all()
    → the late hash tables → setup_per_cpu_pageset() (before change "pcp-high-from-low-wmark")
    → alternative_instructions() → page_alloc_init_late() → cma_init_reserved_areas()
    → init_per_zone_wmark_min()
"""

from __future__ import annotations

from inspector.model import chains
from inspector.model.inputs import ModelInputs
from inspector.model.linux.alternative import alternative_instructions
from inspector.model.linux.arm64_init import zone_sizes_init_nonuma
from inspector.model.linux.cma import cma_init_reserved_areas
from inspector.model.linux.free_area_init import free_area_init
from inspector.model.linux.mem_init import mem_init_print_info
from inspector.model.linux.memblock_free_all import deferred_init_memmap, memblock_free_all
from inspector.model.linux.memmap import memmap_init
from inspector.model.linux.snapshot import handoff_snapshot, snapshot
from inspector.model.linux.start_kernel import EarlyAllocs612
from inspector.model.linux.start_kernel_v4 import EarlyAllocs47
from inspector.model.linux.state import (
    BOOTMEM,
    CORE,
    DEFERRED,
    HANDOFF,
    MEMMAP,
    WMARKS,
    ZONELISTS,
    BootState,
)
from inspector.model.linux.watermarks import init_per_zone_wmark_min, setup_per_cpu_pageset
from inspector.model.linux.zonelists import build_all_zonelists
from inspector.model.memblock import MemblockCall
from inspector.model.spec import Replay
from inspector.registry import Role
from inspector.schema import Memblock, Snapshot


class Linux(BootState):
    """One boot, replayed: call ``run()`` then read the snapshots."""

    def take(self, role: Role) -> None:
        self.snapshots[self.stop(role)] = snapshot(self, role)

    def run(self) -> dict[str, Snapshot]:
        if self.config_numa:
            free_area_init(self)  # memmap_init_zone() inside it before 5.8
        else:
            zone_sizes_init_nonuma(self)  # arm64 CONFIG_NUMA=n (4.7)
        self.take(CORE)
        if self.has("memmap-init-memblock-ranges"):
            memmap_init(self)  # the last thing free_area_init() does
        self.take(MEMMAP)
        # from free_area_init() to the hand-off's entry: the early allocations, the zonelists
        if self.has("image-and-early-allocations"):
            late = self._early_allocations()
        else:
            late = self._early_allocations_v4()
        memblock_free_all(self)
        if self.has("stop-renames"):
            chains.handoff(self, f"memblock_free_all() (mm/memblock.c, {self.series})")
        else:
            chains.handoff(self, f"free_all_bootmem() (mm/nobootmem.c, {self.series})")
        self.take(BOOTMEM)
        if not self.has("memory-line-late"):
            mem_init_print_info(self)  # mem_init() (4.7), mm_init() (init/main.c, 6.1)
        self.log += late  # vfs_caches_init() and mnt_init()'s hash tables, x86's swiotlb line
        if not self.has("pcp-high-from-low-wmark"):
            setup_per_cpu_pageset(self)  # start_kernel() (init/main.c, 4.7)
        # arch_cpu_finalize_init() → alternative_instructions() (x86; check_bugs() in 4.7)
        alternative_instructions(self)
        # kernel_init_freeable() → page_alloc_init_late(): the deferred struct pages
        managed = {(z.node, z.idx): z.managed_pages for z in self.all_zones()}
        deferred_init_memmap(self)
        fn = "deferred_init_memmap() → deferred_free_pages() (mm/mm_init.c)"
        chains.managed_grew(self, managed, fn, "deferred_init_memmap")
        if self.full_inputs().config_deferred_struct_page_init:
            self.take(DEFERRED)
        managed = {(z.node, z.idx): z.managed_pages for z in self.all_zones()}
        cma_init_reserved_areas(self)  # a core_initcall, before the postcore watermarks
        fn = "cma_init_reserved_areas() → adjust_managed_page_count() (mm/cma.c)"
        chains.managed_grew(self, managed, fn, "cma_init_reserved_areas")
        init_per_zone_wmark_min(self)
        self.take(WMARKS)
        return self.snapshots

    def _early_allocations_v4(self) -> list[str]:
        """Before change "image-and-early-allocations": the 4.7 early allocations
        (inspector.model.linux.start_kernel_v4), start_kernel()'s order in 4.7. Returns the lines
        printed after the hand-off."""
        early = EarlyAllocs47(
            self.full_inputs(),
            nr_kernel_pages=self.nr_kernel_pages,
            nr_all_pages=self.nr_all_pages,
            changes=self.changes,
        )
        self.early = early
        # free_area_init_core()'s wait tables, the rest of setup_arch(), setup_command_line()
        # and setup_per_cpu_areas() (init/main.c start_kernel(), 4.7)
        early.after_free_area_init(
            [(z.node, z.spanned_pages) for p in self.pgdats.values() for z in p.zones]
        )
        self.log += early.log
        build_all_zonelists(self)
        self.take(ZONELISTS)
        early.log = []
        early.after_zonelists()  # pidhash_init(), vfs_caches_init_early(), mem_init()'s start
        self.log += early.log
        self.memblock_bootmem = self.handoff_override or early.mb.snapshot()
        self.snapshots[self.stop(HANDOFF)] = handoff_snapshot(self, early.handoff_globals())
        return late_hash_lines(self, early)

    def _early_allocations(self) -> list[str]:
        """From change "image-and-early-allocations" on: 6.12's early allocations
        (inspector.model.linux.start_kernel) on ``self.mb``, the zonelists built where the
        release builds them. Returns the lines printed after the hand-off."""
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
            self.take(ZONELISTS)
        early.after_percpu()
        self.log += early.log
        if in_mm_core_init:
            build_all_zonelists(self)  # mm_core_init()
            self.take(ZONELISTS)
        early.log = []
        early.after_zonelists()  # mem_init()'s swiotlb
        self.log += early.log
        self.memblock_bootmem = self.handoff_override or early.mb.snapshot()
        self.snapshots[self.stop(HANDOFF)] = handoff_snapshot(self, early.handoff_globals())
        return early.late_hash_lines() + early.late_log

    def memblock_calls(self) -> list[MemblockCall]:
        """Every memblock allocation and free the early allocations made, in order."""
        if self.early is not None:
            return self.early.mb.calls
        return self._mb.calls if self._mb is not None else []


def late_hash_lines(m: BootState, early: EarlyAllocs47) -> list[str]:
    """The lines start_kernel prints after the hand-off from what the model knows: with
    hashdist the dentry and inode hashes (vmalloc), mnt_init()'s two (fs/namespace.c, 4.7),
    each through alloc_large_system_hash() (mm/page_alloc.c), and x86's swiotlb banner."""
    sizer = EarlyAllocs47(
        m.full_inputs(),
        nr_kernel_pages=m.nr_kernel_pages,
        nr_all_pages=m.nr_all_pages,
        changes=m.changes,
    )
    if early.hashdist():
        sizer.vfs_caches(early=False)  # vfs_caches_init() (fs/dcache.c)
    sizer.hash_from_param("Mount-cache", "struct hlist_head", "mhash_entries", 19)
    sizer.hash_from_param("Mountpoint-cache", "struct hlist_head", "mphash_entries", 19)
    if m.arch.name == "x86_64" and early.swiotlb is not None:
        # pci_swiotlb_late_init() (arch/x86/kernel/pci-swiotlb.c, 4.7), a rootfs_initcall
        sizer.log.append(early.swiotlb_line())
    return sizer.log


def replay(inputs: ModelInputs) -> Replay:
    """The whole boot, as compare reads it (inspector.model registers this)."""
    model = Linux(inputs)
    snaps = model.run()
    return Replay(snaps, model.log, model.memblock_calls(), model.handoff_frames, model.prov.stops)


def predict(inputs: ModelInputs, *, handoff: Memblock | None = None) -> dict[str, Snapshot]:
    """The model's snapshot at every stop, keyed by stop name. ``handoff``: memblock at the
    hand-off as a unit test states it (BootState)."""
    return Linux(inputs, handoff=handoff).run()


def boot_log_lines(inputs: ModelInputs, *, handoff: Memblock | None = None) -> list[str]:
    """The kernel's own memory-init boot-log lines (message text, without the timestamp).

    The ``Memory:`` line is predicted up to ``available``; the rest of it depends on the image.
    """
    model = Linux(inputs, handoff=handoff)
    model.run()
    return model.log
