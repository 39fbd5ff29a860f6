"""The model's state at each stop projected onto the schema's dataclasses (what the capture
produces), and the mm globals as the capture keys them.
"""

from __future__ import annotations

from dataclasses import replace

from inspector.model.v4_7.memmap import zone_pageblock_migratetypes
from inspector.model.v4_7.state import (
    BOOTMEM,
    CORE,
    MEMMAP,
    MIGRATE_TYPES,
    VERSION,
    WMARKS,
    ZONELISTS,
    Linux47State,
    ZoneState,
)
from inspector.registry import role_of
from inspector.schema import (
    GLOBALS_AT,
    FreeArea,
    KernelId,
    Node,
    PerCpuPages,
    Snapshot,
    Zone,
)


def snapshot(m: Linux47State, stop: str) -> Snapshot:
    """The model's state at one stop, as the schema's dataclasses."""
    # memmap_init_zone() is called for zones that span pages: its stop shows only those
    zones = {
        nid: [zone_snapshot(m, z, stop) for z in p.zones if stop != MEMMAP or z.spanned_pages]
        for nid, p in m.pgdats.items()
    }
    return assemble(m, stop, VERSION, zones, stop == CORE, stop == ZONELISTS, globals_at(m, stop))


def assemble(
    m: Linux47State,
    stop: str,
    version: str,
    zones: dict[int, list[Zone]],
    at_core: bool,
    with_zonelists: bool,
    globals_: dict[str, int],
) -> Snapshot:
    """A Snapshot from each node's zone records (nodes without any are left out), as both
    versions' models project their state (nr_zones is set after free_area_init_core's entry)."""
    m.prov.cut(stop)
    nodes = [
        Node(
            node_id=nid,
            node_start_pfn=p.node_start_pfn,
            node_spanned_pages=p.node_spanned_pages,
            node_present_pages=p.node_present_pages,
            nr_zones=0 if at_core else p.nr_zones,
            zones=zones[nid],
        )
        for nid, p in sorted(m.pgdats.items())
        if zones.get(nid)
    ]
    return Snapshot(
        stop=stop,
        kernel=KernelId(version=version, release=m.release, arch=m.arch.name),
        nodes=nodes,
        zonelists=[replace(z, zones=list(z.zones)) for z in m.zonelists]
        if with_zonelists
        else None,
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


def zone_snapshot(m: Linux47State, z: ZoneState, stop: str) -> Zone:
    zone = zone_record(z, stop == CORE)
    # calc_memmap_size() is seen at memmap_init_zone(), by the capture's arithmetic
    zone.memmap_pages = z.memmap_pages if stop == MEMMAP else None
    if stop == MEMMAP:
        zone.pageblock_migratetypes = m.memmap_zone_pageblocks.get((z.node, z.idx), [])
    if stop in (ZONELISTS, BOOTMEM):
        zone.pageblock_migratetypes = zone_pageblock_migratetypes(m, z)
    if stop == BOOTMEM:
        zone.nr_free_pages = z.nr_free_pages
        zone.free_area = free_areas(m, z)
    if stop == WMARKS:
        zone.watermark = list(z.watermark)
        zone.lowmem_reserve = list(z.lowmem_reserve)
        high, batch = m.pagesets[(z.node, z.idx)]
        # count is runtime state: the model says 0 (compare ignores it by default). A zone
        # with no present pages keeps the shared boot_pageset: not a per-zone value.
        if z.populated():
            zone.pageset = [
                PerCpuPages(cpu=c, count=0, high=high, batch=batch) for c in range(m.nr_cpu_ids)
            ]
    return zone


def free_areas(m: Linux47State, z: ZoneState) -> list[FreeArea]:
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


def global_value(m: Linux47State, name: str) -> dict[str, int]:
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


def globals_at(m: Linux47State, stop: str) -> dict[str, int]:
    table = GLOBALS_AT[role_of(VERSION, stop)]
    g: dict[str, int] = {}
    for name in table:
        g.update(global_value(m, name))
    if stop == MEMMAP and m.memmap_calls:
        # the arguments of the last memmap_init_zone() call (the capture keeps the last hit)
        g.update({f"arg.{k}": v for k, v in m.memmap_calls[-1].items()})
    if stop == BOOTMEM:
        g["return"] = m.totalram_pages  # free_all_bootmem()'s pages, all it counted
    return g
