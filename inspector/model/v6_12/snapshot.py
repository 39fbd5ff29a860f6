"""The 6.12 model's state at each stop it predicts, projected onto the schema's dataclasses."""

from __future__ import annotations

from inspector.model.v4_7.snapshot import assemble, free_areas, global_value, zone_record
from inspector.model.v4_7.state import MIGRATE_MOVABLE, ZoneState
from inspector.model.v6_12.memmap import zone_pageblocks
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
from inspector.registry import role_of
from inspector.schema import (
    GLOBALS_AT,
    KernelId,
    PerCpuPages,
    Snapshot,
    Zone,
)

# 4.7 globals that 6.12 no longer has (dma_reserve; current_zonelist_order, with the zone-order
# zonelists and numa_zonelist_order=) or keeps local to build_all_zonelists() (vm_total_pages)
GONE = {"dma_reserve", "current_zonelist_order", "vm_total_pages"}


def snapshot(m: Linux612State, stop: str) -> Snapshot:
    # memmap_init_range() is called per (range, zone): its stop shows the zones it reached
    zones = {
        nid: [
            zone_snapshot(m, z, stop)
            for z in p.zones
            if stop != MEMMAP or (z.node, z.idx) in m.memmap_zone_pageblocks
        ]
        for nid, p in m.pgdats.items()
    }
    version = m.inputs.version
    snap = assemble(m, stop, version, zones, stop == CORE, stop == ZONELISTS, globals_at(m, stop))
    if m.full_inputs().config_deferred_struct_page_init and stop in (
        ZONELISTS,
        BOOTMEM,
        DEFERRED,
        WMARKS,
    ):
        for node in snap.nodes:  # deferred_init_memmap() sets ULONG_MAX when it starts
            done = stop in (DEFERRED, WMARKS) or node.node_id not in m.first_deferred_pfn
            node.first_deferred_pfn = ULONG_MAX if done else m.first_deferred_pfn[node.node_id]
    return snap


ULONG_MAX = (1 << 64) - 1  # pgdat_set_deferred_range() (mm/mm_init.c, 6.12): "none deferred"


def deferred_movable_nr_free(m: Linux612State, z: ZoneState) -> list[int]:
    """Per order, the zone's MOVABLE free blocks at or above its node's first_deferred_pfn after
    deferred_init_memmap(): the blocks it freed into the pageblocks it made MOVABLE (a deferred
    block never merges below first_deferred_pfn, which is section-aligned, sections being
    larger than MAX_PAGE_ORDER blocks)."""
    first = m.first_deferred_pfn.get(z.node, ULONG_MAX)
    counts = [0] * m.geo.max_order
    for pfn, b in m.free_blocks.items():
        if b.zone == (z.node, z.idx) and pfn >= first and b.migratetype == MIGRATE_MOVABLE:
            counts[b.order] += 1
    return counts


def handoff_snapshot(m: Linux612State, globals_: dict[str, int]) -> Snapshot:
    """memblock_free_all() entry: memblock as the early allocations leave it, and the globals
    they set (schema.GLOBALS_HANDOFF that 6.12 still has)."""
    m.prov.cut(HANDOFF)
    return Snapshot(
        stop=HANDOFF,
        kernel=KernelId(version=m.inputs.version, release=m.release, arch=m.arch.name),
        memblock=m.memblock_bootmem,
        globals=globals_,
    )


def zone_snapshot(m: Linux612State, z: ZoneState, stop: str) -> Zone:
    zone = zone_record(z, stop == CORE)
    if stop == MEMMAP:
        zone.pageblock_migratetypes = m.memmap_zone_pageblocks[(z.node, z.idx)]
        if not m.has("managed-equals-present"):  # calc_memmap_size(), by the capture's sums
            zone.memmap_pages = z.memmap_pages
    if stop in (ZONELISTS, BOOTMEM):
        zone.pageblock_migratetypes = zone_pageblocks(m, z)
    if stop == WMARKS:
        if (z.node, z.idx) in m.pcp_high:  # change "pcp-high-autotune"
            zone.pcp_high_min, zone.pcp_high_max = m.pcp_high[(z.node, z.idx)]
        zone.watermark = list(z.watermark)
        zone.lowmem_reserve = list(z.lowmem_reserve)
        zone.nr_free_pages = z.nr_free_pages
        if z.present_pages:  # the capture reads pagesets of zones with present pages
            high, batch = m.pagesets[(z.node, z.idx)]
            zone.pageset = [
                PerCpuPages(cpu=c, count=0, high=high, batch=batch) for c in range(m.nr_cpu_ids)
            ]
    if stop == BOOTMEM:
        zone.nr_free_pages = z.nr_free_pages
        zone.free_area = free_areas(m, z)
    if stop == DEFERRED:
        zone.deferred_movable_nr_free = deferred_movable_nr_free(m, z)
    return zone


def globals_at(m: Linux612State, stop: str) -> dict[str, int]:
    table = GLOBALS_AT[role_of(m.inputs.version, stop)]
    g: dict[str, int] = {}
    for name in table:
        if name.removesuffix("[]") not in GONE:
            g.update(global_value(m, name))
    if stop in (CORE, MEMMAP):
        # the capture keys zone_movable_pfn[] by the nodes online at the stop: x86 onlines a
        # memoryless node with CPUs later (init_cpu_to_node())
        online = set(m.online_nodes())
        for nid in m.pgdats:
            if nid not in online:
                g.pop(f"zone_movable_pfn[{nid}]", None)
    if stop == MEMMAP and m.memmap_calls:
        # the arguments of the last memmap_init_range() call, as many as the capture reads
        # from the argument registers (6 on x86_64, 8 on arm64)
        n = len(m.arch_arg_registers)
        g.update({f"arg.{k}": v for k, v in list(m.memmap_calls[-1].items())[:n]})
    return g
