"""The memmap: which struct pages are initialised and the pageblock migratetypes set, at the
release the state runs. 4.7's memmap_init_zone() (mm/page_alloc.c) walks every pfn of a zone;
since change "memmap-init-memblock-ranges" (5.8) memmap_init() (mm/mm_init.c from 6.4) makes one
memmap_init_range() per (memblock range, populated zone of its node), pageblocks set MOVABLE
only inside memblock.memory, and the holes between ranges given to the zone above them
(init_unavailable_range(), "pages in unavailable ranges"); with
CONFIG_DEFERRED_STRUCT_PAGE_INIT defer_init() stops it early."""

from __future__ import annotations

from bisect import bisect_right

from inspector.errors import InspectorError
from inspector.model.common import (
    MEMBLOCK_MIRROR,
    clamp,
    for_each_mem_pfn_range,
    pageblock_range,
    roundup,
)
from inspector.model.linux.state import MIGRATE_MOVABLE, BootState, ZoneState


def memmap_init_skips(m: BootState, pfn: int, nid: int, zone: int) -> bool:
    """The ``continue``s of memmap_init_zone()'s MEMMAP_EARLY loop for one pfn."""
    if not m.early_pfn_valid(pfn):
        return True
    if not m.config_numa:
        return False
    if not m.early_pfn_in_nid(pfn, nid):
        return True
    zmp = m.zone_movable_pfn.get(nid, 0)
    if not m.mirrored_kernelcore and zmp and zone == m.zone_normal and pfn >= zmp:
        return True
    if m.mirrored_kernelcore and zone == m.zone_movable:
        addr = m._phys(pfn)
        for r in m.memblock.memory:
            if r.base <= addr < r.base + r.size and r.flags & MEMBLOCK_MIRROR:
                return True
    return False


def memmap_init_zone(m: BootState, size: int, nid: int, zone: int, start_pfn: int) -> None:
    # mirrors memmap_init_zone() (mm/page_alloc.c, 4.7): pageblock-aligned pfns get
    # set_pageblock_migratetype(MIGRATE_MOVABLE); every pfn gets its zone links
    m.memmap_calls.append(
        {"size": size, "nid": nid, "zone": zone, "start_pfn": start_pfn, "context": 0}
    )
    end_pfn = start_pfn + size
    nr = m.geo.pageblock_nr_pages
    first = roundup(start_pfn, nr)
    for pfn in range(first, end_pfn, nr):
        if not memmap_init_skips(m, pfn, nid, zone):
            m.pageblock_mt[pfn >> m.geo.pageblock_order] = MIGRATE_MOVABLE
    m.page_zone_cache.clear()


def memmap_init(m: BootState) -> None:
    # mirrors memmap_init() (mm/mm_init.c, 6.12)
    zone_id = 0
    nid = 0
    end_pfn = 0
    for start_pfn, end_pfn, nid in for_each_mem_pfn_range(m.memblock, None, m.geo.page_shift):
        for zone in m.pgdats[nid].zones:
            if not zone.present_pages:  # populated_zone()
                continue
            memmap_init_zone_range(m, zone, start_pfn, end_pfn)
            zone_id = zone.idx
    section_pages = 1 << (m.inputs.section_size_bits - m.geo.page_shift)
    end_pfn = roundup(end_pfn, section_pages)
    if m.hole_pfn < end_pfn:
        init_unavailable_range(m, m.hole_pfn, end_pfn, zone_id, nid)


def memmap_init_zone_range(m: BootState, zone: ZoneState, start_pfn: int, end_pfn: int) -> None:
    # mirrors memmap_init_zone_range() (mm/mm_init.c, 6.12)
    zone_end = zone.zone_start_pfn + zone.spanned_pages
    start_pfn = clamp(start_pfn, zone.zone_start_pfn, zone_end)
    end_pfn = clamp(end_pfn, zone.zone_start_pfn, zone_end)
    if start_pfn >= end_pfn:
        return
    memmap_init_range(m, end_pfn - start_pfn, zone.node, zone.idx, start_pfn, zone_end)
    if m.hole_pfn < start_pfn:
        init_unavailable_range(m, m.hole_pfn, start_pfn, zone.idx, zone.node)
    m.hole_pfn = end_pfn
    # the capture reads the zone's pageblocks at this call's return
    m.memmap_zone_pageblocks[(zone.node, zone.idx)] = zone_pageblocks(m, zone)


def memmap_init_range(
    m: BootState, size: int, nid: int, zone: int, start_pfn: int, zone_end_pfn: int
) -> None:
    # mirrors memmap_init_range() (mm/mm_init.c, 6.12), MEMINIT_EARLY, no altmap: every
    # pageblock-aligned pfn of the range gets MIGRATE_MOVABLE
    m.memmap_calls.append(
        {
            "size": size,
            "nid": nid,
            "zone": zone,
            "start_pfn": start_pfn,
            "zone_end_pfn": zone_end_pfn,
            "context": 0,  # MEMINIT_EARLY
            "altmap": 0,
            "migratetype": MIGRATE_MOVABLE,
        }
    )
    nr = m.geo.pageblock_nr_pages
    end_pfn = start_pfn + size
    if m.full_inputs().config_deferred_struct_page_init:
        end_pfn = defer_init(m, nid, start_pfn, end_pfn, zone_end_pfn)
    for pfn in range(roundup(start_pfn, nr), end_pfn, nr):
        m.pageblock_mt[pfn >> m.geo.pageblock_order] = MIGRATE_MOVABLE


def defer_init(m: BootState, nid: int, start_pfn: int, end_pfn: int, zone_end_pfn: int) -> int:
    """Where memmap_init_range() stops initialising [start_pfn, end_pfn): defer_init()
    (mm/mm_init.c, 6.12), asked for each pfn, defers the rest of a node's highest zone once
    more than a section's worth of its pages is initialised, at a section boundary
    (first_deferred_pfn); the low zones are always initialised whole."""
    section = 1 << (m.inputs.section_size_bits - m.geo.page_shift)
    statics = m.defer_statics  # prev_end_pfn, nr_initialised
    if statics[0] != zone_end_pfn:
        statics[0], statics[1] = zone_end_pfn, 0
    pgdat = m.pgdats[nid]
    if zone_end_pfn < pgdat.node_start_pfn + pgdat.node_spanned_pages:
        return end_pfn
    if nid in m.first_deferred_pfn:
        return start_pfn
    # nr_initialised is incremented for each pfn before the test: at pfn it is
    # statics[1] + pfn - start_pfn + 1, which passes PAGES_PER_SECTION from
    # start_pfn + section - statics[1] on
    first = roundup(max(start_pfn, start_pfn + section - statics[1]), section)
    if first < end_pfn:
        m.first_deferred_pfn[nid] = first
        statics[1] += first - start_pfn + 1
        return first
    statics[1] += end_pfn - start_pfn
    return end_pfn


def init_unavailable_range(m: BootState, spfn: int, epfn: int, zone: int, node: int) -> None:
    # mirrors init_unavailable_range() (mm/mm_init.c, 6.12): pages of a hole in a valid
    # pageblock become reserved pages of (node, zone); the count is logged
    nr = m.geo.pageblock_nr_pages
    pgcnt = 0
    pfn = spfn
    while pfn < epfn:
        block = pfn & ~(nr - 1)
        if not m.pfn_valid(block):
            pfn = block + nr
            continue
        pgcnt += 1
        pfn += 1
    if pgcnt:
        m.log.append(
            f"On node {node}, zone {m.zone_names[zone]}: {pgcnt} pages in unavailable ranges"
        )


def zone_pageblocks(m: BootState, zone: ZoneState) -> list[int]:
    """get_pageblock_migratetype() for each pageblock the zone spans (0, MIGRATE_UNMOVABLE,
    where never set)."""
    blocks = pageblock_range(zone.zone_start_pfn, zone.spanned_pages, m.geo.pageblock_order)
    return [m.pageblock_mt.get(b, 0) for b in blocks]


def page_zone(m: BootState, pfn: int) -> tuple[int, int]:
    """page_zone_id() of a pfn: the (nid, zone) whose memmap_init_zone() initialised it last
    (a page none reached keeps zeroed flags: node 0, zone 0); since change
    "memmap-init-memblock-ranges", the zone memmap_init_range() gave it."""
    if m.has("memmap-init-memblock-ranges"):
        return _page_zone_by_runs(m, pfn)
    if pfn in m.page_zone_cache:
        return m.page_zone_cache[pfn]
    result = (0, 0)
    for nid in sorted(m.pgdats):
        for zone in m.pgdats[nid].zones:
            inside = zone.spanned_pages and zone.zone_start_pfn <= pfn < zone.zone_end_pfn
            if inside and not memmap_init_skips(m, pfn, nid, zone.idx):
                result = (nid, zone.idx)
    m.page_zone_cache[pfn] = result
    return result


def _page_zone_by_runs(m: BootState, pfn: int) -> tuple[int, int]:
    """page_zone_id() of a pfn in memory: the zone memmap_init_range() gave it, i.e. the zone of
    the memblock range's node that spans it. Looked up in (memory range ∩ zone) runs sorted by
    pfn, built once: the hand-off asks once per max-order block, so a terabyte asks 2^18 times."""
    runs = m.zone_runs
    if not runs:
        for r in m.memblock.memory:
            lo, hi = r.base >> m.geo.page_shift, (r.base + r.size) >> m.geo.page_shift
            for z in m.pgdats[r.nid].zones if r.nid in m.pgdats else ():
                start, end = max(lo, z.zone_start_pfn), min(hi, z.zone_end_pfn)
                if z.present_pages and start < end:
                    runs.append((start, end, (r.nid, z.idx)))
        runs.sort()
        m.zone_run_starts[:] = [start for start, _, _ in runs]
    i = bisect_right(m.zone_run_starts, pfn) - 1
    if i >= 0 and pfn < runs[i][1]:
        return runs[i][2]
    raise InspectorError(f"pfn {pfn:#x} is freed to the buddy allocator but lies in no zone")
