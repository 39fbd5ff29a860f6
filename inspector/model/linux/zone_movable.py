"""ZONE_MOVABLE's place on each node: kernelcore= and movablecore= (cmdline_parse_kernelcore(),
cmdline_parse_movablecore()), find_zone_movable_pfns_for_nodes() and
adjust_zone_range_for_zone_movable() (mm/page_alloc.c; mm/mm_init.c from 6.4), at the release
the state runs.
"""

from __future__ import annotations

from inspector.model.common import (
    MEMBLOCK_MIRROR,
    early_params,
    for_each_mem_pfn_range,
    memparse,
    pfn_up,
    roundup,
    simple_strtoull,
)
from inspector.model.linux.state import BootState


def cmdline_parse_core(m: BootState) -> tuple[int, int]:
    """cmdline_parse_kernelcore() and cmdline_parse_movablecore(): a size, or ``N%`` since
    change "movable-clips-zone" (commit a5c6d6509342, v4.17: cmdline_parse_core()); returns
    (kernelcore %, movablecore %)."""
    percent = {"kernelcore": 0, "movablecore": 0}
    with_percent = m.has("movable-clips-zone")
    for name, value in early_params(m.inputs.cmdline):
        if value is None or name not in percent:
            continue
        if name == "kernelcore":
            # 4.7: parse_option_str(p, "mirror"); with the percent rewrite, strcmp(p, "mirror")
            mirror = value == "mirror" if with_percent else "mirror" in value.split(",")
            if mirror:
                m.mirrored_kernelcore = True
                continue
        number, rest = simple_strtoull(value, 0)
        if with_percent and rest.startswith("%"):
            percent[name] = number
            continue
        pages = memparse(value)[0] >> m.geo.page_shift
        if name == "kernelcore":
            m.required_kernelcore = pages
        else:
            m.required_movablecore = pages
        percent[name] = 0
    return percent["kernelcore"], percent["movablecore"]


def get_pfn_range_for_nid(m: BootState, nid: int) -> tuple[int, int]:
    # mirrors get_pfn_range_for_nid() (mm/page_alloc.c, 4.7; mm/mm_init.c, 6.12)
    ranges = list(for_each_mem_pfn_range(m.memblock, nid, m.geo.page_shift))
    if not ranges:
        return 0, 0
    return min(s for s, _, _ in ranges), max(e for _, e, _ in ranges)


def find_usable_zone_for_movable(m: BootState) -> None:
    # mirrors find_usable_zone_for_movable() (mm/page_alloc.c, 4.7; mm/mm_init.c, 6.12)
    for idx in range(m.max_nr_zones - 1, -1, -1):
        if idx == m.zone_movable:
            continue
        if m.arch_zone_highest_possible_pfn[idx] > m.arch_zone_lowest_possible_pfn[idx]:
            m.movable_zone = idx
            return
    m.movable_zone = 0


def early_calculate_totalpages(m: BootState) -> tuple[int, list[int]]:
    # mirrors early_calculate_totalpages(): pages and N_MEMORY nodes
    total = 0
    nodes: set[int] = set()
    for start, end, nid in for_each_mem_pfn_range(m.memblock, None, m.geo.page_shift):
        total += end - start
        if end - start:
            nodes.add(nid)
    return total, sorted(nodes)


def find_zone_movable_pfns_for_nodes(m: BootState, kc_percent: int, mc_percent: int) -> None:
    # mirrors find_zone_movable_pfns_for_nodes() (mm/page_alloc.c, 4.7; mm/mm_init.c, 6.12)
    totalpages, memory_nodes = early_calculate_totalpages(m)
    find_usable_zone_for_movable(m)
    if m.mirrored_kernelcore:
        # since change "mirror-needs-mirror-memory", kernelcore=mirror without mirrored memory
        # is ignored (before, every non-mirrored range above 4 GiB became movable)
        has_mirror = any(r.flags & MEMBLOCK_MIRROR for r in m.memblock.memory)
        if m.has("mirror-needs-mirror-memory") and not has_mirror:
            m.log.append("The system has no mirror memory, ignore kernelcore=mirror.")
            return  # out: no ZONE_MOVABLE
        for r in m.memblock.memory:
            if r.flags & MEMBLOCK_MIRROR:
                continue
            start = pfn_up(r.base, m.geo.page_shift)
            if start < 0x100000:
                continue
            zmp = m.zone_movable_pfn
            zmp[r.nid] = min(start, zmp[r.nid]) if zmp.get(r.nid) else start
        _out2(m)
        return
    if kc_percent:
        m.required_kernelcore = totalpages * 100 * kc_percent // 10000
    if mc_percent:
        m.required_movablecore = totalpages * 100 * mc_percent // 10000
    # the kernel works on the globals themselves: their final values are compared
    if m.required_movablecore:
        movable = roundup(m.required_movablecore, m.geo.max_order_nr_pages)
        m.required_movablecore = min(totalpages, movable)
        m.required_kernelcore = max(m.required_kernelcore, totalpages - m.required_movablecore)
    if not m.required_kernelcore or m.required_kernelcore >= totalpages:
        return  # out (4.7 aligns an empty table here: the same)
    _spread_kernelcore(m, totalpages, memory_nodes)
    _out2(m)


def _spread_kernelcore(m: BootState, totalpages: int, memory_nodes: list[int]) -> None:
    # the restart: loop of find_zone_movable_pfns_for_nodes()
    zmp = m.zone_movable_pfn
    usable_nodes = len(memory_nodes)
    required_kernelcore = m.required_kernelcore
    usable_startpfn = m.arch_zone_lowest_possible_pfn[m.movable_zone]
    while True:  # restart:
        kernelcore_node = required_kernelcore // usable_nodes
        for nid in memory_nodes:
            if required_kernelcore < kernelcore_node:
                kernelcore_node = required_kernelcore // usable_nodes
            kernelcore_remaining = kernelcore_node
            for start_pfn, end_pfn, _ in for_each_mem_pfn_range(m.memblock, nid, m.geo.page_shift):
                start_pfn = max(start_pfn, zmp.get(nid, 0))
                if start_pfn >= end_pfn:
                    continue
                if start_pfn < usable_startpfn:
                    kernel_pages = min(end_pfn, usable_startpfn) - start_pfn
                    kernelcore_remaining -= min(kernel_pages, kernelcore_remaining)
                    required_kernelcore -= min(kernel_pages, required_kernelcore)
                    if end_pfn <= usable_startpfn:
                        zmp[nid] = end_pfn
                        continue
                    start_pfn = usable_startpfn
                size_pages = min(end_pfn - start_pfn, kernelcore_remaining)
                zmp[nid] = start_pfn + size_pages
                required_kernelcore -= min(required_kernelcore, size_pages)
                kernelcore_remaining -= size_pages
                if not kernelcore_remaining:
                    break
        usable_nodes -= 1
        if not (usable_nodes and required_kernelcore > usable_nodes):
            break
    m.required_kernelcore = required_kernelcore


def _out2(m: BootState) -> None:
    """The out2: label: each node's start aligned to MAX_ORDER_NR_PAGES and, since change
    "movable-start-past-node-dropped", a start at or beyond the node's end dropped."""
    if not m.has("movable-start-past-node-dropped"):
        for nid, pfn in list(m.zone_movable_pfn.items()):
            m.zone_movable_pfn[nid] = roundup(pfn, m.geo.max_order_nr_pages)
        return
    for nid in range(m.max_numnodes):
        pfn = roundup(m.zone_movable_pfn.get(nid, 0), m.geo.max_order_nr_pages)
        _, end = get_pfn_range_for_nid(m, nid)
        if pfn >= end:
            pfn = 0
        if pfn or nid in m.zone_movable_pfn:
            m.zone_movable_pfn[nid] = pfn


def adjust_zone_range_for_zone_movable(
    m: BootState, nid: int, zone_type: int, node_end_pfn: int, zone_start: int, zone_end: int
) -> tuple[int, int]:
    # mirrors adjust_zone_range_for_zone_movable() (mm/page_alloc.c, 4.7; mm/mm_init.c, 6.12):
    # since change "movable-zone-clipped" (commit e506b99696a2, v4.9) a zone straddling
    # zone_movable_pfn ends there
    zmp = m.zone_movable_pfn.get(nid, 0)
    if zmp:
        if zone_type == m.zone_movable:
            zone_start = zmp
            zone_end = min(node_end_pfn, m.arch_zone_highest_possible_pfn[m.movable_zone])
        elif (
            m.has("movable-zone-clipped")
            and not m.mirrored_kernelcore
            and zone_start < zmp < zone_end
        ):
            zone_end = zmp
        elif zone_start >= zmp:
            zone_start = zone_end
    return zone_start, zone_end
