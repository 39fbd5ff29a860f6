"""A node's zones sized: calculate_node_totalpages() → zone_spanned_pages_in_node() and
zone_absent_pages_in_node() (mm/page_alloc.c; mm/mm_init.c from 6.4), at the release the state
runs, each value computed by its own chain (inspector.model.provenance): the expression the
model evaluates is the one ``explain`` and the walkthrough print, written once, and its branches
are the kernel's, each citing the change that made it.

Per zone: the zone's range (arch_zone_*_possible_pfn, clamped to the node since change
"free-area-init-reworked" — commit 299c83dce9ea, v5.2, clamps it, the model spells it so from
5.8 on: the same pages either way — then adjust_zone_range_for_zone_movable()), the pages it
spans of the node, the holes in it and what is present; per node the totals.
"""

from __future__ import annotations

from typing import Any

from inspector.model.chains import gp, np_, zp
from inspector.model.common import MEMBLOCK_MIRROR, clamp, for_each_mem_pfn_range, pfn_down, pfn_up
from inspector.model.linux.state import ULONG_MASK, BootState, PgdatState, ZoneState
from inspector.model.provenance import evaluate

SPANNED_EXPR = "min(zone_end, node_end_pfn) - max(zone_start, node_start_pfn)"


def calculate_node_totalpages(
    m: BootState, pgdat: PgdatState, node_start_pfn: int, node_end_pfn: int
) -> None:
    """calculate_node_totalpages(): every zone's start, spanned, absent and present pages, then
    the node's present pages (unsigned long sums) and span (the sum of its zones' spans until
    change "node-spanned-end-minus-start", then end - start)."""
    p = m.prov
    fn = m.cite("calculate_node_totalpages()", mm_init=True)
    unsigned = not m.has("free-area-init-reworked")
    for zone in pgdat.zones:
        zone_sizes(m, zone, node_start_pfn, node_end_pfn, unsigned)
    nid = pgdat.node_id
    present: dict[str, Any] = {f"present_{z.name}": zp(z, "present_pages") for z in pgdat.zones}
    expr = " + ".join(present)
    if unsigned:
        present["ULONG_MASK"] = ULONG_MASK
        expr = f"({expr}) & ULONG_MASK"
    pgdat.node_present_pages = p.derive(np_(nid, "node_present_pages"), expr, fn, **present)
    if not m.has("node-spanned-end-minus-start"):
        spans = {f"spanned_{z.name}": zp(z, "spanned_pages") for z in pgdat.zones}
        expr, ops = " + ".join(spans), spans
    else:
        expr = "node_end_pfn - node_start_pfn"
        ops = {
            "node_end_pfn": np_(nid, "node_end_pfn"),
            "node_start_pfn": np_(nid, "node_start_pfn"),
        }
    pgdat.node_spanned_pages = p.derive(np_(nid, "node_spanned_pages"), expr, fn, **ops)
    m.log_init_line(f"On node {nid} totalpages: {pgdat.node_present_pages}")


def zone_sizes(
    m: BootState, zone: ZoneState, node_start_pfn: int, node_end_pfn: int, unsigned: bool
) -> None:
    """One zone: zone_spanned_pages_in_node() and zone_absent_pages_in_node()."""
    p = m.prov
    fn_spanned = m.cite("zone_spanned_pages_in_node()", mm_init=True)
    fn_absent = m.cite("zone_absent_pages_in_node()", mm_init=True)
    fn_total = m.cite("calculate_node_totalpages()", mm_init=True)
    nstart, nend = np_(zone.node, "node_start_pfn"), np_(zone.node, "node_end_pfn")
    reworked = m.has("free-area-init-reworked")
    s, e = zone_range(m, zone, reworked, fn_spanned, ("zone_start", "zone_end"))
    zs, ze = p.chains[s].value, p.chains[e].value
    empty_node = not node_start_pfn and not node_end_pfn  # 4.7 returns 0 at once
    if empty_node or ze < node_start_pfn or zs > node_end_pfn:
        note = "the node has no memory" if empty_node else "the zone misses the node"
        zone.spanned_pages = p.derive(zp(zone, "spanned_pages"), "0", fn_spanned, note=note)
        zone.zone_start_pfn = p.derive(
            zp(zone, "zone_start_pfn"), "0", fn_total, note="an empty zone's start is left 0"
        )
    else:
        ops = {"zone_start": s, "zone_end": e, "node_start_pfn": nstart, "node_end_pfn": nend}
        zone.spanned_pages = p.derive(zp(zone, "spanned_pages"), SPANNED_EXPR, fn_spanned, **ops)
        if zone.spanned_pages:
            zone.zone_start_pfn = p.derive(
                zp(zone, "zone_start_pfn"),
                "max(zone_start, node_start_pfn)",
                fn_spanned,
                zone_start=s,
                node_start_pfn=nstart,
            )
        else:
            zone.zone_start_pfn = p.derive(
                zp(zone, "zone_start_pfn"), "0", fn_total, note="an empty zone's start is left 0"
            )
    # the range zone_absent_pages_in_node() counts holes in: since change
    # "free-area-init-reworked" the one zone_spanned_pages_in_node() hands back (clipped to
    # the node where the zone spans any of it); before, its own clamp of the node's range
    if reworked:
        rng = clipped_range(m, zone, (s, e), fn_spanned)
    else:
        rng = zone_range(m, zone, True, fn_absent, ("range_start", "range_end"))
    absent = zone_absent_pages(m, zone, rng, node_end_pfn, empty_node, fn_absent)
    ops2: dict[str, Any] = {"spanned_pages": zp(zone, "spanned_pages"), "absent_pages": absent}
    expr = "spanned_pages - absent_pages"
    if unsigned:
        expr, ops2["ULONG_MASK"] = f"({expr}) & ULONG_MASK", ULONG_MASK
    zone.present_pages = p.derive(zp(zone, "present_pages"), expr, fn_total, **ops2)


def zone_range(
    m: BootState, z: ZoneState, clamped: bool, fn: str, names: tuple[str, str]
) -> tuple[str, str]:
    """The zone's [start, end) as zone_spanned_pages_in_node() (or, ``names`` range_*, 4.7's
    zone_absent_pages_in_node()) takes it: arch_zone_*_possible_pfn (``clamped`` to the node's
    range), then adjust_zone_range_for_zone_movable() (mm/page_alloc.c, 4.7; mm/mm_init.c,
    6.12): ZONE_MOVABLE from zone_movable_pfn; since change "movable-zone-clipped" (commit
    e506b99696a2, v4.9) a zone straddling zone_movable_pfn ends there; a zone above it empty.
    Returns the two chain paths."""
    p = m.prov
    s, e = zp(z, names[0]), zp(z, names[1])
    args: dict[str, str] = {
        "low": gp(f"arch_zone_lowest_possible_pfn[{z.name}]"),
        "high": gp(f"arch_zone_highest_possible_pfn[{z.name}]"),
        "node_start_pfn": np_(z.node, "node_start_pfn"),
        "node_end_pfn": np_(z.node, "node_end_pfn"),
    }
    start_expr, end_expr = "low", "high"
    if clamped:
        start_expr, end_expr = "clamp(node_start_pfn, low, high)", "clamp(node_end_pfn, low, high)"
    note = ""
    zmp = m.zone_movable_pfn.get(z.node, 0)
    if zmp:
        values = {k: p.chains[v].value for k, v in args.items()}
        start = _eval(start_expr, values)
        end = _eval(end_expr, values)
        zmp_path = gp(f"zone_movable_pfn[{z.node}]")
        if z.idx == m.zone_movable:
            movable_hi = gp(f"arch_zone_highest_possible_pfn[{m.zone_names[m.movable_zone]}]")
            start_expr, end_expr = "zone_movable_pfn", "min(node_end_pfn, movable_zone_high)"
            args = {
                "zone_movable_pfn": zmp_path,
                "node_end_pfn": args["node_end_pfn"],
                "movable_zone_high": movable_hi,
            }
            note = "adjust_zone_range_for_zone_movable(): ZONE_MOVABLE starts at zone_movable_pfn"
        elif m.has("movable-zone-clipped") and not m.mirrored_kernelcore and start < zmp < end:
            end_expr = "zone_movable_pfn"
            args["zone_movable_pfn"] = zmp_path
            note = "adjust_zone_range_for_zone_movable(): clipped at zone_movable_pfn"
        elif start >= zmp:
            start_expr = end_expr
            args["zone_movable_pfn"] = zmp_path
            note = "adjust_zone_range_for_zone_movable(): the zone lies above zone_movable_pfn"
    p.derive(s, start_expr, fn, note=note, **args)
    p.derive(e, end_expr, fn, note=note, **args)
    return s, e


def _eval(expr: str, values: dict[str, int]) -> int:
    return int(evaluate(expr, **values))


def clipped_range(m: BootState, z: ZoneState, rng: tuple[str, str], fn: str) -> tuple[str, str]:
    """The range zone_spanned_pages_in_node() hands back (since change
    "free-area-init-reworked"), clipped to the node when the zone spans any of it, and that
    zone_absent_pages_in_node() counts holes in."""
    p = m.prov
    s, e = zp(z, "range_start"), zp(z, "range_end")
    nstart, nend = np_(z.node, "node_start_pfn"), np_(z.node, "node_end_pfn")
    if z.spanned_pages:
        expr_s, expr_e = "max(zone_start, node_start_pfn)", "min(zone_end, node_end_pfn)"
        p.derive(s, expr_s, fn, zone_start=rng[0], node_start_pfn=nstart)
        p.derive(e, expr_e, fn, zone_end=rng[1], node_end_pfn=nend)
    else:
        p.derive(s, "zone_start", fn, zone_start=rng[0])
        p.derive(e, "zone_end", fn, zone_end=rng[1])
    return s, e


def zone_absent_pages(
    m: BootState, z: ZoneState, rng: tuple[str, str], node_end_pfn: int, empty_node: bool, fn: str
) -> str:
    """zone_absent_pages_in_node() over ``rng``: the range less each memory region's pages in
    it (__absent_pages_in_range()); with ZONE_MOVABLE, 4.7 also charges the node's pages from
    zone_movable_pfn on to ZONE_NORMAL (until change "movable-zone-clipped"), and
    kernelcore=mirror counts mirrored memory out of ZONE_MOVABLE and the rest out of
    ZONE_NORMAL. Returns the chain's path."""
    p = m.prov
    path = zp(z, "absent_pages")
    rs, re_ = (p.chains[x].value for x in rng)
    zmp = m.zone_movable_pfn.get(z.node, 0)
    if empty_node:
        p.derive(path, "0", fn, note="the node has no memory")
    elif zmp and m.mirrored_kernelcore:
        absent = _absent_mirrored(m, z, rs, re_) if rs != re_ else 0
        p.note(
            path,
            absent,
            None,
            fn,
            note="kernelcore=mirror: mirrored and unmirrored regions counted per zone",
            memblock=p.given(m.memblock.memory, "memblock"),
        )
    elif rs != re_ or (zmp and z.idx == m.zone_normal and not m.has("movable-zone-clipped")):
        expr = "range_end - range_start - sum(memory_in_range)"
        ops: dict[str, Any] = {
            "range_start": rng[0],
            "range_end": rng[1],
            "memory_in_range": _memory_in_range(m, z.node, rs, re_),
        }
        if zmp and z.idx == m.zone_normal and not m.has("movable-zone-clipped"):
            expr += " + (node_end_pfn - zone_movable_pfn)"
            ops["node_end_pfn"] = np_(z.node, "node_end_pfn")
            ops["zone_movable_pfn"] = gp(f"zone_movable_pfn[{z.node}]")
        p.derive(path, expr, fn, **ops)
    else:
        p.derive(path, "0", fn, note="an empty range")
    return path


def _memory_in_range(m: BootState, nid: int, start: int, end: int) -> Any:
    """The pages of each of node ``nid``'s memory regions inside [start, end), region by region
    (the terms __absent_pages_in_range() subtracts), as a declared input."""
    pages = [
        clamp(e, start, end) - clamp(s, start, end)
        for s, e, _ in for_each_mem_pfn_range(m.memblock, nid, m.geo.page_shift)
    ]
    return m.prov.given(pages, "memblock", "pages of each memory region within the zone's range")


def _absent_mirrored(m: BootState, z: ZoneState, zone_start: int, zone_end: int) -> int:
    # zone_absent_pages_in_node() with kernelcore=mirror: the holes, plus every region (of any
    # node, as the kernel does) that is mirrored for ZONE_MOVABLE, unmirrored for ZONE_NORMAL
    nr_absent = zone_end - zone_start
    for s, e, _ in for_each_mem_pfn_range(m.memblock, z.node, m.geo.page_shift):
        nr_absent -= clamp(e, zone_start, zone_end) - clamp(s, zone_start, zone_end)
    for r in m.memblock.memory:
        s = clamp(pfn_up(r.base, m.geo.page_shift), zone_start, zone_end)
        e = clamp(pfn_down(r.base + r.size, m.geo.page_shift), zone_start, zone_end)
        mirror = bool(r.flags & MEMBLOCK_MIRROR)
        if (z.idx == m.zone_movable and mirror) or (z.idx == m.zone_normal and not mirror):
            nr_absent += e - s
    return nr_absent
