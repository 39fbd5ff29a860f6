"""After the hand-off: the per-cpu pagesets and init_per_zone_wmark_min()'s min_free_kbytes,
watermarks, lowmem_reserve and totalreserve_pages (mm/page_alloc.c), at the release the state
runs. 4.7's setup_per_cpu_pageset() gives each populated zone high = 6 · batch; since change
"pcp-high-from-low-wmark" __setup_per_zone_wmarks() ends in zone_pcp_update(), high sized from
the low watermark (zone_highsize()), and since change "pcp-high-autotune" (6.7) tuned at run
time between pcp_high_min and pcp_high_max."""

from __future__ import annotations

from typing import Any

from inspector.model import chains
from inspector.model.chains import gp, zp
from inspector.model.linux.alternative import max_cpus
from inspector.model.linux.free_area_init import BATCH_EXPR, zone_batchsize
from inspector.model.linux.state import WATERMARK_SCALE_FACTOR, BootState, ZoneState
from inspector.model.linux.zonelists import nr_free_zone_pages
from inspector.model.provenance import Given

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
        if not zone.populated():
            m.pagesets[(zone.node, zone.idx)] = pageset_set_batch(0)
            continue
        path = batch_chain(m, zone)
        m.pagesets[(zone.node, zone.idx)] = pageset_set_batch(m.prov.chains[path].value)
        high, pcp_batch = m.pagesets[(zone.node, zone.idx)]
        chains.pageset(m, zone, path, high, pcp_batch, "6 * batch", m.cite("pageset_set_batch()"))


def batch_chain(m: BootState, zone: ZoneState) -> str:
    """zone_batchsize() of the zone's managed pages, computed by its chain (BATCH_EXPR, the
    cap by change "pcp-batch-cap"); returns the chain's path."""
    path = zp(zone, "batch")
    m.prov.derive(
        path,
        BATCH_EXPR,
        m.cite("zone_batchsize()"),
        managed_pages=zp(zone, "managed_pages"),
        cap=m.pcp_batch_cap(),
        PAGE_SIZE=m.prov.given(m.geo.page_size, "page_size"),
    )
    return path


def calculate_min_free_kbytes(m: BootState) -> None:
    """init_per_zone_wmark_min()'s start (4.7), calculate_min_free_kbytes(): from
    nr_free_buffer_pages(), the managed pages (less a high watermark still 0) of the zones up to
    ZONE_NORMAL in the boot CPU's node's fallback zonelist; clamped to 128..65536, 128..262144
    since change "min-free-kbytes-bound" (5.7). Each value computed by its chain."""
    p = m.prov
    counted: list[ZoneState] = []
    nr_free_zone_pages(m, m.zone_normal, counted)
    upper = 262144 if m.has("min-free-kbytes-bound") else 65536
    fn = m.cite(
        "calculate_min_free_kbytes()"
        if m.has("min-free-kbytes-bound")
        else "init_per_zone_wmark_min()"
    )
    terms = {f"managed_{z.node}_{z.name}": zp(z, "managed_pages") for z in counted}
    buf = gp("nr_free_buffer_pages()")
    p.derive(
        buf,
        " + ".join(terms) or "0",
        "nr_free_zone_pages(gfp_zone(GFP_USER)) (mm/page_alloc.c)",
        note="the boot CPU's node's fallback zonelist, zones up to Normal",
        **terms,
    )
    kb = gp("lowmem_kbytes")
    p.derive(
        kb,
        "nr_free_buffer_pages * (PAGE_SIZE >> 10)",
        fn,
        nr_free_buffer_pages=buf,
        PAGE_SIZE=p.given(m.geo.page_size, "page_size"),
    )
    m.min_free_kbytes = p.derive(
        gp("min_free_kbytes"),
        f"clamp(int_sqrt(lowmem_kbytes * 16), 128, {upper})",
        fn,
        lowmem_kbytes=kb,
    )


def setup_per_zone_wmarks(m: BootState) -> None:
    """__setup_per_zone_wmarks() and zone_pcp_update() (mm/page_alloc.c), no HIGHMEM: min is the
    zone's share of min_free_kbytes by managed pages (ZONE_MOVABLE its own clamp and left out of
    lowmem_pages since change "movable-min-watermark"), low/high (and promo since change
    "wmark-promo", commit c574bbe91703, v5.18) step up by the larger of a quarter of it and
    watermark_scale_factor per 10000 of managed pages. Each value computed by its chain."""
    p = m.prov
    fn = m.cite("__setup_per_zone_wmarks()")
    movable_own_min = m.has("movable-min-watermark")
    lowmem = [z for z in m.all_zones() if not (movable_own_min and z.idx == m.zone_movable)]
    terms = {f"managed_{z.node}_{z.name}": zp(z, "managed_pages") for z in lowmem}
    lp = gp("lowmem_pages")
    p.derive(lp, " + ".join(terms) or "0", fn, **terms)
    pm = gp("pages_min")
    p.derive(
        pm,
        "min_free_kbytes >> (PAGE_SHIFT - 10)",
        fn,
        min_free_kbytes=gp("min_free_kbytes"),
        PAGE_SHIFT=p.given(m.geo.page_shift, "page_size", "(its log2)"),
    )
    share = "(pages_min * managed_pages // lowmem_pages if lowmem_pages else 0)"
    names = ("low", "high", "3") if m.has("wmark-promo") else ("low", "high")
    pcp_in_wmarks = m.has("pcp-high-from-low-wmark")
    for zone in m.all_zones():
        ops: dict[str, Any] = {
            "pages_min": pm,
            "managed_pages": zp(zone, "managed_pages"),
            "lowmem_pages": lp,
        }
        wmin = zp(zone, "watermark[min]")
        if movable_own_min and zone.idx == m.zone_movable:
            expr = f"clamp(managed_pages // 1024, {SWAP_CLUSTER_MAX}, 128)"
            p.derive(wmin, expr, fn, managed_pages=zp(zone, "managed_pages"))
        else:
            p.derive(wmin, share, fn, **ops)
        step = zp(zone, "watermark_step")
        p.derive(
            step,
            f"max({share} >> 2, mult_frac(managed_pages, watermark_scale_factor, 10000))",
            fn,
            watermark_scale_factor=WATERMARK_SCALE_FACTOR,
            **ops,
        )
        for i, name in enumerate(names, start=1):
            p.derive(
                zp(zone, f"watermark[{name}]"),
                f"wmark_min + {i} * step",
                fn,
                wmark_min=wmin,
                step=step,
            )
        zone.watermark = [p.chains[zp(zone, f"watermark[{n}]")].value for n in ("min", *names)]
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
    if pcp_in_wmarks:
        for zone in m.all_zones():
            _note_pcp(m, zone, m.pagesets[(zone.node, zone.idx)][1])
    calculate_totalreserve_pages(m)


def _note_pcp(m: BootState, zone: ZoneState, batch: int) -> None:
    # zone_set_pageset_high_and_batch(): the batch, and zone_highsize()'s high_min and high_max
    p = m.prov
    fn_pcp = m.cite("zone_set_pageset_high_and_batch()")
    fn_high = m.cite("zone_highsize()")
    path = batch_chain(m, zone)
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
    """setup_per_zone_lowmem_reserve() (mm/page_alloc.c): zone i keeps back, against
    allocations that may use zone j above it, the managed pages of zones i+1..j over zone i's
    ratio; since change "lowmem-reserve-empty-zone" (5.8) 0 for a zone with no managed pages or
    a ratio of 0 (before, a ratio of 0 counted as 1). Each value computed by its chain."""
    p = m.prov
    fn = m.cite("setup_per_zone_lowmem_reserve()")
    clear_empty = m.has("lowmem-reserve-empty-zone")
    for pgdat in m.pgdats.values():
        for i, zone in enumerate(pgdat.zones):
            ratio = LOWMEM_RESERVE_RATIO.get(zone.name, 0)
            if not clear_empty:
                ratio = max(1, ratio)
            reserve = []
            for j, above in enumerate(pgdat.zones):
                path = zp(zone, f"lowmem_reserve[{above.name}]")
                if j <= i:
                    note = "no reserve against the zone itself or below"
                    reserve.append(p.derive(path, "0", fn, note=note))
                elif clear_empty and (not ratio or not zone.managed_pages):
                    reserve.append(
                        p.derive(
                            path,
                            "0",
                            fn,
                            note="ratio 0 or no managed pages in this zone",
                            ratio=ratio,
                            managed_pages=zp(zone, "managed_pages"),
                        )
                    )
                else:
                    terms = {
                        f"managed_{x.name}": zp(x, "managed_pages")
                        for x in pgdat.zones[i + 1 : j + 1]
                    }
                    source = f"sysctl_lowmem_reserve_ratio[{zone.name}] (mm/page_alloc.c)"
                    reserve.append(
                        p.derive(
                            path,
                            f"({' + '.join(terms)}) // ratio",
                            fn,
                            ratio=Given(ratio, source),
                            **terms,
                        )
                    )
            zone.lowmem_reserve = reserve
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
