"""arm64's zone_sizes_init() for CONFIG_NUMA=n (arch/arm64/mm/init.c, 4.7): explicit zone and
hole sizes handed to free_area_init_node().
"""

from __future__ import annotations

from inspector.model.common import memblock_end_of_dram, memblock_start_of_dram, pfn_down, pfn_up
from inspector.model.linux.free_area_init import free_area_init_node
from inspector.model.linux.state import BootState


def zone_sizes_init_nonuma(m: BootState) -> None:
    # mirrors zone_sizes_init() of arch/arm64/mm/init.c (4.7) for CONFIG_NUMA=n: one node,
    # explicit zone sizes and holes handed to free_area_init_node()
    sh = m.geo.page_shift
    lo = pfn_up(memblock_start_of_dram(m.memblock), sh)
    hi = pfn_down(memblock_end_of_dram(m.memblock), sh)
    max_dma = m.inputs.max_zone_pfn[0]
    zone_size = [0] * m.max_nr_zones
    zone_size[0] = max_dma - lo
    zone_size[m.zone_normal] = hi - max_dma
    zhole = list(zone_size)
    for r in m.memblock.memory:
        # memblock_region_memory_base_pfn() rounds up, _end_pfn() rounds down
        start, end = pfn_up(r.base, sh), pfn_down(r.base + r.size, sh)
        if start >= hi:
            continue
        if start < max_dma:
            zhole[0] -= min(end, max_dma) - start
        if end > max_dma:
            zhole[m.zone_normal] -= min(end, hi) - max(start, max_dma)
    free_area_init_node(m, 0, lo, zone_size, zhole)
