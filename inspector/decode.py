"""Decoding kernel memory, once, for every reader: the gdb capture (``capture/readers/``) and
the drgn live path (``live/``) both hand bytes and layout numbers to these functions.

Each function names the kernel macro or function it re-expresses, with the versions that differ.
"""

from __future__ import annotations

from collections.abc import Mapping

from inspector.kernel_changes import landed
from inspector.release import Release

MASK64 = (1 << 64) - 1

# include/linux/mmzone.h: section_mem_map's low bits (4.7 #defines; 6.12 an enum of bit numbers
# with the same values for these two)
SECTION_MARKED_PRESENT = 1 << 0
SECTION_HAS_MEM_MAP = 1 << 1
SECTION_MAP_LAST_BIT_4_7 = 1 << 2  # 4.7: (1UL<<2); 6.12: BIT(SECTION_MAP_LAST_BIT), from DWARF

MIGRATETYPE_MASK = 7  # include/linux/mmzone.h: (1UL << PB_migratetype_bits) - 1
HPAGE_PMD_ORDER = 9  # 2 MiB pages over 4 KiB ones (x86_64 and arm64 with 4K pages)

# mm/page_alloc.c: the totalram counter, atomic_long_t _totalram_pages since ca79b0c211af (v5.0)
TOTALRAM_SYMBOLS = ("_totalram_pages", "totalram_pages")


def section_mem_map_addr(section_mem_map: int, last_bit: int = SECTION_MAP_LAST_BIT_4_7) -> int:
    """__section_mem_map_addr(): the encoded memmap pointer without the flag bits
    (SECTION_MAP_MASK = ~(SECTION_MAP_LAST_BIT - 1)); with SPARSEMEM_VMEMMAP it is the vmemmap
    base in every section that has a memmap. ``last_bit`` is SECTION_MAP_LAST_BIT as a mask."""
    return section_mem_map & ~(last_bit - 1) & MASK64


# SECTION_MAP_LAST_BIT where it is a #define (absent from DWARF), by first release, as the flags
# before it grew: IS_ONLINE, IS_EARLY, TAINT_ZONE_DEVICE; from 6.1 an enum DWARF gives. Read
# from source trees (4.7.4; public 4.19.1, 5.8.1–5.11, 5.12.9–5.17): 4.19, 5.8 and 5.12 are
# upper bounds of when each bit came.
SECTION_MAP_LAST_BIT_SINCE = (
    ((0, 0), 1 << 2),
    ((4, 19), 1 << 3),
    ((5, 8), 1 << 4),
    ((5, 12), 1 << 5),
)


def section_map_last_bit(release: str) -> int:
    """SECTION_MAP_LAST_BIT as a mask for a kernel whose DWARF does not carry it."""
    rel = Release.parse(release)
    mm = (rel.major, rel.minor)
    return [bit for first, bit in SECTION_MAP_LAST_BIT_SINCE if first <= mm][-1]


def pageblock_order(version: str, nr_orders: int, config: Mapping[str, str]) -> int:
    """pageblock_order (include/linux/pageblock-flags.h) where it is a macro: HUGETLB_PAGE_ORDER
    with CONFIG_HUGETLB_PAGE; since change "pageblock-order-thp" also the PMD order with
    CONFIG_TRANSPARENT_HUGEPAGE; else the largest buddy order (4.7 MAX_ORDER - 1, 6.12
    MAX_PAGE_ORDER). ``nr_orders`` is len(zone->free_area)."""
    top = nr_orders - 1
    huge = config.get("CONFIG_HUGETLB_PAGE") == "y"
    if "pageblock-order-thp" in landed(version):
        huge = huge or config.get("CONFIG_TRANSPARENT_HUGEPAGE") == "y"
    return min(HPAGE_PMD_ORDER, top) if huge else top


def pageblock_migratetype(
    bitmap: bytes,
    pfn: int,
    *,
    pfn_section_shift: int,
    pageblock_order: int,
    nr_pageblock_bits: int,
    migrate_end_bit: int,
    msb_first: bool,
) -> int:
    """get_pfnblock_flags_mask(page, pfn, PB_migrate_end, MIGRATETYPE_MASK) on the pageblock
    bitmap of ``pfn``'s section. 4.7 counts a block's bits from the top of each word
    (``word >> (BITS_PER_LONG - bitidx - 1)`` with bitidx += end_bitidx); 6.12 from the bottom
    (``word >> bitidx``)."""
    bitidx = ((pfn & ((1 << pfn_section_shift) - 1)) >> pageblock_order) * nr_pageblock_bits
    word = int.from_bytes(bitmap[bitidx // 64 * 8 : bitidx // 64 * 8 + 8], "little")
    bitidx &= 63
    if msb_first:
        return (word >> (64 - (bitidx + migrate_end_bit) - 1)) & MIGRATETYPE_MASK
    return (word >> bitidx) & MIGRATETYPE_MASK


def usemap_bytes(pfn_section_shift: int, pageblock_order: int, nr_pageblock_bits: int) -> int:
    """usemap_size() (mm/sparse.c): BITS_TO_LONGS(SECTION_BLOCKFLAGS_BITS) * sizeof(long)."""
    bits = (1 << (pfn_section_shift - pageblock_order)) * nr_pageblock_bits
    return -(-bits // 64) * 8


def page_to_pfn(page: int, mem_map: int, sizeof_page: int) -> int:
    """page_to_pfn() with SPARSEMEM_VMEMMAP: (page - vmemmap) / sizeof(struct page)."""
    return ((page - mem_map) & MASK64) // sizeof_page


def lru_to_pfn(entry: int, mem_map: int, lru_offset: int, sizeof_page: int) -> int:
    """The pfn of the page whose ``->lru`` (a free-list entry) is at ``entry``."""
    return page_to_pfn(entry - lru_offset, mem_map, sizeof_page)
