"""memmap_init_zone() (mm/page_alloc.c, 4.7): which pages it initialises and the pageblock
migratetypes it sets.
"""

from __future__ import annotations

from inspector.model.common import MEMBLOCK_MIRROR, pageblock_range, roundup
from inspector.model.v4_7.state import MIGRATE_MOVABLE, MIGRATE_UNMOVABLE, Linux47State, ZoneState


def memmap_init_skips(m: Linux47State, pfn: int, nid: int, zone: int) -> bool:
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


def memmap_init_zone(m: Linux47State, size: int, nid: int, zone: int, start_pfn: int) -> None:
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


def zone_pageblock_migratetypes(m: Linux47State, zone: ZoneState) -> list[int]:
    """get_pageblock_migratetype() for every pageblock the zone spans (0 where never set)."""
    blocks = pageblock_range(zone.zone_start_pfn, zone.spanned_pages, m.geo.pageblock_order)
    return [m.pageblock_mt.get(b, MIGRATE_UNMOVABLE) for b in blocks]


def page_zone(m: Linux47State, pfn: int) -> tuple[int, int]:
    """page_zone_id() of a pfn: the (nid, zone) whose memmap_init_zone() initialised it last.

    A page no memmap_init_zone() reached keeps zeroed flags: node 0, zone 0.
    """
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
