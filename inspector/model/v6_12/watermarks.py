"""init_per_zone_wmark_min() in 6.12 (mm/page_alloc.c), a postcore initcall: min_free_kbytes
(clamped to 128..262144), four watermarks with PROMO, the Movable zone's own minimum, pcp batch
through zone_pcp_update(), and lowmem_reserve that stays 0 for an empty lower zone."""

from __future__ import annotations

from inspector.model import chains
from inspector.model.common import clamp, int_sqrt, mult_frac
from inspector.model.v4_7.alternative import max_cpus
from inspector.model.v4_7.free_area_init import zone_batchsize
from inspector.model.v4_7.state import WATERMARK_SCALE_FACTOR, ZoneState
from inspector.model.v4_7.watermarks import calculate_totalreserve_pages
from inspector.model.v4_7.zonelists import nr_free_zone_pages
from inspector.model.v6_12.state import Linux612State

# sysctl_lowmem_reserve_ratio (mm/page_alloc.c, 6.12): DMA, DMA32, Normal, Movable
LOWMEM_RESERVE_RATIO = {"DMA": 256, "DMA32": 256, "Normal": 32, "Movable": 0}
SWAP_CLUSTER_MAX = 32
MIN_PERCPU_PAGELIST_HIGH_FRACTION = 8


def calculate_min_free_kbytes(m: Linux612State) -> None:
    # mirrors calculate_min_free_kbytes() (mm/page_alloc.c, 6.12): nr_free_buffer_pages() is
    # the managed pages up to ZONE_NORMAL (watermarks still 0)
    counted: list[ZoneState] = []
    lowmem_kbytes = nr_free_zone_pages(m, m.zone_normal, counted) * (m.geo.page_size >> 10)
    m.min_free_kbytes = clamp(int_sqrt(lowmem_kbytes * 16), 128, 262144)
    chains.min_free_kbytes(
        m, counted, 262144, "calculate_min_free_kbytes() (mm/page_alloc.c, 6.12)"
    )


def setup_per_zone_wmarks(m: Linux612State) -> None:
    # mirrors __setup_per_zone_wmarks() and zone_pcp_update() (mm/page_alloc.c, 6.12)
    pages_min = m.min_free_kbytes >> (m.geo.page_shift - 10)
    # ZONE_MOVABLE has its own minimum and is left out of lowmem_pages since change
    # "movable-min-watermark"; before, it was lowmem like the others (no HIGHMEM here)
    movable_own_min = m.has("movable-min-watermark")
    lowmem_zones = [z for z in m.all_zones() if not (movable_own_min and z.idx == m.zone_movable)]
    lowmem = sum(z.managed_pages for z in lowmem_zones)
    for zone in m.all_zones():
        tmp = pages_min * zone.managed_pages // lowmem if lowmem else 0
        if movable_own_min and zone.idx == m.zone_movable:
            wmin = clamp(zone.managed_pages // 1024, SWAP_CLUSTER_MAX, 128)
        else:
            wmin = tmp
        tmp = max(tmp >> 2, mult_frac(zone.managed_pages, WATERMARK_SCALE_FACTOR, 10000))
        # min, low, high and, since change "wmark-promo" (commit c574bbe91703, v5.18), promo
        zone.watermark = [wmin, wmin + tmp, wmin + 2 * tmp]
        if m.has("wmark-promo"):
            zone.watermark.append(wmin + 3 * tmp)
        # zone_pcp_update() → zone_set_pageset_high_and_batch(): since change
        # "pcp-high-autotune" high is auto-tuned at runtime (between high_min and high_max)
        # and batch is fixed here; before, high is zone_highsize() of the low watermark
        batch = max(1, zone_batchsize(m, zone.managed_pages))
        high_min = zone_highsize(m, zone, batch, zone.watermark[1])
        if m.has("pcp-high-autotune"):
            m.pagesets[(zone.node, zone.idx)] = (0, batch)
            high_max = zone.managed_pages // MIN_PERCPU_PAGELIST_HIGH_FRACTION
            m.pcp_high[(zone.node, zone.idx)] = (
                high_min,
                zone_highsize(m, zone, batch, high_max),
            )
        else:
            m.pagesets[(zone.node, zone.idx)] = (high_min, batch)
    chains.watermarks(
        m, lowmem_zones, movable_own_min, "__setup_per_zone_wmarks() (mm/page_alloc.c, 6.12)"
    )
    for zone in m.all_zones():
        _note_pcp(m, zone, m.pagesets[(zone.node, zone.idx)][1])
    calculate_totalreserve_pages(m)


def _note_pcp(m: Linux612State, zone: ZoneState, batch: int) -> None:
    # zone_set_pageset_high_and_batch(): the batch, and zone_highsize()'s high_min and high_max
    p = m.prov
    path = chains.batch(m, zone, zone_batchsize(m, zone.managed_pages), 1 << 20, FN_BATCH)
    pcp_batch = chains.zp(zone, "pcp_batch")
    p.note(pcp_batch, batch, "max(1, batch)", FN_PCP, batch=path)
    online = m.inputs.cpu_to_node_at_zonelists[: max(1, max_cpus(m))]
    nr_split = sum(1 for n in online if n == zone.node) or len(online)
    split = p.given(nr_split, "cpu_to_node_at_zonelists", f"(online CPUs of node {zone.node})")
    if (zone.node, zone.idx) not in m.pcp_high:
        # before change "pcp-high-autotune": high is zone_highsize() of the low watermark
        high = m.pagesets[(zone.node, zone.idx)][0]
        expr = "max(total_pages // nr_split, batch << 2)"
        high_path = chains.zp(zone, "pcp_high")
        p.note(
            high_path,
            high,
            expr,
            FN_HIGH,
            total_pages=chains.zp(zone, "watermark[low]"),
            nr_split=split,
            batch=pcp_batch,
        )
        if zone.present_pages:
            chains.pageset(m, zone, path, high, batch, "pcp_high", FN_PCP, pcp_high=high_path)
        return
    if zone.present_pages:  # the capture reads pagesets of zones with present pages
        chains.pageset(m, zone, path, 0, batch, "0", FN_PCP)
    hmin, hmax = m.pcp_high[(zone.node, zone.idx)]
    # zone_highsize(): high_min from the low watermark, high_max from an eighth of managed
    for field, value, total in (
        ("pcp_high_min", hmin, "watermark[low]"),
        ("pcp_high_max", hmax, "managed_pages"),
    ):
        expr = "max(total_pages // 8 // nr_split, batch << 2)"
        if total.startswith("watermark"):
            expr = "max(total_pages // nr_split, batch << 2)"
        p.note(
            chains.zp(zone, field),
            value,
            expr,
            FN_HIGH,
            total_pages=chains.zp(zone, total),
            nr_split=split,
            batch=pcp_batch,
        )


FN_BATCH = "zone_batchsize() (mm/page_alloc.c, 6.12)"
FN_PCP = "zone_set_pageset_high_and_batch() (mm/page_alloc.c, 6.12)"
FN_HIGH = "zone_highsize() (mm/page_alloc.c, 6.12)"


def zone_highsize(m: Linux612State, zone: ZoneState, batch: int, total_pages: int) -> int:
    # mirrors zone_highsize() (mm/page_alloc.c, 6.12), percpu_pagelist_high_fraction 0: the
    # pages split over the online CPUs of the zone's node (all online CPUs when it has none).
    # By the postcore initcall smp_init() has brought up CPUs 0 .. setup_max_cpus - 1.
    online = m.inputs.cpu_to_node_at_zonelists[: max(1, max_cpus(m))]
    nr_split = sum(1 for n in online if n == zone.node) or len(online)
    return max(total_pages // nr_split, batch << 2)


def setup_per_zone_lowmem_reserve(m: Linux612State) -> None:
    # mirrors setup_per_zone_lowmem_reserve() (mm/page_alloc.c, 6.12)
    for pgdat in m.pgdats.values():
        for zone in pgdat.zones:
            zone.lowmem_reserve = [0] * m.max_nr_zones
        for i, zone in enumerate(pgdat.zones[:-1]):
            ratio = LOWMEM_RESERVE_RATIO.get(zone.name, 0)
            clear = not ratio or not zone.managed_pages
            managed = 0
            for j in range(i + 1, m.max_nr_zones):
                managed += pgdat.zones[j].managed_pages
                zone.lowmem_reserve[j] = 0 if clear else managed // ratio
    ratios = [LOWMEM_RESERVE_RATIO.get(n, 0) for n in m.zone_names]
    fn = "setup_per_zone_lowmem_reserve() (mm/page_alloc.c, 6.12)"
    chains.lowmem_reserve(m, ratios, True, fn)
    calculate_totalreserve_pages(m)


def init_per_zone_wmark_min(m: Linux612State) -> None:
    # mirrors init_per_zone_wmark_min() (mm/page_alloc.c, 6.12)
    calculate_min_free_kbytes(m)
    setup_per_zone_wmarks(m)
    setup_per_zone_lowmem_reserve(m)
