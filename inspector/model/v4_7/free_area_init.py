"""Zone and node sizes: free_area_init_nodes() → free_area_init_node() →
calculate_node_totalpages() → free_area_init_core(), and ZONE_MOVABLE
(find_zone_movable_pfns_for_nodes(), kernelcore=/movablecore=), mm/page_alloc.c (4.7).
"""

from __future__ import annotations

from typing import Any

from inspector.model import chains
from inspector.model.common import (
    MEMBLOCK_MIRROR,
    clamp,
    early_params,
    for_each_mem_pfn_range,
    memparse,
    page_align,
    pfn_down,
    pfn_up,
    rounddown_pow_of_two,
    roundup,
)
from inspector.model.v4_7.memmap import memmap_init_zone, zone_pageblock_migratetypes
from inspector.model.v4_7.state import ULONG_MASK, Linux47State, PgdatState, ZoneState


def cmdline_parse_kernelcore(m: Linux47State) -> None:
    # mirrors cmdline_parse_kernelcore() / cmdline_parse_movablecore() (mm/page_alloc.c, 4.7)
    for name, value in early_params(m.inputs.cmdline):
        if value is None:
            continue
        if name == "kernelcore":
            if "mirror" in value.split(","):
                m.mirrored_kernelcore = True
            else:
                m.required_kernelcore = memparse(value)[0] >> m.geo.page_shift
        elif name == "movablecore":
            m.required_movablecore = memparse(value)[0] >> m.geo.page_shift


def find_min_pfn_for_node(m: Linux47State, nid: int | None) -> int:
    # mirrors find_min_pfn_for_node() (mm/page_alloc.c, 4.7); None = MAX_NUMNODES
    starts = [s for s, _, _ in for_each_mem_pfn_range(m.memblock, nid, m.geo.page_shift)]
    if not starts:
        m.log.append(f"Could not find start_pfn for node {nid}")
        return 0
    return min(starts)


def get_pfn_range_for_nid(m: Linux47State, nid: int) -> tuple[int, int]:
    # mirrors get_pfn_range_for_nid() (mm/page_alloc.c, 4.7)
    ranges = list(for_each_mem_pfn_range(m.memblock, nid, m.geo.page_shift))
    if not ranges:
        return 0, 0
    return min(s for s, _, _ in ranges), max(e for _, e, _ in ranges)


def find_usable_zone_for_movable(m: Linux47State) -> None:
    # mirrors find_usable_zone_for_movable() (mm/page_alloc.c, 4.7)
    for idx in range(m.max_nr_zones - 1, -1, -1):
        if idx == m.zone_movable:
            continue
        if m.arch_zone_highest_possible_pfn[idx] > m.arch_zone_lowest_possible_pfn[idx]:
            m.movable_zone = idx
            return
    m.movable_zone = 0


def early_calculate_totalpages(m: Linux47State) -> tuple[int, list[int]]:
    # mirrors early_calculate_totalpages() (mm/page_alloc.c, 4.7): pages and N_MEMORY nodes
    total = 0
    nodes: set[int] = set()
    for start, end, nid in for_each_mem_pfn_range(m.memblock, None, m.geo.page_shift):
        total += end - start
        if end - start:
            nodes.add(nid)
    return total, sorted(nodes)


def find_zone_movable_pfns_for_nodes(m: Linux47State) -> None:
    # mirrors find_zone_movable_pfns_for_nodes() (mm/page_alloc.c, 4.7)
    totalpages, memory_nodes = early_calculate_totalpages(m)
    find_usable_zone_for_movable(m)
    zmp = m.zone_movable_pfn
    if m.mirrored_kernelcore:
        for r in m.memblock.memory:
            if r.flags & MEMBLOCK_MIRROR:
                continue
            start = pfn_up(r.base, m.geo.page_shift)
            if start < 0x100000:
                continue
            zmp[r.nid] = min(start, zmp[r.nid]) if zmp.get(r.nid) else start
        _align_zone_movable_pfn(m)
        return
    # the kernel works on the globals themselves: their final values are compared
    if m.required_movablecore:
        movable = roundup(m.required_movablecore, m.geo.max_order_nr_pages)
        m.required_movablecore = min(totalpages, movable)
        m.required_kernelcore = max(m.required_kernelcore, totalpages - m.required_movablecore)
    _spread_kernelcore(m, totalpages, memory_nodes)
    _align_zone_movable_pfn(m)


def _spread_kernelcore(m: Linux47State, totalpages: int, memory_nodes: list[int]) -> None:
    # the restart: loop of find_zone_movable_pfns_for_nodes() (mm/page_alloc.c, 4.7)
    zmp = m.zone_movable_pfn
    usable_nodes = len(memory_nodes)
    required_kernelcore = m.required_kernelcore
    if not required_kernelcore or required_kernelcore >= totalpages:
        return
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


def _align_zone_movable_pfn(m: Linux47State) -> None:
    # the out2: label of find_zone_movable_pfns_for_nodes(): align to MAX_ORDER_NR_PAGES
    for nid, pfn in list(m.zone_movable_pfn.items()):
        m.zone_movable_pfn[nid] = roundup(pfn, m.geo.max_order_nr_pages)


def log_zone_ranges(m: Linux47State) -> None:
    """The "Zone ranges", "Movable zone start" and "Early memory node ranges" lines that
    free_area_init_nodes() (4.7, mm/page_alloc.c) and free_area_init() (6.12, mm/mm_init.c)
    print alike."""
    lo, hi = m.arch_zone_lowest_possible_pfn, m.arch_zone_highest_possible_pfn
    m.log.append("Zone ranges:")
    for i in range(m.max_nr_zones):
        if i == m.zone_movable:
            continue
        head = f"  {m.zone_names[i]:<8s} "
        if lo[i] == hi[i]:
            m.log.append(head + "empty")
        else:
            m.log.append(
                head + f"[mem {m.hex_addr(m._phys(lo[i]))}-{m.hex_addr(m._phys(hi[i]) - 1)}]"
            )
    m.log.append("Movable zone start for each node")
    for nid in sorted(m.zone_movable_pfn):
        if m.zone_movable_pfn[nid]:
            m.log.append(f"  Node {nid}: {m.hex_addr(m._phys(m.zone_movable_pfn[nid]))}")
    m.log.append("Early memory node ranges")
    for start, end, nid in for_each_mem_pfn_range(m.memblock, None, m.geo.page_shift):
        m.log.append(
            f"  node {nid:3d}: [mem {m.hex_addr(m._phys(start))}-{m.hex_addr(m._phys(end) - 1)}]"
        )


FN_NODES = "free_area_init_nodes() (mm/page_alloc.c, 4.7)"
FN_SPANNED = "zone_spanned_pages_in_node() (mm/page_alloc.c, 4.7)"
FN_ABSENT = "zone_absent_pages_in_node() (mm/page_alloc.c, 4.7)"
FN_TOTAL = "calculate_node_totalpages() (mm/page_alloc.c, 4.7)"
FN_CORE = "free_area_init_core() (mm/page_alloc.c, 4.7)"


def free_area_init_nodes(m: Linux47State) -> None:
    # mirrors free_area_init_nodes() (mm/page_alloc.c, 4.7)
    mzp = m.inputs.max_zone_pfn
    lo, hi = m.arch_zone_lowest_possible_pfn, m.arch_zone_highest_possible_pfn
    lo[0] = find_min_pfn_for_node(m, None)
    hi[0] = mzp[0]
    for i in range(1, m.max_nr_zones):
        if i == m.zone_movable:
            continue
        lo[i] = hi[i - 1]
        hi[i] = max(mzp[i], lo[i])
    lo[m.zone_movable] = hi[m.zone_movable] = 0
    starts = [s for s, _, _ in for_each_mem_pfn_range(m.memblock, None, m.geo.page_shift)]
    chains.arch_zone_ranges(m, FN_NODES, starts, clamp_low=False)
    cmdline_parse_kernelcore(m)
    find_zone_movable_pfns_for_nodes(m)
    chains.zone_movable(
        m,
        sorted(set(m.inputs.possible_nodes) | set(m.online_nodes())),
        "find_zone_movable_pfns_for_nodes() (mm/page_alloc.c, 4.7)",
    )
    log_zone_ranges(m)
    for nid in m.online_nodes():
        free_area_init_node(m, nid, find_min_pfn_for_node(m, nid))


def free_area_init_node(
    m: Linux47State,
    nid: int,
    node_start_pfn: int,
    zones_size: list[int] | None = None,
    zholes_size: list[int] | None = None,
) -> None:
    # mirrors free_area_init_node() (mm/page_alloc.c, 4.7)
    pgdat = PgdatState(node_id=nid, node_start_pfn=node_start_pfn)
    pgdat.zones = [ZoneState(node=nid, idx=j, name=m.zone_names[j]) for j in range(m.max_nr_zones)]
    m.pgdats[nid] = pgdat
    if zones_size is None:  # HAVE_MEMBLOCK_NODE_MAP
        start_pfn, end_pfn = get_pfn_range_for_nid(m, nid)
        end_phys = m._phys(end_pfn) - 1 if end_pfn else 0
        if m.arch.name == "x86_64" and not m.has("initmem-line-from-mm"):
            pass  # x86's setup_node_data() printed it (inspector.model.sizing)
        elif start_pfn == end_pfn and "initmem-memoryless-line" in m.changes:
            m.log.append(f"Initmem setup node {nid} as memoryless")
        else:
            first, last = m.hex_addr(m._phys(start_pfn)), m.hex_addr(end_phys)
            m.log.append(f"Initmem setup node {nid} [mem {first}-{last}]")
    else:
        start_pfn, end_pfn = node_start_pfn, 0
    if zones_size is None:
        ranges = list(for_each_mem_pfn_range(m.memblock, nid, m.geo.page_shift))
        starts, ends = [s for s, _, _ in ranges], [e for _, e, _ in ranges]
        chains.node_range(m, nid, start_pfn, end_pfn, starts, ends)
    calculate_node_totalpages(m, pgdat, start_pfn, end_pfn, zones_size, zholes_size)
    free_area_init_core(m, pgdat)


def adjust_zone_range_for_zone_movable(
    m: Linux47State, nid: int, zone_type: int, node_end_pfn: int, zone_start: int, zone_end: int
) -> tuple[int, int]:
    # mirrors adjust_zone_range_for_zone_movable() (mm/page_alloc.c, 4.7; mm/mm_init.c, 6.12):
    # since change "movable-clips-zone" (commit a5c6d6509342, v4.17) a zone straddling
    # zone_movable_pfn ends there
    zmp = m.zone_movable_pfn.get(nid, 0)
    if zmp:
        if zone_type == m.zone_movable:
            zone_start = zmp
            zone_end = min(node_end_pfn, m.arch_zone_highest_possible_pfn[m.movable_zone])
        elif (
            m.has("movable-clips-zone")
            and not m.mirrored_kernelcore
            and zone_start < zmp < zone_end
        ):
            zone_end = zmp
        elif zone_start >= zmp:
            zone_start = zone_end
    return zone_start, zone_end


def zone_spanned_pages_in_node(
    m: Linux47State,
    nid: int,
    zone_type: int,
    node_start_pfn: int,
    node_end_pfn: int,
    zones_size: list[int] | None,
) -> tuple[int, int, int]:
    # mirrors zone_spanned_pages_in_node() (mm/page_alloc.c, 4.7): (spanned, start, end)
    if zones_size is not None:  # !HAVE_MEMBLOCK_NODE_MAP variant
        start = node_start_pfn + sum(zones_size[:zone_type])
        return zones_size[zone_type], start, start + zones_size[zone_type]
    if not node_start_pfn and not node_end_pfn:
        return 0, 0, 0
    zone_start = m.arch_zone_lowest_possible_pfn[zone_type]
    zone_end = m.arch_zone_highest_possible_pfn[zone_type]
    zone_start, zone_end = adjust_zone_range_for_zone_movable(
        m, nid, zone_type, node_end_pfn, zone_start, zone_end
    )
    if zone_end < node_start_pfn or zone_start > node_end_pfn:
        return 0, zone_start, zone_end
    zone_end = min(zone_end, node_end_pfn)
    zone_start = max(zone_start, node_start_pfn)
    return zone_end - zone_start, zone_start, zone_end


def __absent_pages_in_range(
    m: Linux47State, nid: int | None, range_start: int, range_end: int
) -> int:
    # mirrors __absent_pages_in_range() (mm/page_alloc.c, 4.7)
    nr_absent = range_end - range_start
    for start, end, _ in for_each_mem_pfn_range(m.memblock, nid, m.geo.page_shift):
        s = clamp(start, range_start, range_end)
        e = clamp(end, range_start, range_end)
        nr_absent -= e - s
    return nr_absent


def zone_absent_pages_in_node(
    m: Linux47State,
    nid: int,
    zone_type: int,
    node_start_pfn: int,
    node_end_pfn: int,
    zholes_size: list[int] | None,
    config_memblock_node_map: bool = True,
) -> int:
    # mirrors zone_absent_pages_in_node() (mm/page_alloc.c, 4.7)
    if not config_memblock_node_map:
        return zholes_size[zone_type] if zholes_size else 0
    if not node_start_pfn and not node_end_pfn:
        return 0
    zone_low = m.arch_zone_lowest_possible_pfn[zone_type]
    zone_high = m.arch_zone_highest_possible_pfn[zone_type]
    zone_start = clamp(node_start_pfn, zone_low, zone_high)
    zone_end = clamp(node_end_pfn, zone_low, zone_high)
    zone_start, zone_end = adjust_zone_range_for_zone_movable(
        m, nid, zone_type, node_end_pfn, zone_start, zone_end
    )
    nr_absent = __absent_pages_in_range(m, nid, zone_start, zone_end)
    zmp = m.zone_movable_pfn.get(nid, 0)
    if zmp:
        if m.mirrored_kernelcore:
            for r in m.memblock.memory:  # every region, of any node, as the kernel does
                s = clamp(pfn_up(r.base, m.geo.page_shift), zone_start, zone_end)
                e = clamp(pfn_down(r.base + r.size, m.geo.page_shift), zone_start, zone_end)
                mirror = bool(r.flags & MEMBLOCK_MIRROR)
                if zone_type == m.zone_movable and mirror:
                    nr_absent += e - s
                if zone_type == m.zone_normal and not mirror:
                    nr_absent += e - s
        elif zone_type == m.zone_normal:
            # 4.7 charges the whole movable part of the node to ZONE_NORMAL's holes, even
            # when ZONE_MOVABLE was carved from a lower zone (movable_zone != ZONE_NORMAL).
            nr_absent += node_end_pfn - zmp
    return nr_absent


def calculate_node_totalpages(
    m: Linux47State,
    pgdat: PgdatState,
    node_start_pfn: int,
    node_end_pfn: int,
    zones_size: list[int] | None,
    zholes_size: list[int] | None,
) -> None:
    # mirrors calculate_node_totalpages() (mm/page_alloc.c, 4.7)
    total = real_total = 0
    for zone in pgdat.zones:
        size, zstart, _ = zone_spanned_pages_in_node(
            m, pgdat.node_id, zone.idx, node_start_pfn, node_end_pfn, zones_size
        )
        absent = zone_absent_pages_in_node(
            m,
            pgdat.node_id,
            zone.idx,
            node_start_pfn,
            node_end_pfn,
            zholes_size,
            config_memblock_node_map=zones_size is None,
        )
        real_size = (size - absent) & ULONG_MASK  # unsigned long arithmetic
        zone.zone_start_pfn = zstart if size else 0
        zone.spanned_pages = size
        zone.present_pages = real_size
        total += size
        real_total += real_size
        if zones_size is None:
            _note_zone_sizes(m, zone, node_start_pfn, node_end_pfn, absent)
    pgdat.node_spanned_pages = total
    pgdat.node_present_pages = real_total & ULONG_MASK
    if zones_size is None:
        chains.node_totals(m, pgdat, FN_TOTAL, spanned_from_zones=True, unsigned=True)
    m.log_init_line(f"On node {pgdat.node_id} totalpages: {pgdat.node_present_pages}")


def _note_zone_sizes(
    m: Linux47State, zone: ZoneState, node_start_pfn: int, node_end_pfn: int, absent: int
) -> None:
    # the chains of calculate_node_totalpages()'s values for one zone (inspector.model.chains)
    lo = m.arch_zone_lowest_possible_pfn[zone.idx]
    hi = m.arch_zone_highest_possible_pfn[zone.idx]
    s, e = adjust_zone_range_for_zone_movable(m, zone.node, zone.idx, node_end_pfn, lo, hi)
    rng = chains.zone_range(m, zone, s, e, clamped=False, fn=FN_SPANNED)
    cs, ce = clamp(node_start_pfn, lo, hi), clamp(node_end_pfn, lo, hi)
    cs, ce = adjust_zone_range_for_zone_movable(m, zone.node, zone.idx, node_end_pfn, cs, ce)
    absent_rng = chains.zone_range(
        m, zone, cs, ce, clamped=True, fn=FN_ABSENT, names=("range_start", "range_end")
    )
    zmp = m.zone_movable_pfn.get(zone.node, 0)
    extra: str | None = ""
    ops: dict[str, str] = {}
    if zmp and m.mirrored_kernelcore:
        extra = None
    elif zmp and zone.idx == m.zone_normal:
        extra = " + (node_end_pfn - zone_movable_pfn)"
        ops = {
            "node_end_pfn": chains.np_(zone.node, "node_end_pfn"),
            "zone_movable_pfn": chains.gp(f"zone_movable_pfn[{zone.node}]"),
        }
    chains.zone_sizes(
        m, zone, rng, absent_rng, absent, extra, FN_SPANNED, FN_ABSENT, FN_TOTAL, True, **ops
    )


def calc_memmap_size(m: Linux47State, spanned_pages: int, present_pages: int) -> int:
    # mirrors calc_memmap_size() (mm/page_alloc.c, 4.7), CONFIG_SPARSEMEM=y
    pages = spanned_pages
    if spanned_pages > present_pages + (present_pages >> 4):
        pages = present_pages
    return page_align(pages * m.geo.sizeof_struct_page, m.geo.page_shift) >> (m.geo.page_shift)


def zone_batchsize(m: Linux47State, managed_pages: int) -> int:
    # mirrors zone_batchsize() (mm/page_alloc.c, 4.7), CONFIG_MMU=y; the cap doubled to 1 MiB
    # in commit d8a759b57035 ("mm, page_alloc: double zone's batchsize"), v4.19
    cap = 1024 * 1024 if "pcp-batch-cap" in m.changes else 512 * 1024
    batch = managed_pages // 1024
    if batch * m.geo.page_size > cap:
        batch = cap // m.geo.page_size
    batch //= 4
    if batch < 1:
        batch = 1
    return rounddown_pow_of_two(batch + batch // 2) - 1


def free_area_init_core(m: Linux47State, pgdat: PgdatState) -> None:
    # mirrors free_area_init_core() (mm/page_alloc.c, 4.7); no HIGHMEM zone in these configs
    for zone in pgdat.zones:
        j = zone.idx
        size = zone.spanned_pages
        if m.has("managed-equals-present"):  # a 6.10+ boot log's sizing: no memmap estimate
            freesize, terms = zone.present_pages, ["present_pages"]
        else:
            freesize, terms = zone_freesize(m, zone)
        m.nr_kernel_pages = (m.nr_kernel_pages + freesize) & ULONG_MASK
        m.nr_all_pages = (m.nr_all_pages + freesize) & ULONG_MASK
        zone.managed_pages = freesize
        if chains.zp(zone, "present_pages") in m.prov.chains:
            _note_managed(m, zone, freesize, terms)
        zone_pcp_init(m, zone)
        if not size:
            continue
        pgdat.nr_zones = j + 1  # init_currently_empty_zone()
        if not m.with_memmap:  # the sizing stage alone (inspector.model.sizing)
            continue
        memmap_init_zone(m, size, pgdat.node_id, j, zone.zone_start_pfn)
        m.memmap_zone_pageblocks[(pgdat.node_id, j)] = zone_pageblock_migratetypes(m, zone)


def zone_freesize(m: Linux47State, zone: ZoneState) -> tuple[int, list[str]]:
    """free_area_init_core()'s ``freesize`` of one zone: its present pages less the memmap
    estimate (calc_memmap_size()) and, for zone 0, dma_reserve, printing the per-zone lines.
    The managed pages until the hand-off in every release before change
    "managed-equals-present". Returns it and the terms subtracted (for its chain); sets
    ``zone.memmap_pages``."""
    size = zone.spanned_pages
    realsize = freesize = zone.present_pages
    memmap_pages = calc_memmap_size(m, size, realsize)
    zone.memmap_pages = memmap_pages
    if freesize >= memmap_pages:
        freesize -= memmap_pages
        if memmap_pages:
            m.log_init_line(f"  {zone.name} zone: {memmap_pages} pages used for memmap")
    else:  # pr_warn(): printed at every release
        m.log.append(f"  {zone.name} zone: {memmap_pages} pages exceeds freesize {freesize}")
    terms = ["present_pages"] + (["memmap_pages"] if realsize >= memmap_pages else [])
    if zone.idx == 0 and freesize > m.dma_reserve:
        freesize -= m.dma_reserve
        terms.append("dma_reserve")
        m.log_init_line(f"  {zone.name} zone: {m.dma_reserve} pages reserved")
    if chains.zp(zone, "present_pages") in m.prov.chains:  # the memblock node map path
        _note_core(m, zone, size > realsize + (realsize >> 4), terms)
    return freesize, terms


def _note_managed(m: Linux47State, zone: ZoneState, freesize: int, terms: list[str]) -> None:
    # free_area_init_core()'s freesize: present pages less the memmap and DMA's dma_reserve
    p = m.prov
    ops: dict[str, Any] = {t: chains.zp(zone, t) for t in terms if t != "dma_reserve"}
    if "dma_reserve" in terms:
        ops["dma_reserve"] = p.given(m.dma_reserve, "dma_reserve")
    p.note(chains.zp(zone, "managed_pages"), freesize, " - ".join(terms), FN_CORE, **ops)


def _note_core(m: Linux47State, zone: ZoneState, by_present: bool, terms: list[str]) -> None:
    # calc_memmap_size()'s chain: memmap_pages from the span, or from present pages when the
    # zone has more than 1/16 holes
    p = m.prov
    pages = "present_pages" if by_present else "spanned_pages"
    p.note(
        chains.zp(zone, "memmap_pages"),
        zone.memmap_pages,
        "PAGE_ALIGN(pages * sizeof_struct_page, PAGE_SHIFT) >> PAGE_SHIFT",
        "calc_memmap_size() (mm/page_alloc.c, 4.7)",
        pages=chains.zp(zone, pages),
        sizeof_struct_page=p.given(m.geo.sizeof_struct_page, "sizeof_struct_page"),
        PAGE_SHIFT=p.given(m.geo.page_shift, "page_size", "(its log2)"),
    )


def zone_pcp_init(m: Linux47State, zone: ZoneState) -> None:
    # mirrors zone_pcp_init() (mm/page_alloc.c, 4.7): the boot pageset and the LIFO line
    if zone.populated():
        m.log_init_line(
            f"  {zone.name} zone: {zone.present_pages} pages, LIFO batch:"
            f"{zone_batchsize(m, zone.managed_pages)}"
        )
