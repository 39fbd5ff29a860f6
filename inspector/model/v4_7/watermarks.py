"""After the hand-off: per-cpu pagesets (setup_per_cpu_pageset()) and init_per_zone_wmark_min()'s
min_free_kbytes, watermarks, lowmem_reserve and totalreserve_pages (mm/page_alloc.c, 4.7).
"""

from __future__ import annotations

from inspector.model import chains
from inspector.model.common import clamp, int_sqrt, mult_frac
from inspector.model.v4_7.free_area_init import zone_batchsize
from inspector.model.v4_7.state import WATERMARK_SCALE_FACTOR, Linux47State, ZoneState
from inspector.model.v4_7.zonelists import nr_free_zone_pages


def pageset_set_batch(m: Linux47State, batch: int) -> tuple[int, int]:
    # mirrors pageset_set_batch() (mm/page_alloc.c, 4.7): (high, batch)
    return 6 * batch, max(1, batch)


def setup_per_cpu_pageset(m: Linux47State) -> None:
    # mirrors setup_per_cpu_pageset() / zone_pageset_init() (mm/page_alloc.c, 4.7):
    # populated zones get their own pagesets; the rest keep boot_pageset (batch 0)
    for zone in m.all_zones():
        batch = zone_batchsize(m, zone.managed_pages) if zone.populated() else 0
        m.pagesets[(zone.node, zone.idx)] = pageset_set_batch(m, batch)
        if zone.populated():
            fn = "zone_batchsize() (mm/page_alloc.c, 4.7)"
            path = chains.batch(m, zone, batch, 512 * 1024, fn)
            high, pcp_batch = m.pagesets[(zone.node, zone.idx)]
            fn = "pageset_set_batch() (mm/page_alloc.c, 4.7)"
            chains.pageset(m, zone, path, high, pcp_batch, "6 * batch", fn)


def setup_per_zone_wmarks(m: Linux47State) -> None:
    # mirrors __setup_per_zone_wmarks() (mm/page_alloc.c, 4.7), no highmem zones
    pages_min = m.min_free_kbytes >> (m.geo.page_shift - 10)
    lowmem_pages = sum(z.managed_pages for z in m.all_zones())
    for zone in m.all_zones():
        tmp = pages_min * zone.managed_pages // lowmem_pages if lowmem_pages else 0
        wmin = tmp
        tmp = max(tmp >> 2, mult_frac(zone.managed_pages, WATERMARK_SCALE_FACTOR, 10000))
        zone.watermark = [wmin, wmin + tmp, wmin + 2 * tmp]
    chains.watermarks(
        m, list(m.all_zones()), False, "__setup_per_zone_wmarks() (mm/page_alloc.c, 4.7)"
    )
    calculate_totalreserve_pages(m)


def setup_per_zone_lowmem_reserve(m: Linux47State) -> None:
    # mirrors setup_per_zone_lowmem_reserve() (mm/page_alloc.c, 4.7)
    ratio = [max(1, r) for r in m.arch.lowmem_reserve_ratio]
    for pgdat in m.pgdats.values():
        for zone in pgdat.zones:
            zone.lowmem_reserve = [0] * m.max_nr_zones
        for j, zone in enumerate(pgdat.zones):
            managed = zone.managed_pages
            zone.lowmem_reserve[j] = 0
            for idx in range(j - 1, -1, -1):
                lower = pgdat.zones[idx]
                lower.lowmem_reserve[j] = managed // ratio[idx]
                managed += lower.managed_pages
    fn = "setup_per_zone_lowmem_reserve() (mm/page_alloc.c, 4.7)"
    chains.lowmem_reserve(m, ratio, False, fn)
    calculate_totalreserve_pages(m)


def calculate_totalreserve_pages(m: Linux47State) -> None:
    # mirrors calculate_totalreserve_pages() (mm/page_alloc.c, 4.7)
    total = 0
    for zone in m.all_zones():
        reserve = max([0, *zone.lowmem_reserve[zone.idx :]]) if zone.lowmem_reserve else 0
        reserve += zone.watermark[2]
        total += min(reserve, zone.managed_pages)
    m.totalreserve_pages = total


def init_per_zone_wmark_min(m: Linux47State) -> None:
    # mirrors init_per_zone_wmark_min() (mm/page_alloc.c, 4.7); watermarks are still zero, so
    # nr_free_buffer_pages() is the managed pages of zones up to ZONE_NORMAL
    counted: list[ZoneState] = []
    lowmem_kbytes = nr_free_zone_pages(m, m.zone_normal, counted) * (m.geo.page_size >> 10)
    m.min_free_kbytes = clamp(int_sqrt(lowmem_kbytes * 16), 128, 65536)
    chains.min_free_kbytes(m, counted, 65536, "init_per_zone_wmark_min() (mm/page_alloc.c, 4.7)")
    setup_per_zone_wmarks(m)
    setup_per_zone_lowmem_reserve(m)
