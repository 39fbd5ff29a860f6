"""The unavailable-ranges stage (inspector.model.unavailable) on a synthetic x86_64 layout, each
count derived by hand: 4 KiB pages, 128 MiB sections (32768 pages), memory [1, 0x9f),
[0x100, 0x3ffe0) and, on a second run, [0x100000, 0x140000) (4–5 GiB), all on node 0."""

from __future__ import annotations

from inspector.model.unavailable import Sections, ZoneSpan, per_node_zone, per_zone, zeroed

SECTION = 1 << 15
LOW = [(1, 0x9F, 0), (0x100, 0x3FFE0, 0)]
HIGH = [*LOW, (0x100000, 0x140000, 0)]
# DMA [1, 0x1000): 158 + 3840 present; DMA32 [0x1000, 0x3ffe0) all present
DMA = ZoneSpan(0, 0, "DMA", 1, 0xFFF, 3998)
DMA32 = ZoneSpan(0, 1, "DMA32", 0x1000, 0x3EFE0, 0x3EFE0)
NORMAL = ZoneSpan(0, 2, "Normal", 0x100000, 0x40000, 0x40000)


def test_the_zeroed_count_and_its_tail():
    """Holes [0, 1) and [0x9f, 0x100): 1 + 97; the tail to max_pfn 0x3ffe0 is empty, to its
    section's end 0x40000 32 more. With 4–5 GiB: the hole [0x3ffe0, 0x100000) counts only its
    first 32 pages (sections 8 to 31 hold no memory, so pfn_valid() is false there)."""
    s = Sections(LOW, SECTION)
    assert zeroed(LOW, 0x3FFE0, s, tail_to_section=False) == [
        "Zeroed struct page in unavailable ranges: 98 pages"
    ]
    assert zeroed(LOW, 0x3FFE0, s, tail_to_section=True) == [
        "Zeroed struct page in unavailable ranges: 130 pages"
    ]
    h = Sections(HIGH, SECTION)
    assert h.spans == [(0, 0x40000), (0x100000, 0x140000)]
    assert zeroed(HIGH, 0x140000, h, tail_to_section=True) == [
        "Zeroed struct page in unavailable ranges: 130 pages"
    ]


def test_the_per_zone_form_counts_each_zones_section_tail():
    """memmap_init_zone(): DMA gets 1 + 97 and its tail [0x1000, 0x8000) = 28672: 28770;
    hole_pfn then falls back to 0x1000 (the first range clamped to DMA32 ends there), so
    DMA32 counts only its own tail, [0x3ffe0, 0x40000): 32."""
    lines = [t for _, t in per_zone(LOW, [DMA, DMA32], Sections(LOW, SECTION))]
    assert lines == [
        "  DMA zone: 28770 pages in unavailable ranges",
        "  DMA32 zone: 32 pages in unavailable ranges",
    ]


def test_the_per_node_zone_form_is_a_line_per_hole():
    """memmap_init(): [0, 1) and [0x9f, 0x100) to DMA, the tail to the last zone (the same
    three lines the 6.12 model prints page by page for this layout); with 4–5 GiB the hole
    [0x3ffe0, 0x100000) goes to Normal, 32 valid pages, and the last range ends on a section."""
    assert per_node_zone(LOW, [DMA, DMA32], Sections(LOW, SECTION)) == [
        "On node 0, zone DMA: 1 pages in unavailable ranges",
        "On node 0, zone DMA: 97 pages in unavailable ranges",
        "On node 0, zone DMA32: 32 pages in unavailable ranges",
    ]
    assert per_node_zone(HIGH, [DMA, DMA32, NORMAL], Sections(HIGH, SECTION))[-1] == (
        "On node 0, zone Normal: 32 pages in unavailable ranges"
    )
