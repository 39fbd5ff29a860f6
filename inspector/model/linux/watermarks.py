"""After the hand-off: the per-cpu pagesets and init_per_zone_wmark_min()'s min_free_kbytes,
watermarks, lowmem_reserve and totalreserve_pages (mm/page_alloc.c), at the release the state
runs. 4.7's setup_per_cpu_pageset() gives each populated zone high = 6 · batch; since change
"pcp-high-from-low-wmark" __setup_per_zone_wmarks() ends in zone_pcp_update(), high sized from
the low watermark (zone_highsize()), and since change "pcp-high-autotune" (6.7) tuned at run
time between pcp_high_min and pcp_high_max."""

from __future__ import annotations

from inspector.model import chains
from inspector.model.common import clamp, int_sqrt, mult_frac
from inspector.model.linux.alternative import max_cpus
from inspector.model.linux.free_area_init import zone_batchsize
from inspector.model.linux.state import WATERMARK_SCALE_FACTOR, BootState, ZoneState
from inspector.model.linux.zonelists import nr_free_zone_pages

# sysctl_lowmem_reserve_ratio (mm/page_alloc.c): DMA, DMA32, Normal (4.7 and 6.12 alike),
# Movable (0 from 6.x; 4.7 has no entry, ZONE_MOVABLE being the top zone)
LOWMEM_RESERVE_RATIO = {"DMA": 256, "DMA32": 256, "Normal": 32, "Movable": 0}
SWAP_CLUSTER_MAX = 32
MIN_PERCPU_PAGELIST_HIGH_FRACTION = 8


def pageset_set_batch(batch: int) -> tuple[int, int]:
    # mirrors pageset_set_batch() (mm/page_alloc.c, 4.7): (high, batch)
    return 6 * batch, max(1, batch)


def setup_per_cpu_pageset(m: BootState) -> None:
    """setup_per_cpu_pageset() / zone_pageset_init() (mm/page_alloc.c, 4.7), before change
    "pcp-high-from-low-wmark": populated zones get their own pagesets; the rest keep
    boot_pageset (batch 0)."""
    for zone in m.all_zones():
        batch = zone_batchsize(m, zone.managed_pages) if zone.populated() else 0
        m.pagesets[(zone.node, zone.idx)] = pageset_set_batch(batch)
        if zone.populated():
            fn = m.cite("zone_batchsize()")
            path = chains.batch(m, zone, batch, m.pcp_batch_cap(), fn)
            high, pcp_batch = m.pagesets[(zone.node, zone.idx)]
            fn = m.cite("pageset_set_batch()")
            chains.pageset(m, zone, path, high, pcp_batch, "6 * batch", fn)


def calculate_min_free_kbytes(m: BootState) -> None:
    # mirrors init_per_zone_wmark_min()'s start (4.7), calculate_min_free_kbytes() (6.12):
    # nr_free_buffer_pages() is the managed pages up to ZONE_NORMAL (watermarks still 0);
    # clamped to 128..65536, 128..262144 since change "min-free-kbytes-bound" (5.7)
    counted: list[ZoneState] = []
    lowmem_kbytes = nr_free_zone_pages(m, m.zone_normal, counted) * (m.geo.page_size >> 10)
    upper = 262144 if m.has("min-free-kbytes-bound") else 65536
    m.min_free_kbytes = clamp(int_sqrt(lowmem_kbytes * 16), 128, upper)
    fn = "calculate_min_free_kbytes()" if m.has("min-free-kbytes-bound") else ""
    chains.min_free_kbytes(m, counted, upper, m.cite(fn or "init_per_zone_wmark_min()"))


def setup_per_zone_wmarks(m: BootState) -> None:
    # mirrors __setup_per_zone_wmarks() and zone_pcp_update() (mm/page_alloc.c), no HIGHMEM
    pages_min = m.min_free_kbytes >> (m.geo.page_shift - 10)
    # ZONE_MOVABLE has its own minimum and is left out of lowmem_pages since change
    # "movable-min-watermark"; before, it was lowmem like the others
    movable_own_min = m.has("movable-min-watermark")
    lowmem_zones = [z for z in m.all_zones() if not (movable_own_min and z.idx == m.zone_movable)]
    lowmem = sum(z.managed_pages for z in lowmem_zones)
    pcp_in_wmarks = m.has("pcp-high-from-low-wmark")
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
        if not pcp_in_wmarks:
            continue
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
    chains.watermarks(m, lowmem_zones, movable_own_min, m.cite("__setup_per_zone_wmarks()"))
    if pcp_in_wmarks:
        for zone in m.all_zones():
            _note_pcp(m, zone, m.pagesets[(zone.node, zone.idx)][1])
    calculate_totalreserve_pages(m)


def _note_pcp(m: BootState, zone: ZoneState, batch: int) -> None:
    # zone_set_pageset_high_and_batch(): the batch, and zone_highsize()'s high_min and high_max
    p = m.prov
    fn_batch = m.cite("zone_batchsize()")
    fn_pcp = m.cite("zone_set_pageset_high_and_batch()")
    fn_high = m.cite("zone_highsize()")
    path = chains.batch(m, zone, zone_batchsize(m, zone.managed_pages), m.pcp_batch_cap(), fn_batch)
    pcp_batch = chains.zp(zone, "pcp_batch")
    p.note(pcp_batch, batch, "max(1, batch)", fn_pcp, batch=path)
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
            fn_high,
            total_pages=chains.zp(zone, "watermark[low]"),
            nr_split=split,
            batch=pcp_batch,
        )
        if zone.present_pages:
            chains.pageset(m, zone, path, high, batch, "pcp_high", fn_pcp, pcp_high=high_path)
        return
    if zone.present_pages:  # the capture reads pagesets of zones with present pages
        chains.pageset(m, zone, path, 0, batch, "0", fn_pcp)
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
            fn_high,
            total_pages=chains.zp(zone, total),
            nr_split=split,
            batch=pcp_batch,
        )


def zone_highsize(m: BootState, zone: ZoneState, batch: int, total_pages: int) -> int:
    # mirrors zone_highsize() (mm/page_alloc.c, 6.12), percpu_pagelist_high_fraction 0: the
    # pages split over the online CPUs of the zone's node (all online CPUs when it has none).
    # By the postcore initcall smp_init() has brought up CPUs 0 .. setup_max_cpus - 1.
    online = m.inputs.cpu_to_node_at_zonelists[: max(1, max_cpus(m))]
    nr_split = sum(1 for n in online if n == zone.node) or len(online)
    return max(total_pages // nr_split, batch << 2)


def setup_per_zone_lowmem_reserve(m: BootState) -> None:
    """setup_per_zone_lowmem_reserve() (mm/page_alloc.c): each lower zone's reserve against
    the managed pages above it, by its ratio; since change "lowmem-reserve-empty-zone" (5.8)
    0 for a zone with no managed pages or a ratio of 0 (before, a ratio of 0 counted as 1)."""
    clear_empty = m.has("lowmem-reserve-empty-zone")
    for pgdat in m.pgdats.values():
        for zone in pgdat.zones:
            zone.lowmem_reserve = [0] * m.max_nr_zones
        for i, zone in enumerate(pgdat.zones[:-1]):
            ratio = LOWMEM_RESERVE_RATIO.get(zone.name, 0)
            clear = clear_empty and (not ratio or not zone.managed_pages)
            managed = 0
            for j in range(i + 1, m.max_nr_zones):
                managed += pgdat.zones[j].managed_pages
                zone.lowmem_reserve[j] = 0 if clear else managed // max(1, ratio)
    ratios = [LOWMEM_RESERVE_RATIO.get(n, 0) for n in m.zone_names]
    if not clear_empty:
        ratios = [max(1, r) for r in ratios]
    chains.lowmem_reserve(m, ratios, clear_empty, m.cite("setup_per_zone_lowmem_reserve()"))
    calculate_totalreserve_pages(m)


def calculate_totalreserve_pages(m: BootState) -> None:
    # mirrors calculate_totalreserve_pages() (mm/page_alloc.c)
    total = 0
    for zone in m.all_zones():
        reserve = max([0, *zone.lowmem_reserve[zone.idx :]]) if zone.lowmem_reserve else 0
        reserve += zone.watermark[2]
        total += min(reserve, zone.managed_pages)
    m.totalreserve_pages = total


def init_per_zone_wmark_min(m: BootState) -> None:
    # mirrors init_per_zone_wmark_min() (mm/page_alloc.c)
    calculate_min_free_kbytes(m)
    setup_per_zone_wmarks(m)
    setup_per_zone_lowmem_reserve(m)
