"""The one decoder of kernel memory (inspector.decode), on bytes built by the kernel's rules."""

from __future__ import annotations

from inspector import decode


def _bitmap(words: list[int]) -> bytes:
    return b"".join(w.to_bytes(8, "little") for w in words)


def test_pageblock_migratetype_4_7_counts_bits_from_the_top_of_the_word():
    # 4 bits per block (NR_PAGEBLOCK_BITS), PB_migrate_end 2: block k's migratetype is bits
    # [63 - 4k - 2, 63 - 4k] read as (word >> (64 - (4k + 2) - 1)) & 7
    word = (1 << 61) | (2 << (64 - (4 + 2) - 1))  # block 0 Movable (1), block 1 Reclaimable (2)
    kw = {"pfn_section_shift": 15, "pageblock_order": 10, "nr_pageblock_bits": 4}
    bitmap = _bitmap([word])
    assert decode.pageblock_migratetype(bitmap, 0, migrate_end_bit=2, msb_first=True, **kw) == 1
    assert decode.pageblock_migratetype(bitmap, 1024, migrate_end_bit=2, msb_first=True, **kw) == 2
    # the same pfns in the next section wrap to the same blocks
    assert (
        decode.pageblock_migratetype(
            bitmap, (1 << 15) + 1024, migrate_end_bit=2, msb_first=True, **kw
        )
        == 2
    )


def test_pageblock_migratetype_6_12_counts_bits_from_the_bottom():
    word = 1 | (2 << 4)
    kw = {"pfn_section_shift": 15, "pageblock_order": 9, "nr_pageblock_bits": 4}
    bitmap = _bitmap([word, 3 << 4])  # block 17 (second word, 16 blocks per word) HighAtomic
    assert decode.pageblock_migratetype(bitmap, 0, migrate_end_bit=2, msb_first=False, **kw) == 1
    assert decode.pageblock_migratetype(bitmap, 512, migrate_end_bit=2, msb_first=False, **kw) == 2
    assert (
        decode.pageblock_migratetype(bitmap, 17 * 512, migrate_end_bit=2, msb_first=False, **kw)
        == 3
    )


def test_pageblock_order_looks_at_thp_only_on_6_12():
    thp = {"CONFIG_TRANSPARENT_HUGEPAGE": "y"}
    assert decode.pageblock_order("4.7", 11, thp) == 10
    assert decode.pageblock_order("6.12", 11, thp) == 9
    assert decode.pageblock_order("4.7", 11, {"CONFIG_HUGETLB_PAGE": "y"}) == 9
    assert decode.pageblock_order("6.12", 11, {}) == 10


def test_section_mem_map_and_pfns():
    vmemmap = 0xFFFFEA0000000000
    encoded = vmemmap | decode.SECTION_HAS_MEM_MAP | decode.SECTION_MARKED_PRESENT
    assert decode.section_mem_map_addr(encoded) == vmemmap
    page = vmemmap + 1234 * 64
    assert decode.page_to_pfn(page, vmemmap, 64) == 1234
    assert decode.lru_to_pfn(page + 8, vmemmap, 8, 64) == 1234
    assert decode.usemap_bytes(15, 10, 4) == 16  # 32 blocks × 4 bits: two longs


def test_section_map_last_bit_follows_the_release_where_dwarf_lacks_it():
    """SECTION_MAP_LAST_BIT as each release's include/linux/mmzone.h #defines it: (1UL<<2) in
    4.7, (1UL<<3) in 4.19, (1UL<<4) in 5.8-5.11, (1UL<<5) in 5.12-5.17 (an enum from 6.1)."""
    assert decode.section_map_last_bit("4.7.4-casio-testing") == 1 << 2
    assert decode.section_map_last_bit("4.19.0-21-amd64") == 1 << 3
    assert decode.section_map_last_bit("5.11.0") == 1 << 4
    assert decode.section_map_last_bit("5.15.0") == 1 << 5
    # a memmap pointer with IS_EARLY (bit 3) set decodes to a struct page boundary only with
    # the release's mask
    encoded = 0xFFFFEA0000000000 | (1 << 3) | 1
    assert decode.section_mem_map_addr(encoded, decode.section_map_last_bit("5.15.0")) % 64 == 0
