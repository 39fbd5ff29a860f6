"""``buddy`` filters and ``--find``, after pwndbg's ``buddydump``: narrow a dump to a node, zone,
order, migratetype or CPU (or the per-cpu lists alone), and say where a physical address, pfn,
virtual address or ``struct page`` address is: in which free block or per-cpu list, or allocated,
and in which zone and pageblock."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from inspector.errors import InspectorError
from inspector.live.buddy import BuddyDump


@dataclass(frozen=True)
class Filter:
    node: int | None = None
    zone: str | None = None
    order: int | None = None
    mtype: str | None = None
    cpu: int | None = None
    pcp_only: bool = False


def _mtype(d: BuddyDump, name: str | None) -> str | None:
    if name is None:
        return None
    for mt in d.migratetypes:
        if mt.lower().startswith(name.lower()):
            return mt
    raise InspectorError(f"no migratetype {name!r}: choose one of {', '.join(d.migratetypes)}")


def select(d: BuddyDump, f: Filter) -> BuddyDump:
    """The part of ``d`` that ``f`` asks for (one-line errors for names that do not exist)."""
    mt = _mtype(d, f.mtype)
    zone = f.zone.lower() if f.zone else None
    known_zones = {z.name.lower() for n in d.snapshot.nodes for z in n.zones}
    if zone is not None and zone not in known_zones:
        raise InspectorError(f"no zone {f.zone!r}: choose one of {', '.join(sorted(known_zones))}")
    if f.node is not None and f.node not in {n.node_id for n in d.snapshot.nodes}:
        raise InspectorError(f"no node {f.node}: the guest has {len(d.snapshot.nodes)} node(s)")

    def keep(node: int, zone_name: str) -> bool:
        return (f.node is None or node == f.node) and (zone is None or zone_name.lower() == zone)

    nodes = []
    for n in d.snapshot.nodes:
        zones = []
        for z in n.zones:
            if not keep(n.node_id, z.name):
                continue
            areas = z.free_area
            if areas is not None and f.order is not None:
                areas = [fa for fa in areas if fa.order == f.order]
            pagesets = z.pageset
            if pagesets is not None and f.cpu is not None:
                pagesets = [p for p in pagesets if p.cpu == f.cpu]
            zones.append(dataclasses.replace(z, free_area=areas, pageset=pagesets))
        if zones:
            nodes.append(dataclasses.replace(n, zones=zones))
    blocks = d.blocks
    if blocks is not None:
        blocks = [
            b
            for b in blocks
            if keep(b.node, b.zone)
            and (f.order is None or b.order == f.order)
            and (mt is None or b.migratetype == mt)
        ]
    pcp = [
        p
        for p in d.pcp_lists
        if keep(p.node, p.zone)
        and (f.cpu is None or p.cpu == f.cpu)
        and (f.order is None or p.order == f.order)
        and (mt is None or p.migratetype == mt)
    ]
    return dataclasses.replace(
        d,
        snapshot=dataclasses.replace(d.snapshot, nodes=nodes),
        totals=[t for t in d.totals if keep(t.node, t.zone)],
        pcp_lists=pcp,
        blocks=None if d.blocks is None else blocks,
        shown_migratetypes=None if mt is None else [mt],
        pcp_only=f.pcp_only,
    )


def find(d: BuddyDump, pfn: int, what: str) -> str:
    """Where ``pfn`` (named ``what`` in the answer) is: one line. ``d`` must hold its blocks."""
    zone = next(
        (
            (n, z)
            for n in d.snapshot.nodes
            for z in n.zones
            if z.spanned_pages and z.zone_start_pfn <= pfn < z.zone_start_pfn + z.spanned_pages
        ),
        None,
    )
    if zone is None:
        spans = ", ".join(
            f"[{z.zone_start_pfn:#x}, {z.zone_start_pfn + z.spanned_pages:#x})"
            for n in d.snapshot.nodes
            for z in n.zones
            if z.spanned_pages
        )
        raise InspectorError(
            f"{what} (pfn {pfn:#x}) is outside the guest's RAM: its zones span pfns {spans}"
        )
    node, z = zone
    order = d.snapshot.globals.get("pageblock_order", 0)
    block_index = (pfn - (z.zone_start_pfn & ~((1 << order) - 1))) >> order
    mts = z.pageblock_migratetypes or []
    pb_mt = d.migratetypes[mts[block_index]] if 0 <= block_index < len(mts) else "?"
    where = f"node {node.node_id} zone {z.name}, pageblock {pfn >> order << order:#x} ({pb_mt})"
    for b in d.blocks or []:
        if b.pfn <= pfn < b.pfn + (1 << b.order):
            return (
                f"{what} (pfn {pfn:#x}) is free: in the order-{b.order} {b.migratetype} block at "
                f"pfn {b.pfn:#x} on {where}"
            )
    for p in d.pcp_lists:
        for head in p.pfns:
            if head <= pfn < head + (1 << p.order):
                return (
                    f"{what} (pfn {pfn:#x}) is on cpu {p.cpu}'s per-cpu list ({p.migratetype}, "
                    f"order {p.order}, entry at pfn {head:#x}) of {where}"
                )
    return f"{what} (pfn {pfn:#x}) is allocated (in no free list and no per-cpu list): {where}"
