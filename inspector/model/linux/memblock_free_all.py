"""The buddy hand-off: free_all_bootmem() (mm/nobootmem.c, 4.7), memblock_free_all()
(mm/memblock.c) since change "stop-renames" (4.20), frees every free memblock range in the
largest aligned blocks: __free_pages_memory() → __free_pages_boot_core() (4.7; later
memblock_free_pages() → __free_pages_core()) → __free_one_page() (mm/page_alloc.c).

4.7 sends order-0 pages through the boot pageset and puts a block at the head of its list unless
its next-higher buddy is free; since change "fpi-to-tail" (5.10) every block goes to the tail
(FPI_TO_TAIL), so list order is completion order. With pageblock_order == MAX_PAGE_ORDER the
cross-migratetype merge rule (order >= pageblock_order) is never reached."""

from __future__ import annotations

from inspector.errors import InspectorError
from inspector.model.common import ffs0, for_each_free_mem_range, pfn_down, pfn_up
from inspector.model.linux.memmap import page_zone
from inspector.model.linux.state import (
    MIGRATE_MOVABLE,
    MIGRATE_PCPTYPES,
    MIGRATE_TYPES,
    BootState,
    FreeBlock,
)
from inspector.model.memblock import INIT_MEMBLOCK_REGIONS


def reset_all_zones_managed_pages(m: BootState) -> None:
    # mirrors reset_all_zones_managed_pages() (mm/nobootmem.c, 4.7; mm/memblock.c, 6.12)
    for zone in m.all_zones():
        zone.managed_pages = 0
        zone.nr_free_pages = 0
        zone.free_area = [[0] * MIGRATE_TYPES for _ in range(m.geo.max_order)]


def __free_one_page(m: BootState, pfn: int, zone_key: tuple[int, int], order: int, mt: int) -> None:
    """__free_one_page() (mm/page_alloc.c): merge with free buddies of the same order in the same
    zone up to MAX_ORDER-1 (no isolated pageblocks at boot), then onto its list: at the tail
    since change "fpi-to-tail" (FPI_TO_TAIL); before, at the tail only when the buddy of the
    next-higher order is free (it may coalesce soon), else at the head."""
    zone = m.zone(*zone_key)
    zone.nr_free_pages += 1 << order  # __mod_zone_freepage_state(), account_freepages()
    top = m.geo.max_order - 1  # MAX_ORDER - 1, MAX_PAGE_ORDER from 6.8
    while order < top:
        buddy_pfn = pfn ^ (1 << order)
        buddy = m.free_blocks.get(buddy_pfn)
        if buddy is None or buddy.order != order or buddy.zone != zone_key:
            break
        del m.free_blocks[buddy_pfn]
        m.zone(*buddy.zone).free_area[order][buddy.migratetype] -= 1
        pfn &= buddy_pfn
        order += 1
    tail = m.has("fpi-to-tail")
    if not tail and order < m.geo.max_order - 2:  # done_merging:
        combined = (pfn ^ (1 << order)) & pfn
        higher = m.free_blocks.get(combined ^ (1 << (order + 1)))
        tail = higher is not None and higher.order == order + 1 and higher.zone == zone_key
    m.list_seq += 1
    key = m.list_seq if tail else -m.list_seq
    m.free_blocks[pfn] = FreeBlock(order=order, migratetype=mt, zone=zone_key, key=key)
    zone.free_area[order][mt] += 1


def __free_pages_core(m: BootState, pfn: int, order: int) -> None:
    """__free_pages_boot_core() (4.7), __free_pages_core(): the zone's managed pages, then the
    block freed under its pageblock's migratetype. Before change "fpi-to-tail" order 0 goes
    through free_hot_cold_page() into the boot pageset (high 0, batch 1) and straight on to
    free_pcppages_bulk(), which frees a non-pcp migratetype as MOVABLE."""
    zone_key = page_zone(m, pfn)
    m.zone(*zone_key).managed_pages += 1 << order
    mt = m.get_pfnblock_migratetype(pfn)
    if order == 0 and mt >= MIGRATE_PCPTYPES and not m.has("fpi-to-tail"):
        mt = MIGRATE_MOVABLE
    __free_one_page(m, pfn, zone_key, order, mt)


def __free_pages_memory(m: BootState, start: int, end: int, *, late: bool = False) -> None:
    # mirrors __free_pages_memory() (mm/nobootmem.c, 4.7; mm/memblock.c, 6.12): start 0 counts
    # as MAX_PAGE_ORDER; at the hand-off memblock_free_pages() skips a block whose struct pages
    # are deferred (!early_page_initialised(): pfn >= its node's first_deferred_pfn); ``late``:
    # those blocks, freed by deferred_init_memmap()
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
            __free_pages_core(m, start, order)
        start += 1 << order


def deferred_init_memmap(m: BootState) -> None:
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


def memblock_free_all(m: BootState) -> None:
    """free_all_bootmem() (4.7), memblock_free_all() since change "stop-renames":
    reset_all_zones_managed_pages(), then free_low_memory_core_early() over memblock's free
    ranges as the early allocations leave them (``m.memblock_bootmem``).
    reserve_bootmem_region() / memmap_init_reserved_pages() only mark pages reserved (and
    renumber reserved regions' nids), which no free range sees. CONFIG_ARCH_DISCARD_MEMBLOCK
    (x86) also frees reallocated region arrays: there are none while the arrays stay within
    INIT_MEMBLOCK_REGIONS (checked here and at stop 1)."""
    handoff = m.memblock_bootmem
    if len(handoff.reserved) > INIT_MEMBLOCK_REGIONS:
        raise InspectorError("a reallocated memblock array at the hand-off is not modelled")
    reset_all_zones_managed_pages(m)
    m.free_blocks.clear()
    count = 0
    for start, end, _ in for_each_free_mem_range(handoff):
        start_pfn = pfn_up(start, m.geo.page_shift)
        end_pfn = min(pfn_down(end, m.geo.page_shift), m.max_low_pfn)  # __free_memory_core()
        if start_pfn >= end_pfn:
            continue
        __free_pages_memory(m, start_pfn, end_pfn)
        m.record_handoff_frame(start_pfn, end_pfn)
        count += end_pfn - start_pfn
    m.totalram_pages += count
