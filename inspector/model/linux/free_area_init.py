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
from inspector.model.common import (
    MEMBLOCK_MIRROR,
    NUMA_NO_NODE,
    clamp,
    for_each_free_mem_range,
    for_each_mem_pfn_range,
    page_align,
    pfn_down,
    pfn_up,
    rounddown_pow_of_two,
)
from inspector.model.linux.memmap import memmap_init_zone, zone_pageblocks
from inspector.model.linux.state import ULONG_MASK, BootState, PgdatState, ZoneState
from inspector.model.linux.zone_movable import (
    adjust_zone_range_for_zone_movable,
    cmdline_parse_core,
    find_zone_movable_pfns_for_nodes,
    get_pfn_range_for_nid,
)
from inspector.model.memblock import MEMBLOCK_ALLOC_ACCESSIBLE


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


def free_area_init(m: BootState) -> None:
    """free_area_init_nodes() (mm/page_alloc.c, 4.7), free_area_init() since change
    "free-area-init-reworked" (commit 9691a071aa26, v5.8): the arch's zone limits, ZONE_MOVABLE,
    the ranges printed, then every node set up."""
    reworked = m.has("free-area-init-reworked")
    fn = m.cite("free_area_init()" if reworked else "free_area_init_nodes()", mm_init=True)
    mzp = m.inputs.max_zone_pfn
    lo, hi = m.arch_zone_lowest_possible_pfn, m.arch_zone_highest_possible_pfn
    memory = m.memblock.memory
    if reworked:
        # start_pfn = PHYS_PFN(memblock_start_of_DRAM()), each zone from the last one's end
        start_pfn = memory[0].base >> m.geo.page_shift if memory else 0
        for i in range(m.max_nr_zones):
            if i == m.zone_movable:
                continue
            end_pfn = max(mzp[i], start_pfn)
            lo[i], hi[i] = start_pfn, end_pfn
            start_pfn = end_pfn
        first = [memory[0].base >> m.geo.page_shift] if memory else [0]
        chains.arch_zone_ranges(m, fn, first, clamp_low=True)
    else:
        lo[0] = find_min_pfn_for_node(m, None)
        hi[0] = mzp[0]
        for i in range(1, m.max_nr_zones):
            if i == m.zone_movable:
                continue
            lo[i] = hi[i - 1]
            hi[i] = max(mzp[i], lo[i])
        lo[m.zone_movable] = hi[m.zone_movable] = 0
        starts = [s for s, _, _ in for_each_mem_pfn_range(m.memblock, None, m.geo.page_shift)]
        chains.arch_zone_ranges(m, fn, starts, clamp_low=False)
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
        calculate_node_totalpages(m, pgdat, node_start_pfn, 0, zones_size, zholes_size)
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
        calculate_node_totalpages(m, pgdat, start_pfn, end_pfn, None, None)
    free_area_init_core(m, pgdat)


def zone_spanned_pages_in_node(
    m: BootState,
    nid: int,
    zone_type: int,
    node_start_pfn: int,
    node_end_pfn: int,
    zones_size: list[int] | None,
) -> tuple[int, int, int]:
    """zone_spanned_pages_in_node(): (spanned, start, end)."""
    if zones_size is not None:  # !HAVE_MEMBLOCK_NODE_MAP variant
        start = node_start_pfn + sum(zones_size[:zone_type])
        return zones_size[zone_type], start, start + zones_size[zone_type]
    if not node_start_pfn and not node_end_pfn:
        return 0, 0, 0
    zone_start, zone_end = _zone_range(m, nid, zone_type, node_start_pfn, node_end_pfn)
    if zone_end < node_start_pfn or zone_start > node_end_pfn:
        return 0, zone_start, zone_end
    zone_end = min(zone_end, node_end_pfn)
    zone_start = max(zone_start, node_start_pfn)
    return zone_end - zone_start, zone_start, zone_end


def _zone_range(
    m: BootState, nid: int, zone_type: int, node_start_pfn: int, node_end_pfn: int
) -> tuple[int, int]:
    # the zone's [low, high), then adjusted for ZONE_MOVABLE; clamped to the node first by
    # commit 299c83dce9ea (v5.2, change "movable-clips-zone"): the same pages either way, the
    # model spells it so from change "free-area-init-reworked" on (its chains say which)
    low = m.arch_zone_lowest_possible_pfn[zone_type]
    high = m.arch_zone_highest_possible_pfn[zone_type]
    if m.has("free-area-init-reworked"):
        low, high = clamp(node_start_pfn, low, high), clamp(node_end_pfn, low, high)
    return adjust_zone_range_for_zone_movable(m, nid, zone_type, node_end_pfn, low, high)


def zone_absent_pages_in_node(
    m: BootState,
    nid: int,
    zone_type: int,
    node_start_pfn: int,
    node_end_pfn: int,
    zholes_size: list[int] | None,
) -> int:
    # mirrors zone_absent_pages_in_node() and __absent_pages_in_range()
    if zholes_size is not None:  # !HAVE_MEMBLOCK_NODE_MAP
        return zholes_size[zone_type]
    if not node_start_pfn and not node_end_pfn:
        return 0
    zone_low = m.arch_zone_lowest_possible_pfn[zone_type]
    zone_high = m.arch_zone_highest_possible_pfn[zone_type]
    zone_start = clamp(node_start_pfn, zone_low, zone_high)
    zone_end = clamp(node_end_pfn, zone_low, zone_high)
    zone_start, zone_end = adjust_zone_range_for_zone_movable(
        m, nid, zone_type, node_end_pfn, zone_start, zone_end
    )
    nr_absent = zone_end - zone_start
    for s, e, _ in for_each_mem_pfn_range(m.memblock, nid, m.geo.page_shift):
        nr_absent -= clamp(e, zone_start, zone_end) - clamp(s, zone_start, zone_end)
    zmp = m.zone_movable_pfn.get(nid, 0)
    if zmp and m.mirrored_kernelcore:
        for r in m.memblock.memory:  # every region, of any node, as the kernel does
            s = clamp(pfn_up(r.base, m.geo.page_shift), zone_start, zone_end)
            e = clamp(pfn_down(r.base + r.size, m.geo.page_shift), zone_start, zone_end)
            mirror = bool(r.flags & MEMBLOCK_MIRROR)
            if (zone_type == m.zone_movable and mirror) or (
                zone_type == m.zone_normal and not mirror
            ):
                nr_absent += e - s
    elif zmp and zone_type == m.zone_normal and not m.has("movable-zone-clipped"):
        # 4.7 charges the whole movable part of the node to ZONE_NORMAL's holes, even
        # when ZONE_MOVABLE was carved from a lower zone (movable_zone != ZONE_NORMAL)
        nr_absent += node_end_pfn - zmp
    return nr_absent


def calculate_node_totalpages(
    m: BootState,
    pgdat: PgdatState,
    node_start_pfn: int,
    node_end_pfn: int,
    zones_size: list[int] | None,
    zholes_size: list[int] | None,
) -> None:
    # mirrors calculate_node_totalpages()
    total = real_total = 0
    for zone in pgdat.zones:
        size, zstart, _ = zone_spanned_pages_in_node(
            m, pgdat.node_id, zone.idx, node_start_pfn, node_end_pfn, zones_size
        )
        absent = zone_absent_pages_in_node(
            m, pgdat.node_id, zone.idx, node_start_pfn, node_end_pfn, zholes_size
        )
        real_size = (size - absent) & ULONG_MASK  # unsigned long arithmetic
        zone.zone_start_pfn = zstart if size else 0
        zone.spanned_pages = size
        zone.present_pages = real_size
        total += size
        real_total += real_size
        if zones_size is None:
            _note_zone_sizes(m, zone, node_start_pfn, node_end_pfn, absent)
    # the node's span: its end - start since change "node-spanned-end-minus-start"; before,
    # the sum of its zones' spans (which leaves out what no zone covers)
    by_zones = not m.has("node-spanned-end-minus-start")
    pgdat.node_spanned_pages = total if by_zones else node_end_pfn - node_start_pfn
    pgdat.node_present_pages = real_total & ULONG_MASK
    if zones_size is None:
        unsigned = not m.has("free-area-init-reworked")
        fn = m.cite("calculate_node_totalpages()", mm_init=True)
        chains.node_totals(m, pgdat, fn, spanned_from_zones=by_zones, unsigned=unsigned)
    m.log_init_line(f"On node {pgdat.node_id} totalpages: {pgdat.node_present_pages}")


def _note_zone_sizes(
    m: BootState, zone: ZoneState, node_start_pfn: int, node_end_pfn: int, absent: int
) -> None:
    # the chains of calculate_node_totalpages()'s values for one zone (inspector.model.chains)
    fn_spanned = m.cite("zone_spanned_pages_in_node()", mm_init=True)
    fn_absent = m.cite("zone_absent_pages_in_node()", mm_init=True)
    fn_total = m.cite("calculate_node_totalpages()", mm_init=True)
    reworked = m.has("free-area-init-reworked")
    s, e = _zone_range(m, zone.node, zone.idx, node_start_pfn, node_end_pfn)
    rng = chains.zone_range(m, zone, s, e, clamped=reworked, fn=fn_spanned)
    zmp = m.zone_movable_pfn.get(zone.node, 0)
    extra: str | None = ""
    ops: dict[str, str] = {}
    if reworked:
        absent_rng = chains.clipped_range(m, zone, rng, fn_spanned)
    else:
        lo = m.arch_zone_lowest_possible_pfn[zone.idx]
        hi = m.arch_zone_highest_possible_pfn[zone.idx]
        cs, ce = clamp(node_start_pfn, lo, hi), clamp(node_end_pfn, lo, hi)
        cs, ce = adjust_zone_range_for_zone_movable(m, zone.node, zone.idx, node_end_pfn, cs, ce)
        absent_rng = chains.zone_range(
            m, zone, cs, ce, clamped=True, fn=fn_absent, names=("range_start", "range_end")
        )
    if zmp and m.mirrored_kernelcore:
        extra = None
    elif zmp and zone.idx == m.zone_normal and not m.has("movable-zone-clipped"):
        extra = " + (node_end_pfn - zone_movable_pfn)"
        ops = {
            "node_end_pfn": chains.np_(zone.node, "node_end_pfn"),
            "zone_movable_pfn": chains.gp(f"zone_movable_pfn[{zone.node}]"),
        }
    chains.zone_sizes(
        m,
        zone,
        rng,
        absent_rng,
        absent,
        extra,
        fn_spanned,
        fn_absent,
        fn_total,
        not reworked,
        **ops,
    )


def calc_memmap_size(m: BootState, spanned_pages: int, present_pages: int) -> int:
    # mirrors calc_memmap_size() (mm/page_alloc.c, 4.7), CONFIG_SPARSEMEM=y; gone with change
    # "managed-equals-present" (6.10)
    pages = spanned_pages
    if spanned_pages > present_pages + (present_pages >> 4):
        pages = present_pages
    return page_align(pages * m.geo.sizeof_struct_page, m.geo.page_shift) >> (m.geo.page_shift)


def zone_batchsize(m: BootState, managed_pages: int) -> int:
    # mirrors zone_batchsize() (mm/page_alloc.c), CONFIG_MMU=y; the cap doubled to 1 MiB
    # in commit d8a759b57035 ("mm, page_alloc: double zone's batchsize"), v4.19
    batch = managed_pages // 1024
    if batch * m.geo.page_size > m.pcp_batch_cap():
        batch = m.pcp_batch_cap() // m.geo.page_size
    batch //= 4
    if batch < 1:
        batch = 1
    return rounddown_pow_of_two(batch + batch // 2) - 1


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
