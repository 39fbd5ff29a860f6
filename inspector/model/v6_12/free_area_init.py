"""Zone and node sizes in 6.12 (mm/mm_init.c): free_area_init() → free_area_init_node() →
calculate_node_totalpages() → free_area_init_core(), ZONE_MOVABLE with ``N%`` sizes, and
calc_nr_kernel_pages(). What is unchanged from 4.7 is imported from inspector.model.v4_7."""

from __future__ import annotations

from inspector.errors import InspectorError
from inspector.model import chains
from inspector.model.common import (
    MEMBLOCK_MIRROR,
    NUMA_NO_NODE,
    clamp,
    early_params,
    for_each_free_mem_range,
    for_each_mem_pfn_range,
    memparse,
    pfn_down,
    pfn_up,
    roundup,
    simple_strtoull,
)
from inspector.model.memblock import MEMBLOCK_ALLOC_ACCESSIBLE
from inspector.model.v4_7.free_area_init import (
    _note_managed,
    _spread_kernelcore,
    adjust_zone_range_for_zone_movable,
    early_calculate_totalpages,
    find_usable_zone_for_movable,
    get_pfn_range_for_nid,
    log_zone_ranges,
    zone_freesize,
)
from inspector.model.v4_7.state import PgdatState, ZoneState, _hex018
from inspector.model.v6_12.state import Linux612State


def cmdline_parse_core(m: Linux612State) -> tuple[int, int]:
    # mirrors cmdline_parse_kernelcore() / cmdline_parse_movablecore() → cmdline_parse_core()
    # (mm/mm_init.c, 6.12): a size, or ``N%``; returns (kernelcore %, movablecore %)
    percent = {"kernelcore": 0, "movablecore": 0}
    for name, value in early_params(m.inputs.cmdline):
        if value is None or name not in percent:
            continue
        if name == "kernelcore" and value == "mirror":
            m.mirrored_kernelcore = True
            continue
        number, rest = simple_strtoull(value, 0)
        if rest.startswith("%"):
            percent[name] = number
            continue
        pages = memparse(value)[0] >> m.geo.page_shift
        if name == "kernelcore":
            m.required_kernelcore = pages
        else:
            m.required_movablecore = pages
        percent[name] = 0
    return percent["kernelcore"], percent["movablecore"]


def find_zone_movable_pfns_for_nodes(m: Linux612State, kc_percent: int, mc_percent: int) -> None:
    # mirrors find_zone_movable_pfns_for_nodes() (mm/mm_init.c, 6.12)
    totalpages, memory_nodes = early_calculate_totalpages(m)
    find_usable_zone_for_movable(m)
    if m.mirrored_kernelcore:
        if not any(r.flags & MEMBLOCK_MIRROR for r in m.memblock.memory):
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
    if m.required_movablecore:
        movable = roundup(m.required_movablecore, m.geo.max_order_nr_pages)
        m.required_movablecore = min(totalpages, movable)
        m.required_kernelcore = max(m.required_kernelcore, totalpages - m.required_movablecore)
    if not m.required_kernelcore or m.required_kernelcore >= totalpages:
        return  # out
    _spread_kernelcore(m, totalpages, memory_nodes)
    _out2(m)


def _out2(m: Linux612State) -> None:
    # the out2: label (mm/mm_init.c, 6.12): align, and drop a start at or beyond the node's end
    for nid in range(m.max_numnodes):
        pfn = roundup(m.zone_movable_pfn.get(nid, 0), m.geo.max_order_nr_pages)
        _, end = get_pfn_range_for_nid(m, nid)
        if pfn >= end:
            pfn = 0
        if pfn or nid in m.zone_movable_pfn:
            m.zone_movable_pfn[nid] = pfn


FN_INIT = "free_area_init() (mm/mm_init.c, 6.12)"
FN_SPANNED = "zone_spanned_pages_in_node() (mm/mm_init.c, 6.12)"
FN_ABSENT = "zone_absent_pages_in_node() (mm/mm_init.c, 6.12)"
FN_TOTAL = "calculate_node_totalpages() (mm/mm_init.c, 6.12)"


def free_area_init(m: Linux612State) -> None:
    # mirrors free_area_init() (mm/mm_init.c, 6.12); x86 and arm64 have ascending max_zone_pfn
    mzp = m.inputs.max_zone_pfn
    lo, hi = m.arch_zone_lowest_possible_pfn, m.arch_zone_highest_possible_pfn
    memory = m.memblock.memory
    start_pfn = memory[0].base >> m.geo.page_shift if memory else 0  # PHYS_PFN(start of DRAM)
    for i in range(m.max_nr_zones):
        if i == m.zone_movable:
            continue
        end_pfn = max(mzp[i], start_pfn)
        lo[i], hi[i] = start_pfn, end_pfn
        start_pfn = end_pfn
    first = [memory[0].base >> m.geo.page_shift] if memory else [0]
    chains.arch_zone_ranges(m, FN_INIT, first, clamp_low=True)
    kc, mc = cmdline_parse_core(m)
    find_zone_movable_pfns_for_nodes(m, kc, mc)
    chains.zone_movable(
        m,
        sorted(set(m.inputs.possible_nodes) | set(m.online_nodes())),
        "find_zone_movable_pfns_for_nodes() (mm/mm_init.c, 6.12)",
    )
    log_zone_ranges(m)
    # every possible node since change "possible-nodes" (commit 09f49dca570a, v5.18), an
    # offline one with a pg_data_t from memblock; before, the online ones
    nodes = m.possible_nodes if m.has("possible-nodes") else m.online_nodes()
    for nid in nodes:
        if nid not in m.online_nodes():
            if not m.has("offline-node-line-dropped"):
                m.log.append(f"Initializing node {nid} as memoryless")
            alloc_offline_node_data(m)
        free_area_init_node(m, nid)
    if m.has("calc-nr-kernel-pages"):
        calc_nr_kernel_pages(m)


def alloc_offline_node_data(m: Linux612State) -> None:
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


def free_area_init_node(m: Linux612State, nid: int) -> None:
    # mirrors free_area_init_node() (mm/mm_init.c, 6.12)
    start_pfn, end_pfn = get_pfn_range_for_nid(m, nid)
    ranges = list(for_each_mem_pfn_range(m.memblock, nid, m.geo.page_shift))
    chains.node_range(
        m, nid, start_pfn, end_pfn, [s for s, _, _ in ranges], [e for _, e, _ in ranges]
    )
    pgdat = PgdatState(node_id=nid, node_start_pfn=start_pfn)
    pgdat.zones = [ZoneState(node=nid, idx=j, name=m.zone_names[j]) for j in range(m.max_nr_zones)]
    m.pgdats[nid] = pgdat
    if start_pfn != end_pfn:
        end_phys = m._phys(end_pfn) - 1 if end_pfn else 0
        m.log.append(
            f"Initmem setup node {nid} [mem {_hex018(m._phys(start_pfn))}-{_hex018(end_phys)}]"
        )
        calculate_node_totalpages(m, pgdat, start_pfn, end_pfn)
    else:
        m.log.append(f"Initmem setup node {nid} as memoryless")
        pgdat.node_start_pfn = start_pfn  # reset_memoryless_node_totalpages(): all zero
    free_area_init_core(m, pgdat)


def zone_spanned_pages_in_node(
    m: Linux612State, nid: int, zone_type: int, node_start: int, node_end: int
) -> tuple[int, int, int]:
    # mirrors zone_spanned_pages_in_node() (mm/mm_init.c, 6.12): (spanned, start, end)
    low = m.arch_zone_lowest_possible_pfn[zone_type]
    high = m.arch_zone_highest_possible_pfn[zone_type]
    zs, ze = clamp(node_start, low, high), clamp(node_end, low, high)
    zs, ze = adjust_zone_range_for_zone_movable(m, nid, zone_type, node_end, zs, ze)
    if ze < node_start or zs > node_end:
        return 0, zs, ze
    ze, zs = min(ze, node_end), max(zs, node_start)
    return ze - zs, zs, ze


def zone_absent_pages_in_node(
    m: Linux612State, nid: int, zone_type: int, zone_start: int, zone_end: int
) -> int:
    # mirrors zone_absent_pages_in_node() and __absent_pages_in_range() (mm/mm_init.c, 6.12)
    if zone_start == zone_end:
        return 0
    nr_absent = zone_end - zone_start
    for s, e, _ in for_each_mem_pfn_range(m.memblock, nid, m.geo.page_shift):
        nr_absent -= clamp(e, zone_start, zone_end) - clamp(s, zone_start, zone_end)
    if m.mirrored_kernelcore and m.zone_movable_pfn.get(nid):
        for r in m.memblock.memory:
            s = clamp(pfn_up(r.base, m.geo.page_shift), zone_start, zone_end)
            e = clamp(pfn_down(r.base + r.size, m.geo.page_shift), zone_start, zone_end)
            mirror = bool(r.flags & MEMBLOCK_MIRROR)
            if (zone_type == m.zone_movable and mirror) or (
                zone_type == m.zone_normal and not mirror
            ):
                nr_absent += e - s
    return nr_absent


def calculate_node_totalpages(
    m: Linux612State, pgdat: PgdatState, node_start: int, node_end: int
) -> None:
    # mirrors calculate_node_totalpages() (mm/mm_init.c, 6.12): node_spanned = end - start
    real_total = 0
    for zone in pgdat.zones:
        spanned, zs, ze = zone_spanned_pages_in_node(
            m, pgdat.node_id, zone.idx, node_start, node_end
        )
        absent = zone_absent_pages_in_node(m, pgdat.node_id, zone.idx, zs, ze)
        zone.zone_start_pfn = zs if spanned else 0
        zone.spanned_pages = spanned
        zone.present_pages = spanned - absent
        real_total += zone.present_pages
        _note_zone_sizes(m, zone, node_start, node_end, absent)
    # the node's span: its end - start since change "node-spanned-end-minus-start"; before,
    # the sum of its zones' spans (which leaves out what no zone covers)
    by_zones = not m.has("node-spanned-end-minus-start")
    if by_zones:
        pgdat.node_spanned_pages = sum(z.spanned_pages for z in pgdat.zones)
    else:
        pgdat.node_spanned_pages = node_end - node_start
    pgdat.node_present_pages = real_total
    chains.node_totals(m, pgdat, FN_TOTAL, spanned_from_zones=by_zones)


def _note_zone_sizes(
    m: Linux612State, zone: ZoneState, node_start: int, node_end: int, absent: int
) -> None:
    # the chains of calculate_node_totalpages()'s values for one zone (inspector.model.chains)
    low = m.arch_zone_lowest_possible_pfn[zone.idx]
    high = m.arch_zone_highest_possible_pfn[zone.idx]
    zs, ze = clamp(node_start, low, high), clamp(node_end, low, high)
    zs, ze = adjust_zone_range_for_zone_movable(m, zone.node, zone.idx, node_end, zs, ze)
    rng = chains.zone_range(m, zone, zs, ze, clamped=True, fn=FN_SPANNED)
    absent_rng = chains.clipped_range(m, zone, rng, FN_SPANNED)
    mirrored = m.mirrored_kernelcore and m.zone_movable_pfn.get(zone.node)
    extra = None if mirrored else ""
    chains.zone_sizes(m, zone, rng, absent_rng, absent, extra, FN_SPANNED, FN_ABSENT, FN_TOTAL)


def free_area_init_core(m: Linux612State, pgdat: PgdatState) -> None:
    # mirrors free_area_init_core() / zone_init_internals() (mm/mm_init.c, 6.12): managed =
    # present; init_currently_empty_zone() for zones that span pages
    for zone in pgdat.zones:
        if m.has("managed-equals-present"):
            zone.managed_pages = zone.present_pages
            if chains.zp(zone, "present_pages") in m.prov.chains:
                m.prov.note(
                    chains.zp(zone, "managed_pages"),
                    zone.managed_pages,
                    "present_pages",
                    "zone_init_internals() (mm/mm_init.c, 6.12)",
                    present_pages=chains.zp(zone, "present_pages"),
                )
        else:
            # before change "managed-equals-present": present pages less the memmap estimate
            # and dma_reserve, summed into nr_kernel_pages / nr_all_pages here (before change
            # "calc-nr-kernel-pages"), as 4.7 did (mm/page_alloc.c, 6.1)
            freesize, terms = zone_freesize(m, zone)
            m.nr_kernel_pages += freesize
            m.nr_all_pages += freesize
            zone.managed_pages = freesize
            if chains.zp(zone, "present_pages") in m.prov.chains:
                _note_managed(m, zone, freesize, terms)
        if zone.spanned_pages:
            pgdat.nr_zones = zone.idx + 1


def calc_nr_kernel_pages(m: Linux612State) -> None:
    # mirrors calc_nr_kernel_pages() (mm/mm_init.c, 6.12): free memblock ranges, no HIGHMEM
    for start, end, _ in for_each_free_mem_range(m.mb.snapshot()):
        s, e = pfn_up(start, m.geo.page_shift), pfn_down(end, m.geo.page_shift)
        if s < e:
            m.nr_all_pages += e - s
            m.nr_kernel_pages += e - s
