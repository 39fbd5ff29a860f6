"""The buddy hand-off: free_all_bootmem() (mm/nobootmem.c, 4.7) frees every free memblock range
through __free_pages_boot_core() and __free_one_page() (mm/page_alloc.c).
"""

from __future__ import annotations

from inspector.model.common import ffs0, for_each_free_mem_range, pfn_down, pfn_up
from inspector.model.v4_7.memmap import page_zone
from inspector.model.v4_7.state import (
    MIGRATE_MOVABLE,
    MIGRATE_PCPTYPES,
    MIGRATE_TYPES,
    ULONG_MASK,
    FreeBlock,
    Linux47State,
)


def reset_all_zones_managed_pages(m: Linux47State) -> None:
    # mirrors reset_all_zones_managed_pages() (mm/nobootmem.c, 4.7)
    for zone in m.all_zones():
        zone.managed_pages = 0
        zone.nr_free_pages = 0
        zone.free_area = [[0] * MIGRATE_TYPES for _ in range(m.geo.max_order)]


def __free_one_page(
    m: Linux47State, pfn: int, zone_key: tuple[int, int], order: int, mt: int
) -> None:
    # mirrors __free_one_page() (mm/page_alloc.c, 4.7): merge with free buddies of the same
    # order in the same zone up to MAX_ORDER-1 (no isolated pageblocks at boot)
    zone = m.zone(*zone_key)
    zone.nr_free_pages += 1 << order  # __mod_zone_freepage_state()
    while order < m.geo.max_order - 1:
        buddy_pfn = pfn ^ (1 << order)
        buddy = m.free_blocks.get(buddy_pfn)
        if buddy is None or buddy.order != order or buddy.zone != zone_key:
            break
        del m.free_blocks[buddy_pfn]
        m.zone(*buddy.zone).free_area[order][buddy.migratetype] -= 1
        pfn &= buddy_pfn
        order += 1
    # done_merging: if the buddy of the next-highest order is free, list_add_tail() (it may
    # coalesce soon), else list_add()
    tail = False
    if order < m.geo.max_order - 2:
        combined = (pfn ^ (1 << order)) & pfn
        higher = m.free_blocks.get(combined ^ (1 << (order + 1)))
        tail = higher is not None and higher.order == order + 1 and higher.zone == zone_key
    m.list_seq += 1
    key = m.list_seq if tail else -m.list_seq
    m.free_blocks[pfn] = FreeBlock(order=order, migratetype=mt, zone=zone_key, key=key)
    zone.free_area[order][mt] += 1


def __free_pages_boot_core(m: Linux47State, pfn: int, order: int) -> None:
    # mirrors __free_pages_boot_core() (mm/page_alloc.c, 4.7) and __free_pages(): order 0 goes
    # through free_hot_cold_page() into the boot pageset (high 0, batch 1) and straight on to
    # free_pcppages_bulk(); higher orders through __free_pages_ok() and free_one_page()
    zone_key = page_zone(m, pfn)
    m.zone(*zone_key).managed_pages += 1 << order
    mt = m.get_pfnblock_migratetype(pfn)
    if order == 0 and mt >= MIGRATE_PCPTYPES:
        mt = MIGRATE_MOVABLE
    __free_one_page(m, pfn, zone_key, order, mt)


def __free_pages_memory(m: Linux47State, start: int, end: int) -> None:
    # mirrors __free_pages_memory() (mm/nobootmem.c, 4.7)
    while start < end:
        order = min(m.geo.max_order - 1, ffs0(start))
        while start + (1 << order) > end:
            order -= 1
        __free_pages_boot_core(m, start, order)
        start += 1 << order


def __free_memory_core(m: Linux47State, start: int, end: int) -> int:
    # mirrors __free_memory_core() (mm/nobootmem.c, 4.7)
    start_pfn = pfn_up(start, m.geo.page_shift)
    end_pfn = min(pfn_down(end, m.geo.page_shift), m.max_low_pfn)
    if start_pfn > end_pfn:
        return 0
    __free_pages_memory(m, start_pfn, end_pfn)
    return end_pfn - start_pfn


def free_low_memory_core_early(m: Linux47State) -> int:
    # mirrors free_low_memory_core_early() (mm/nobootmem.c, 4.7); reserve_bootmem_region()
    # only sets PageReserved, so the reserved list matters through the free ranges alone.
    # CONFIG_ARCH_DISCARD_MEMBLOCK (x86) also frees reallocated region arrays: there are
    # none while the arrays stay within INIT_MEMBLOCK_REGIONS (checked in __init__).
    count = 0
    for start, end, _ in for_each_free_mem_range(m.memblock_bootmem):
        count += __free_memory_core(m, start, end)
        m.record_handoff_frame(pfn_up(start, m.geo.page_shift), pfn_down(end, m.geo.page_shift))
    return count


def free_all_bootmem(m: Linux47State) -> None:
    # mirrors free_all_bootmem() (mm/nobootmem.c, 4.7)
    reset_all_zones_managed_pages(m)
    m.free_blocks.clear()
    m.totalram_pages += free_low_memory_core_early(m)


def mem_init_print_info(m: Linux47State) -> None:
    # mirrors the first numbers of mem_init_print_info() (mm/page_alloc.c, 4.7):
    # nr_free_pages() and get_num_physpages(), right after free_all_bootmem()
    kib = m.geo.page_shift - 10
    free = sum(z.nr_free_pages for z in m.all_zones())
    physpages = sum(p.node_present_pages for p in m.pgdats.values())  # get_num_physpages()
    m.log.append(
        f"Memory: {(free << kib) & ULONG_MASK}K/{(physpages << kib) & ULONG_MASK}K available"
    )
