"""The buddy hand-off in 6.12: memblock_free_all() → free_low_memory_core_early() →
__free_memory_core() → __free_pages_memory() → memblock_free_pages() → __free_pages_core() →
__free_pages_ok(FPI_TO_TAIL) → __free_one_page() (mm/memblock.c, mm/page_alloc.c, 6.12).

Unlike 4.7, order-0 pages skip the boot pcp, and every block goes to the tail of its list
(FPI_TO_TAIL), so list order is completion order. With pageblock_order == MAX_PAGE_ORDER the
cross-migratetype merge rule (order >= pageblock_order) is never reached."""

from __future__ import annotations

from bisect import bisect_right

from inspector.errors import InspectorError
from inspector.model.common import ffs0, for_each_free_mem_range, pfn_down, pfn_up
from inspector.model.memblock import INIT_MEMBLOCK_REGIONS
from inspector.model.v4_7.state import MIGRATE_MOVABLE, FreeBlock
from inspector.model.v6_12.state import Linux612State


def page_zone(m: Linux612State, pfn: int) -> tuple[int, int]:
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


def free_one_page(m: Linux612State, pfn: int, order: int) -> None:
    # mirrors __free_pages_core() (managed_pages) and __free_one_page() with FPI_TO_TAIL
    zone_key = page_zone(m, pfn)
    zone = m.zone(*zone_key)
    zone.managed_pages += 1 << order
    mt = m.pageblock_mt.get(pfn >> m.geo.pageblock_order, 0)  # get_pfnblock_migratetype()
    zone.nr_free_pages += 1 << order  # account_freepages()
    top = m.geo.max_order - 1  # MAX_PAGE_ORDER
    while order < top:
        buddy_pfn = pfn ^ (1 << order)
        buddy = m.free_blocks.get(buddy_pfn)
        if buddy is None or buddy.order != order or buddy.zone != zone_key:
            break
        del m.free_blocks[buddy_pfn]
        zone.free_area[order][buddy.migratetype] -= 1
        pfn &= buddy_pfn
        order += 1
    m.list_seq += 1
    m.free_blocks[pfn] = FreeBlock(order=order, migratetype=mt, zone=zone_key, key=m.list_seq)
    zone.free_area[order][mt] += 1


def __free_pages_memory(m: Linux612State, start: int, end: int, *, late: bool = False) -> None:
    # mirrors __free_pages_memory() (mm/memblock.c, 6.12): start 0 counts as MAX_PAGE_ORDER;
    # at the hand-off memblock_free_pages() skips a block whose struct pages are deferred
    # (!early_page_initialised(): pfn >= its node's first_deferred_pfn); ``late``: those
    # blocks, freed by deferred_init_memmap()
    top = m.geo.max_order - 1
    while start < end:
        order = min(top, ffs0(start)) if start else top
        while start + (1 << order) > end:
            order -= 1
        deferred = None
        if m.first_deferred_pfn and not late:  # only with CONFIG_DEFERRED_STRUCT_PAGE_INIT
            deferred = m.first_deferred_pfn.get(page_zone(m, start)[0])
        if deferred is not None and start >= deferred:
            m.deferred_free.append((start, start + (1 << order)))
        else:
            free_one_page(m, start, order)
        start += 1 << order


def deferred_init_memmap(m: Linux612State) -> None:
    """page_alloc_init_late() → deferred_init_memmap() (mm/mm_init.c, 6.12), before the
    initcalls: the deferred pages of the free ranges initialised, their pageblocks MOVABLE
    where a free pfn starts one, and freed to the buddy allocator (deferred_free_pages()). The
    buddy state this reaches is the same whatever the freeing order, which only the list order
    (not compared after the hand-off) would show."""
    nr = m.geo.pageblock_nr_pages
    for start, end in m.deferred_free:
        for pfn in range(-(-start // nr) * nr, end, nr):
            m.pageblock_mt[pfn >> m.geo.pageblock_order] = MIGRATE_MOVABLE
    for start, end in m.deferred_free:
        __free_pages_memory(m, start, end, late=True)
    m.deferred_free = []


def memblock_free_all(m: Linux612State) -> None:
    # mirrors memblock_free_all() → reset_all_zones_managed_pages() →
    # free_low_memory_core_early() (mm/memblock.c, 6.12); memmap_init_reserved_pages() only
    # marks pages reserved and renumbers reserved regions' nids, which no free range sees
    handoff = m.memblock_bootmem  # predicted by EarlyAllocs612 (boot.py)
    if len(handoff.reserved) > INIT_MEMBLOCK_REGIONS:
        raise InspectorError("a reallocated memblock array at the hand-off is not modelled")
    for zone in m.all_zones():
        zone.managed_pages = 0
        zone.nr_free_pages = 0
        zone.free_area = [[0] * 4 for _ in range(m.geo.max_order)]
    count = 0
    for start, end, _ in for_each_free_mem_range(handoff):
        start_pfn = pfn_up(start, m.geo.page_shift)
        end_pfn = min(pfn_down(end, m.geo.page_shift), m.max_low_pfn)
        if start_pfn >= end_pfn:
            continue
        __free_pages_memory(m, start_pfn, end_pfn)
        m.record_handoff_frame(start_pfn, end_pfn)
        count += end_pfn - start_pfn
    m.totalram_pages += count
