"""The model's state at each stop projected onto the schema's dataclasses (what the capture
produces), and the mm globals as the capture keys them."""

from __future__ import annotations

from dataclasses import replace

from inspector.model.linux.memmap import zone_pageblocks
from inspector.model.linux.state import (
    BOOTMEM,
    CORE,
    DEFERRED,
    HANDOFF,
    MEMMAP,
    MIGRATE_MOVABLE,
    MIGRATE_TYPES,
    WMARKS,
    ZONELISTS,
    BootState,
    ZoneState,
)
from inspector.registry import Role
from inspector.schema import (
    GLOBALS_AT,
    FreeArea,
    KernelId,
    Node,
    PerCpuPages,
    Snapshot,
    Zone,
)

ULONG_MAX = (1 << 64) - 1  # pgdat_set_deferred_range() (mm/mm_init.c, 6.12): "none deferred"
# globals a release no longer has, by the change that removed them (or made them local)
GONE_WITH = {
    "dma_reserve": "managed-equals-present",
    "current_zonelist_order": "zonelist-zone-order-removed",
    "vm_total_pages": "vm-total-pages-local",
}


def snapshot(m: BootState, role: Role) -> Snapshot:
    """The model's state at the stop of ``role``, as the schema's dataclasses. The memmap stop
    shows the zones memmap_init_zone() / memmap_init_range() reached."""
    stop = m.stop(role)
    zones = {
        nid: [
            zone_snapshot(m, z, role)
            for z in p.zones
            if role != MEMMAP or (z.node, z.idx) in m.memmap_zone_pageblocks
        ]
        for nid, p in m.pgdats.items()
    }
    m.prov.cut(stop)
    nodes = [
        Node(
            node_id=nid,
            node_start_pfn=p.node_start_pfn,
            node_spanned_pages=p.node_spanned_pages,
            node_present_pages=p.node_present_pages,
            # nr_zones is set after free_area_init_core()'s entry, where CORE stops
            nr_zones=0 if role == CORE else p.nr_zones,
            zones=zones[nid],
        )
        for nid, p in sorted(m.pgdats.items())
        if zones.get(nid)
    ]
    snap = Snapshot(
        stop=stop,
        kernel=KernelId(version=m.version, release=m.release, arch=m.arch.name),
        nodes=nodes,
        zonelists=[replace(z, zones=list(z.zones)) for z in m.zonelists]
        if role == ZONELISTS
        else None,
        globals=globals_at(m, role),
    )
    deferring = m.has_full_inputs and m.full_inputs().config_deferred_struct_page_init
    if deferring and role in (ZONELISTS, BOOTMEM, DEFERRED, WMARKS):
        for node in snap.nodes:  # deferred_init_memmap() sets ULONG_MAX when it starts
            done = role in (DEFERRED, WMARKS) or node.node_id not in m.first_deferred_pfn
            node.first_deferred_pfn = ULONG_MAX if done else m.first_deferred_pfn[node.node_id]
    return snap


def handoff_snapshot(m: BootState, globals_: dict[str, int]) -> Snapshot:
    """The hand-off's entry: memblock as the early allocations leave it, and the globals they
    set (schema.GLOBALS_HANDOFF that the release has)."""
    stop = m.stop(HANDOFF)
    m.prov.cut(stop)
    return Snapshot(
        stop=stop,
        kernel=KernelId(version=m.version, release=m.release, arch=m.arch.name),
        memblock=m.memblock_bootmem,
        globals=globals_,
    )


def zone_record(z: ZoneState, at_core: bool) -> Zone:
    """A zone's sizes as every stop shows them; managed_pages is set after free_area_init_core()'s
    entry (4.7: free_area_init_core() itself; 6.12: zone_init_internals()), where CORE stops."""
    return Zone(
        node=z.node,
        idx=z.idx,
        name=z.name,
        zone_start_pfn=z.zone_start_pfn,
        spanned_pages=z.spanned_pages,
        present_pages=z.present_pages,
        managed_pages=None if at_core else z.managed_pages,
    )


def zone_snapshot(m: BootState, z: ZoneState, role: Role) -> Zone:
    zone = zone_record(z, role == CORE)
    if role == MEMMAP:
        zone.pageblock_migratetypes = m.memmap_zone_pageblocks[(z.node, z.idx)]
        if not m.has("managed-equals-present"):  # calc_memmap_size(), by the capture's sums
            zone.memmap_pages = z.memmap_pages
    if role in (ZONELISTS, BOOTMEM):
        zone.pageblock_migratetypes = zone_pageblocks(m, z)
    if role == WMARKS:
        if (z.node, z.idx) in m.pcp_high:  # change "pcp-high-autotune"
            zone.pcp_high_min, zone.pcp_high_max = m.pcp_high[(z.node, z.idx)]
        zone.watermark = list(z.watermark)
        zone.lowmem_reserve = list(z.lowmem_reserve)
        zone.nr_free_pages = z.nr_free_pages
        # count is runtime state: the model says 0 (compare ignores it by default). A zone
        # with no present pages keeps the shared boot_pageset: not a per-zone value.
        if z.present_pages:
            high, batch = m.pagesets[(z.node, z.idx)]
            zone.pageset = [
                PerCpuPages(cpu=c, count=0, high=high, batch=batch) for c in range(m.nr_cpu_ids)
            ]
    if role == BOOTMEM:
        zone.nr_free_pages = z.nr_free_pages
        zone.free_area = free_areas(m, z)
    if role == DEFERRED:
        zone.deferred_movable_nr_free = deferred_movable_nr_free(m, z)
    return zone


def free_areas(m: BootState, z: ZoneState) -> list[FreeArea]:
    """zone->free_area[] after the hand-off: per order, the count, each list's length and the
    pfns on it, head first."""
    lists = m.free_lists().get((z.node, z.idx), {})
    return [
        FreeArea(
            order=o,
            nr_free=sum(z.free_area[o]),
            free_list=list(z.free_area[o]),
            blocks=[lists.get((o, mt), []) for mt in range(MIGRATE_TYPES)],
        )
        for o in range(m.geo.max_order)
    ]


def deferred_movable_nr_free(m: BootState, z: ZoneState) -> list[int]:
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


def global_value(m: BootState, name: str) -> dict[str, int]:
    """One entry of schema.GLOBALS_* as the model holds it (arrays keyed like the capture)."""
    base = name.removesuffix("[]")
    if base.startswith("arch_zone_"):
        values = getattr(m, base)
        return {f"{base}[{zn}]": values[i] for i, zn in enumerate(m.zone_names)}
    if base == "zone_movable_pfn":
        return {f"{base}[{nid}]": m.zone_movable_pfn.get(nid, 0) for nid in m.pgdats}
    if base == "nr_online_nodes":
        return {base: len(m.pgdats)}  # node_set_state(N_ONLINE) as nodes come online
    return {base: getattr(m, base)}


def globals_at(m: BootState, role: Role) -> dict[str, int]:
    g: dict[str, int] = {}
    for name in GLOBALS_AT[role]:
        gone = GONE_WITH.get(name.removesuffix("[]"))
        if gone is None or not m.has(gone):
            g.update(global_value(m, name))
    if role in (CORE, MEMMAP):
        # the capture keys zone_movable_pfn[] by the nodes online at the stop: x86 onlines a
        # memoryless node with CPUs later (init_cpu_to_node())
        online = set(m.online_nodes())
        for nid in m.pgdats:
            if nid not in online:
                g.pop(f"zone_movable_pfn[{nid}]", None)
    if role == MEMMAP and m.memmap_calls:
        # the arguments of the last memmap_init_zone() / memmap_init_range() call (the capture
        # keeps the last hit), as many as it reads from the argument registers (6 on x86_64,
        # 8 on arm64)
        n = len(m.arch_arg_registers)
        g.update({f"arg.{k}": v for k, v in list(m.memmap_calls[-1].items())[:n]})
    if role == BOOTMEM and not m.has("stop-renames"):
        g["return"] = m.totalram_pages  # free_all_bootmem()'s pages; memblock_free_all() is void
    return g
