"""Zone and node sizes: free_area_init_nodes() (4.7; free_area_init() since change
"free-area-init-reworked", 5.8) → free_area_init_node() → calculate_node_totalpages() →
free_area_init_core(), and calc_nr_kernel_pages() (change "calc-nr-kernel-pages", 6.10), in
mm/page_alloc.c (mm/mm_init.c from 6.4), at the release the state runs. ZONE_MOVABLE's place is
inspector.model.linux.zone_movable's.
"""

from __future__ import annotations

from typing import Any

from inspector.errors import InspectorError
from inspector.model import chains
from inspector.model.chains import gp
from inspector.model.common import (
    NUMA_NO_NODE,
    for_each_free_mem_range,
    for_each_mem_pfn_range,
    page_align,
    pfn_down,
    pfn_up,
)
from inspector.model.linux.memmap import memmap_init_zone, zone_pageblocks
from inspector.model.linux.state import ULONG_MASK, BootState, PgdatState, ZoneState
from inspector.model.linux.zone_movable import (
    cmdline_parse_core,
    find_zone_movable_pfns_for_nodes,
    get_pfn_range_for_nid,
)
from inspector.model.linux.zone_sizes import calculate_node_totalpages
from inspector.model.memblock import MEMBLOCK_ALLOC_ACCESSIBLE
from inspector.model.provenance import evaluate


def find_min_pfn_for_node(m: BootState, nid: int | None) -> int:
    # mirrors find_min_pfn_for_node() (mm/page_alloc.c, 4.7); None = MAX_NUMNODES
    starts = [s for s, _, _ in for_each_mem_pfn_range(m.memblock, nid, m.geo.page_shift)]
    if not starts:
        m.log.append(f"Could not find start_pfn for node {nid}")
        return 0
    return min(starts)


def log_zone_ranges(m: BootState) -> None:
    """The "Zone ranges", "Movable zone start" and "Early memory node ranges" lines."""
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


def arch_zone_limits(m: BootState, reworked: bool, fn: str) -> None:
    """arch_zone_lowest/highest_possible_pfn[], each computed by its chain: zone 0 from the first
    pfn of memory (4.7: find_min_pfn_with_active_regions(), the lowest pfn of any range; since
    change "free-area-init-reworked" PHYS_PFN(memblock_start_of_DRAM()), and its end no lower
    than its start), each next zone from the previous one's end up to the arch's max_zone_pfn;
    ZONE_MOVABLE's are 0 (it is placed per node later)."""
    p = m.prov
    lo, hi = m.arch_zone_lowest_possible_pfn, m.arch_zone_highest_possible_pfn
    memory = m.memblock.memory
    if reworked:
        starts = [memory[0].base >> m.geo.page_shift] if memory else [0]
    else:
        starts = [s for s, _, _ in for_each_mem_pfn_range(m.memblock, None, m.geo.page_shift)]
        if not starts:
            starts = [find_min_pfn_for_node(m, None)]  # its "Could not find start_pfn" line
    prev = ""
    for i, name in enumerate(m.zone_names):
        low = gp(f"arch_zone_lowest_possible_pfn[{name}]")
        high = gp(f"arch_zone_highest_possible_pfn[{name}]")
        if i == m.zone_movable:
            note = "ZONE_MOVABLE is placed per node later"
            lo[i], hi[i] = p.derive(low, "0", fn, note=note), p.derive(high, "0", fn, note=note)
            continue
        max_zone_pfn = p.given(m.inputs.max_zone_pfn[i], "max_zone_pfn", f"[{name}]")
        if not prev:
            lo[i] = p.derive(low, "min(start_pfns)", fn, start_pfns=p.given(starts, "memblock"))
            expr = "max(max_zone_pfn, low)" if reworked else "max_zone_pfn"
        else:
            lo[i] = p.derive(low, "prev_high", fn, prev_high=prev)
            expr = "max(max_zone_pfn, low)"
        hi[i] = p.derive(high, expr, fn, max_zone_pfn=max_zone_pfn, low=low)
        prev = high


def free_area_init(m: BootState) -> None:
    """free_area_init_nodes() (mm/page_alloc.c, 4.7), free_area_init() since change
    "free-area-init-reworked" (commit 9691a071aa26, v5.8): the arch's zone limits, ZONE_MOVABLE,
    the ranges printed, then every node set up."""
    reworked = m.has("free-area-init-reworked")
    fn = m.cite("free_area_init()" if reworked else "free_area_init_nodes()", mm_init=True)
    arch_zone_limits(m, reworked, fn)
    kc, mc = cmdline_parse_core(m)
    find_zone_movable_pfns_for_nodes(m, kc, mc)
    chains.zone_movable(
        m,
        sorted(set(m.inputs.possible_nodes) | set(m.online_nodes())),
        m.cite("find_zone_movable_pfns_for_nodes()", mm_init=True),
    )
    log_zone_ranges(m)
    if not reworked:
        for nid in m.online_nodes():
            free_area_init_node(m, nid, find_min_pfn_for_node(m, nid))
        return
    # every possible node since change "possible-nodes" (commit 09f49dca570a, v5.18), an
    # offline one with a pg_data_t from memblock; before, the online ones
    nodes = m.possible_nodes if m.has("possible-nodes") else m.online_nodes()
    for nid in nodes:
        if nid not in m.online_nodes():
            if not m.has("offline-node-line-dropped"):
                m.log.append(f"Initializing node {nid} as memoryless")
            if m.has_full_inputs:  # (memblock: not in a boot log's sizing inputs)
                alloc_offline_node_data(m)
        free_area_init_node(m, nid)
    if m.has("calc-nr-kernel-pages") and m.has_full_inputs:
        calc_nr_kernel_pages(m)  # (memblock's free ranges: not in a boot log's sizing inputs)


def alloc_offline_node_data(m: BootState) -> None:
    # mirrors alloc_offline_node_data() (mm/numa.c, 6.12): a pg_data_t from memblock_alloc()
    # (top-down, SMP_CACHE_BYTES aligned, from MEMBLOCK_LOW_LIMIT 0), panicking if none
    size = m.full_inputs().sizeof.get("struct pglist_data")
    if size is None:
        raise InspectorError("model input sizeof(struct pglist_data) is missing from build.json")
    m.mb.virt_alloc(
        size,
        m.full_inputs().smp_cache_bytes,
        0,
        MEMBLOCK_ALLOC_ACCESSIBLE,
        NUMA_NO_NODE,
        "alloc_offline_node_data",
    )


def free_area_init_node(
    m: BootState,
    nid: int,
    node_start_pfn: int = 0,
    zones_size: list[int] | None = None,
    zholes_size: list[int] | None = None,
) -> None:
    """free_area_init_node(): the node's range (4.7: its start given by the caller; since
    change "free-area-init-reworked" found here), the "Initmem setup node" line, the sizes.
    ``zones_size``/``zholes_size``: arm64's CONFIG_NUMA=n zone_sizes_init() (4.7)."""
    pgdat = PgdatState(node_id=nid, node_start_pfn=node_start_pfn)
    pgdat.zones = [ZoneState(node=nid, idx=j, name=m.zone_names[j]) for j in range(m.max_nr_zones)]
    m.pgdats[nid] = pgdat
    if zones_size is not None:  # !HAVE_MEMBLOCK_NODE_MAP
        calculate_node_totalpages_sized(m, pgdat, zones_size, zholes_size or [0] * len(zones_size))
        free_area_init_core(m, pgdat)
        return
    start_pfn, end_pfn = get_pfn_range_for_nid(m, nid)
    if m.has("free-area-init-reworked"):
        pgdat.node_start_pfn = start_pfn
    ranges = list(for_each_mem_pfn_range(m.memblock, nid, m.geo.page_shift))
    chains.node_range(
        m, nid, start_pfn, end_pfn, [s for s, _, _ in ranges], [e for _, e, _ in ranges]
    )
    memoryless = start_pfn == end_pfn
    if m.arch.name == "x86_64" and not m.has("initmem-line-from-mm"):
        pass  # x86's setup_node_data() printed it (inspector.model.sizing)
    elif memoryless and m.has("initmem-memoryless-line"):
        m.log.append(f"Initmem setup node {nid} as memoryless")
    else:
        end_phys = m._phys(end_pfn) - 1 if end_pfn else 0
        first, last = m.hex_addr(m._phys(start_pfn)), m.hex_addr(end_phys)
        m.log.append(f"Initmem setup node {nid} [mem {first}-{last}]")
    if memoryless and m.has("initmem-memoryless-line"):
        # reset_memoryless_node_totalpages() (commit 7c30daac2069, v5.18): all zero
        pgdat.node_start_pfn = start_pfn
    else:
        calculate_node_totalpages(m, pgdat, start_pfn, end_pfn)
    free_area_init_core(m, pgdat)


def calculate_node_totalpages_sized(
    m: BootState, pgdat: PgdatState, zones_size: list[int], zholes_size: list[int]
) -> None:
    """calculate_node_totalpages() without HAVE_MEMBLOCK_NODE_MAP (arm64's CONFIG_NUMA=n
    zone_sizes_init(), 4.7): each zone's size and holes as the arch hands them over, the zones
    one after the other from the node's start."""
    start = pgdat.node_start_pfn
    for zone in pgdat.zones:
        size, absent = zones_size[zone.idx], zholes_size[zone.idx]
        zone.zone_start_pfn = start if size else 0
        zone.spanned_pages = size
        zone.present_pages = (size - absent) & ULONG_MASK  # unsigned long arithmetic
        start += size
    pgdat.node_spanned_pages = sum(z.spanned_pages for z in pgdat.zones)
    pgdat.node_present_pages = sum(z.present_pages for z in pgdat.zones) & ULONG_MASK
    m.log_init_line(f"On node {pgdat.node_id} totalpages: {pgdat.node_present_pages}")


def calc_memmap_size(m: BootState, spanned_pages: int, present_pages: int) -> int:
    # mirrors calc_memmap_size() (mm/page_alloc.c, 4.7), CONFIG_SPARSEMEM=y; gone with change
    # "managed-equals-present" (6.10)
    pages = spanned_pages
    if spanned_pages > present_pages + (present_pages >> 4):
        pages = present_pages
    return page_align(pages * m.geo.sizeof_struct_page, m.geo.page_shift) >> (m.geo.page_shift)


# zone_batchsize() (mm/page_alloc.c), CONFIG_MMU=y, in closed form: managed_pages / 1024 pages
# capped at ``cap`` bytes (change "pcp-batch-cap"), a quarter of it, at least 1, then
# rounddown_pow_of_two(batch + batch / 2) - 1; the model computes it and its chain by this one
# expression (the cap is a multiple of PAGE_SIZE, so the min is the kernel's if)
BATCH_EXPR = (
    "rounddown_pow_of_two(max(1, min(managed_pages // 1024, cap // PAGE_SIZE) // 4) * 3 // 2) - 1"
)


def zone_batchsize(m: BootState, managed_pages: int) -> int:
    # mirrors zone_batchsize() (mm/page_alloc.c); the cap doubled to 1 MiB in commit
    # d8a759b57035 ("mm, page_alloc: double zone's batchsize"), v4.19
    cap = m.pcp_batch_cap()
    return int(
        evaluate(BATCH_EXPR, managed_pages=managed_pages, cap=cap, PAGE_SIZE=m.geo.page_size)
    )


def free_area_init_core(m: BootState, pgdat: PgdatState) -> None:
    # mirrors free_area_init_core() (and zone_init_internals() from 5.x); no HIGHMEM zone
    for zone in pgdat.zones:
        j = zone.idx
        if m.has("managed-equals-present"):
            freesize, terms = zone.present_pages, ["present_pages"]
        else:  # present pages less the memmap estimate and dma_reserve
            freesize, terms = zone_freesize(m, zone)
        if not m.has("calc-nr-kernel-pages"):  # summed here, as 4.7 does
            m.nr_kernel_pages = (m.nr_kernel_pages + freesize) & ULONG_MASK
            m.nr_all_pages = (m.nr_all_pages + freesize) & ULONG_MASK
        zone.managed_pages = freesize
        if chains.zp(zone, "present_pages") in m.prov.chains:
            _note_managed(m, zone, freesize, terms)
        zone_pcp_init(m, zone)
        if not zone.spanned_pages:
            continue
        pgdat.nr_zones = j + 1  # init_currently_empty_zone()
        if not m.with_memmap or m.has("memmap-init-memblock-ranges"):
            continue  # the sizing stage alone, or memmap_init() after free_area_init()
        memmap_init_zone(m, zone.spanned_pages, pgdat.node_id, j, zone.zone_start_pfn)
        m.memmap_zone_pageblocks[(pgdat.node_id, j)] = zone_pageblocks(m, zone)


def zone_freesize(m: BootState, zone: ZoneState) -> tuple[int, list[str]]:
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


def _note_managed(m: BootState, zone: ZoneState, freesize: int, terms: list[str]) -> None:
    # free_area_init_core()'s freesize: present pages less the memmap and DMA's dma_reserve
    # (zone_init_internals() since change "managed-equals-present": the present pages)
    p = m.prov
    ops: dict[str, Any] = {t: chains.zp(zone, t) for t in terms if t != "dma_reserve"}
    if "dma_reserve" in terms:
        ops["dma_reserve"] = p.given(m.dma_reserve, "dma_reserve")
    fn = "zone_init_internals()" if m.has("managed-equals-present") else "free_area_init_core()"
    p.note(chains.zp(zone, "managed_pages"), freesize, " - ".join(terms), m.cite(fn, True), **ops)


def _note_core(m: BootState, zone: ZoneState, by_present: bool, terms: list[str]) -> None:
    # calc_memmap_size()'s chain: memmap_pages from the span, or from present pages when the
    # zone has more than 1/16 holes
    p = m.prov
    pages = "present_pages" if by_present else "spanned_pages"
    p.note(
        chains.zp(zone, "memmap_pages"),
        zone.memmap_pages,
        "PAGE_ALIGN(pages * sizeof_struct_page, PAGE_SHIFT) >> PAGE_SHIFT",
        m.cite("calc_memmap_size()", mm_init=True),
        pages=chains.zp(zone, pages),
        sizeof_struct_page=p.given(m.geo.sizeof_struct_page, "sizeof_struct_page"),
        PAGE_SHIFT=p.given(m.geo.page_shift, "page_size", "(its log2)"),
    )


def zone_pcp_init(m: BootState, zone: ZoneState) -> None:
    # mirrors zone_pcp_init() (mm/page_alloc.c, 4.7): the boot pageset and the LIFO line
    # (pr_debug from change "init-lines-pr-debug")
    if zone.populated():
        m.log_init_line(
            f"  {zone.name} zone: {zone.present_pages} pages, LIFO batch:"
            f"{zone_batchsize(m, zone.managed_pages)}"
        )


def calc_nr_kernel_pages(m: BootState) -> None:
    # mirrors calc_nr_kernel_pages() (mm/mm_init.c, 6.12): free memblock ranges, no HIGHMEM
    for start, end, _ in for_each_free_mem_range(m.mb.snapshot()):
        s, e = pfn_up(start, m.geo.page_shift), pfn_down(end, m.geo.page_shift)
        if s < e:
            m.nr_all_pages += e - s
            m.nr_kernel_pages += e - s
