"""The 6.12 model on synthetic layouts, each expected value derived here from the 6.12 rules
(mm/mm_init.c, mm/page_alloc.c); real 6.12 kernels judge it in tests/test_validate.py."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from inspector.model.inputs import synthetic_inputs
from inspector.model.linux import Linux
from inspector.schema import Inputs, Memblock, MemblockRegion

ZONES = ["DMA", "DMA32", "Normal", "Movable"]


def region(start_pfn: int, end_pfn: int, nid: int = 0) -> MemblockRegion:
    return MemblockRegion(start_pfn << 12, (end_pfn - start_pfn) << 12, nid)


def boot(
    memory: list[MemblockRegion], cmdline: str = "", nodes: int = 1, release: str = "6.12"
) -> Linux:
    end = max((r.base + r.size) >> 12 for r in memory)
    inp = Inputs(
        max_zone_pfn=[4096, min(end, 1 << 20), end, 0],
        zone_names=ZONES,
        memblock=Memblock(memory=memory, reserved=[]),
        node_distance=[[10 if a == b else 20 for b in range(nodes)] for a in range(nodes)],
        cpu_to_node=list(range(nodes)),
        online_nodes=list(range(nodes)),
        cmdline=cmdline,
        constants={"memblock.current_limit": end << 12},
    )
    model = Linux(replace(synthetic_inputs(inp, "x86_64", version="6.12"), release=release))
    model.run()
    return model


def test_movablecore_percent_is_a_share_of_all_pages():
    # 2 GiB from pfn 256: totalpages 524032; 25% = 131008, rounded up to MAX_ORDER_NR_PAGES
    # (1024) = 131072; kernelcore = total - movable, spread from DMA32's start
    m = boot([region(256, 524288)], "movablecore=25%")
    assert m.required_movablecore == 131072
    zmp = m.zone_movable_pfn[0]
    assert zmp == 524288 - 131072  # the kernel part ends there, already 1024-aligned
    dma32 = m.pgdats[0].zones[1]
    movable = m.pgdats[0].zones[3]
    # 6.12 clips the straddling zone at zone_movable_pfn (4.7 left DMA32 spanning it)
    assert dma32.zone_start_pfn + dma32.spanned_pages == zmp
    assert (movable.zone_start_pfn, movable.spanned_pages) == (zmp, 131072)


def test_holes_go_to_the_zone_above_and_are_logged():
    # x86-like: [1, 159) and [256, 65536): the hole [0, 1) and [159, 256) are DMA's; the
    # trailing part up to the section end (pfn 32768 per 128 MiB section) goes to DMA32
    m = boot([region(1, 159), region(256, 65504)])
    lines = [x for x in m.log if "unavailable ranges" in x]
    assert lines == [
        "On node 0, zone DMA: 1 pages in unavailable ranges",
        "On node 0, zone DMA: 97 pages in unavailable ranges",
        "On node 0, zone DMA32: 32 pages in unavailable ranges",
    ]
    # pageblocks are MOVABLE only where memblock.memory has the aligned pfn
    pb = m.snapshots["memmap_init_range"].nodes[0].zones[0].pageblock_migratetypes
    assert pb is not None and pb[0] == 0  # the block at pfn 0 starts in a hole
    assert all(x == 1 for x in pb[1:])


def test_zonelists_are_in_node_order_with_the_6_12_load_rule():
    # three nodes at distance 20: node 0 then 1, 2 by id (n < node adds 1 for lower ids only)
    mem = [region(256, 65536, 0), region(65536, 131072, 1), region(131072, 196608, 2)]
    m = boot(mem, nodes=3)
    fallback = [z for z in m.zonelists if z.kind == "fallback"]
    order = {z.node: list(dict.fromkeys(n for n, _ in z.zones)) for z in fallback}
    assert order[0] == [0, 1, 2]
    # from node 2: both others are lower, each +1; node_load then breaks the tie toward 0
    assert order[2][0] == 2
    assert any(line.startswith("Fallback order for Node 2: 2 ") for line in m.log)
    assert any(line.startswith("Built 3 zonelists, mobility grouping on.") for line in m.log)


def test_watermarks_have_promo_and_an_empty_movable_zone_its_own_minimum():
    m = boot([region(256, 262144)])  # 1 GiB from 1 MiB: DMA and DMA32
    wm = m.snapshots["init_per_zone_wmark_min"]
    zones = {z.name: z for z in wm.nodes[0].zones}
    # lowmem excludes ZONE_MOVABLE; min_free_kbytes = int_sqrt(managed KiB * 16)
    managed = sum(z.managed_pages for z in zones.values() if z.name != "Movable")
    kib = managed * 4
    assert wm.globals["min_free_kbytes"] == max(128, min(262144, _isqrt(kib * 16)))
    dma32 = zones["DMA32"]
    assert dma32.watermark is not None and len(dma32.watermark) == 4  # MIN, LOW, HIGH, PROMO
    wmin, low, high, promo = dma32.watermark
    assert low - wmin == high - low == promo - high > 0
    # an empty Movable zone: clamp(0 / 1024, SWAP_CLUSTER_MAX, 128) and no spread
    assert zones["Movable"].watermark == [32, 32, 32, 32]
    # lowmem_reserve stays 0 for a zone with no managed pages (4.7 filled it)
    assert zones["Normal"].lowmem_reserve == [0, 0, 0, 0]
    assert zones["DMA"].lowmem_reserve == [0] + [dma32.managed_pages // 256] * 3


def _isqrt(x: int) -> int:
    import math

    return math.isqrt(x)


def test_one_model_runs_each_release_with_the_changes_it_has():
    """The same layout at 5.15 and at 6.12: one model, whose branches ask the change records.
    2 GiB from pfn 256: ZONE_DMA spans and holds pfn [256, 4096), 3840 pages, whose memmap is
    3840 · 64 B = 60 pages. At build_all_zonelists() its managed pages are present less that
    estimate and dma_reserve before 6.10 (change "managed-equals-present"), the present pages
    from 6.10. A zone has three watermarks before 5.18 (change "wmark-promo"), then four; the
    "Fallback order" line is printed from 5.16 (change "fallback-order-printed")."""
    old = boot([region(256, 524288)], release="5.15.0")
    new = boot([region(256, 524288)], release="6.12.0")

    def dma(m: Linux) -> Any:
        return m.snapshots["build_all_zonelists"].nodes[0].zones[0]

    assert dma(old).present_pages == dma(new).present_pages == 3840
    assert old.pgdats[0].zones[0].memmap_pages == 3840 * 64 // 4096 == 60
    assert dma(old).managed_pages == 3840 - 60 - old.dma_reserve
    assert dma(new).managed_pages == 3840
    assert len(old.pgdats[0].zones[0].watermark) == 3
    assert len(new.pgdats[0].zones[0].watermark) == 4
    assert not any(x.startswith("Fallback order") for x in old.log)
    assert any(x.startswith("Fallback order") for x in new.log)


def test_deferred_struct_pages_are_freed_at_their_own_stop():
    """CONFIG_DEFERRED_STRUCT_PAGE_INIT on 2 GiB from pfn 256, one node: DMA32 [4096, 524288) is
    the node's last zone, so defer_init() (mm/mm_init.c) counts its pfns from 4096 and defers
    at the first section boundary (32768 pages) after more than a section was initialised:
    pfn 4096 + 32768 = 36864 is not aligned, the next boundary is 65536. The hand-off frees
    nothing from there; at page_alloc_init_late's stop the zone's managed pages have grown by
    the hand-off's free memblock pages above 65536, most of them in MOVABLE blocks."""
    from inspector.model.common import for_each_free_mem_range
    from inspector.model.linux.snapshot import ULONG_MAX
    from inspector.registry import Role, stop_name

    BOOTMEM, DEFERRED, WMARKS, ZONELISTS = (
        stop_name("6.12", r) for r in (Role.BUDDY, Role.DEFERRED, Role.WMARKS, Role.ZONELISTS)
    )

    memory = [region(256, 524288)]
    plain = boot(memory)
    assert DEFERRED not in plain.snapshots
    assert plain.snapshots[BOOTMEM].nodes[0].first_deferred_pfn is None

    end = 524288
    inp = Inputs(
        max_zone_pfn=[4096, end, end, 0],
        zone_names=ZONES,
        memblock=Memblock(memory=memory, reserved=[]),
        node_distance=[[10]],
        cpu_to_node=[0],
        online_nodes=[0],
        constants={"memblock.current_limit": end << 12},
    )
    m = Linux(
        replace(
            synthetic_inputs(inp, "x86_64", version="6.12"), config_deferred_struct_page_init=True
        )
    )
    snaps = m.run()
    first = 65536
    for stop, want in (
        (ZONELISTS, first),
        (BOOTMEM, first),
        (DEFERRED, ULONG_MAX),
        (WMARKS, ULONG_MAX),
    ):
        assert snaps[stop].nodes[0].first_deferred_pfn == want, stop
    dma32 = {s: snaps[s].nodes[0].zones[1] for s in (BOOTMEM, DEFERRED)}
    assert all(
        pfn < first
        for fa in dma32[BOOTMEM].free_area or []
        for pfns in fa.blocks or []
        for pfn in pfns
    )
    # every free pfn at or above 65536 lies in a pageblock deferred_init_memmap() made MOVABLE
    # unless the pageblock's first pfn is reserved; the MOVABLE blocks' pages are at most those
    movable = dma32[DEFERRED].deferred_movable_nr_free or []
    in_movable = sum(n << order for order, n in enumerate(movable))
    above = sum(
        max(0, min(e >> 12, end) - max(-(-s >> 12), first))
        for s, e, _ in for_each_free_mem_range(m.memblock_bootmem)
    )
    managed = {s: dma32[s].managed_pages or 0 for s in (BOOTMEM, DEFERRED)}
    assert managed[DEFERRED] - managed[BOOTMEM] == above >= in_movable > above // 2
