"""The /proc parsers on hand-written text in the kernels' formats (mm/vmstat.c)."""

from inspector.procfs import (
    parse_blockcounts,
    parse_buddyinfo,
    parse_pagetypeinfo,
    parse_zoneinfo,
)

ZONEINFO = """Node 0, zone      DMA
  per-node stats
      nr_inactive_anon 7
  pages free     10
        min      1
        low      2
        high     3
        spanned  4095
        present  3998
        managed  3977
        protection: (0, 100, 200, 200)
      nr_free_pages 10
  pagesets
    cpu: 0
              count: 5
              high:  6
              batch: 1
  vm stats threshold: 2
    cpu: 1
              count: 0
              high:  6
              batch: 1
  node_unreclaimable:  0
  start_pfn:           1
Node 1, zone   Normal
  pages free     0
        spanned  0
        present  0
"""


def test_zoneinfo():
    dma, normal = parse_zoneinfo(ZONEINFO)
    assert (dma.node, dma.name, normal.node, normal.name) == (0, "DMA", 1, "Normal")
    assert dma.get("spanned") == 4095 and dma.get("present") == 3998
    assert dma.get("managed") == 3977 and dma.get("free") == 10 and dma.get("min") == 1
    assert dma.protection == (0, 100, 200, 200)
    assert dma.pagesets == [
        {"cpu": 0, "count": 5, "high": 6, "batch": 1},
        {"cpu": 1, "count": 0, "high": 6, "batch": 1},
    ]
    assert dma.get("start_pfn") == 1
    assert normal.get("present") == 0 and normal.pagesets == []


def test_buddyinfo_and_pagetypeinfo():
    assert parse_buddyinfo("Node 0, zone      DMA      1      2      3 \n") == {
        (0, "DMA"): [1, 2, 3]
    }
    text = (
        "Page block order: 10\nPages per block:  1024\n\n"
        "Free pages count per migrate type at order       0      1\n"
        "Node    0, zone      DMA, type    Unmovable      1      0\n"
        "Node    0, zone      DMA, type      Movable      4      2\n\n"
        "Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic\n"
        "Node 0, zone      DMA            1            3            0            0\n"
    )
    assert parse_pagetypeinfo(text) == {
        (0, "DMA", "Unmovable"): [1, 0],
        (0, "DMA", "Movable"): [4, 2],
    }
    assert parse_blockcounts(text) == {(0, "DMA"): [1, 3, 0, 0]}
