"""One 4.7 boot replayed in start_kernel()'s order (init/main.c), from stop 1 to the watermarks."""

from __future__ import annotations

from inspector.model import chains
from inspector.model.inputs import ModelInputs
from inspector.model.spec import Replay
from inspector.model.v4_7.alternative import alternative_instructions
from inspector.model.v4_7.arm64_init import zone_sizes_init_nonuma
from inspector.model.v4_7.free_area_init import free_area_init_nodes
from inspector.model.v4_7.nobootmem import free_all_bootmem, mem_init_print_info
from inspector.model.v4_7.snapshot import snapshot
from inspector.model.v4_7.start_kernel import EarlyAllocs47
from inspector.model.v4_7.state import (
    BOOTMEM,
    CORE,
    HANDOFF,
    MEMMAP,
    VERSION,
    WMARKS,
    ZONELISTS,
    Linux47State,
)
from inspector.model.v4_7.watermarks import init_per_zone_wmark_min, setup_per_cpu_pageset
from inspector.model.v4_7.zonelists import build_all_zonelists
from inspector.schema import KernelId, Memblock, Snapshot


def boot(m: Linux47State) -> dict[str, Snapshot]:
    """Replay the boot from free_area_init_nodes to init_per_zone_wmark_min."""
    if m.config_numa:
        free_area_init_nodes(m)
    else:
        zone_sizes_init_nonuma(m)
    m.snapshots[CORE] = snapshot(m, CORE)
    m.snapshots[MEMMAP] = snapshot(m, MEMMAP)
    early = EarlyAllocs47(
        m.full_inputs(),
        nr_kernel_pages=m.nr_kernel_pages,
        nr_all_pages=m.nr_all_pages,
        changes=m.changes,
    )
    m.early = early
    # free_area_init_core()'s wait tables, the rest of setup_arch(), setup_command_line()
    # and setup_per_cpu_areas() (init/main.c start_kernel(), 4.7)
    early.after_free_area_init(
        [(z.node, z.spanned_pages) for p in m.pgdats.values() for z in p.zones]
    )
    m.log += early.log
    build_all_zonelists(m)
    m.snapshots[ZONELISTS] = snapshot(m, ZONELISTS)
    early.log = []
    early.after_zonelists()  # pidhash_init(), vfs_caches_init_early(), mem_init()'s start
    m.log += early.log
    m.memblock_bootmem = m.handoff_override or early.mb.snapshot()
    m.prov.cut(HANDOFF)
    m.snapshots[HANDOFF] = Snapshot(
        stop=HANDOFF,
        kernel=KernelId(version=VERSION, release=m.release, arch=m.arch.name),
        memblock=m.memblock_bootmem,
        globals=early.handoff_globals(),
    )
    free_all_bootmem(m)
    chains.handoff(m, "free_all_bootmem() (mm/nobootmem.c, 4.7)")
    mem_init_print_info(m)
    m.snapshots[BOOTMEM] = snapshot(m, BOOTMEM)
    m.log += late_hash_lines(m)
    setup_per_cpu_pageset(m)
    alternative_instructions(m)
    init_per_zone_wmark_min(m)
    m.snapshots[WMARKS] = snapshot(m, WMARKS)
    return m.snapshots


def late_hash_lines(m: Linux47State) -> list[str]:
    """The lines start_kernel prints after the hand-off from what the model knows: with
    hashdist the dentry and inode hashes (vmalloc), mnt_init()'s two (fs/namespace.c, 4.7),
    each through alloc_large_system_hash() (mm/page_alloc.c), and x86's swiotlb banner."""
    assert m.early is not None
    sizer = EarlyAllocs47(
        m.full_inputs(),
        nr_kernel_pages=m.nr_kernel_pages,
        nr_all_pages=m.nr_all_pages,
        changes=m.changes,
    )
    if m.early.hashdist():
        sizer.vfs_caches(early=False)  # vfs_caches_init() (fs/dcache.c)
    sizer.hash_from_param("Mount-cache", "struct hlist_head", "mhash_entries", 19)
    sizer.hash_from_param("Mountpoint-cache", "struct hlist_head", "mphash_entries", 19)
    if m.arch.name == "x86_64" and m.early.swiotlb is not None:
        # pci_swiotlb_late_init() (arch/x86/kernel/pci-swiotlb.c, 4.7), a rootfs_initcall
        sizer.log.append(m.early.swiotlb_line())
    return sizer.log


class Linux47(Linux47State):
    """One boot of a 4.7 kernel, replayed: call ``run()`` then read the snapshots."""

    def run(self) -> dict[str, Snapshot]:
        return boot(self)


def replay(inputs: ModelInputs) -> Replay:
    """The whole boot, as compare reads it (inspector.model registers this)."""
    model = Linux47(inputs)
    snaps = model.run()
    calls = model.early.mb.calls if model.early else []
    return Replay(snaps, model.log, calls, model.handoff_frames, model.prov.stops)


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
