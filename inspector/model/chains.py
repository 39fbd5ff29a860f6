"""The provenance notes both versions' models take at the same places (zone and node sizes, the
hand-off's counts, watermarks, lowmem_reserve and pageset batches), recorded as each step computes
its values (inspector.model.provenance). The steps call these with what they computed; the chain
states the kernel expression of that version and its operands."""

from __future__ import annotations

from typing import Any

from inspector.model.common import clamp, for_each_mem_pfn_range
from inspector.model.linux.state import ULONG_MASK, BootState, PgdatState, ZoneState
from inspector.model.provenance import Given
from inspector.schema import MIGRATETYPES


def zp(z: ZoneState, field: str) -> str:
    """The compare path of a zone field: ``node[0].zone[DMA32].managed_pages``."""
    return f"node[{z.node}].zone[{z.name}].{field}"


def np_(nid: int, field: str) -> str:
    return f"node[{nid}].{field}"


def gp(name: str) -> str:
    return f"globals[{name}]"


def arch_zone_ranges(m: BootState, fn: str, start_pfns: list[int], clamp_low: bool) -> None:
    # free_area_init_nodes() (4.7) / free_area_init() (6.12): arch_zone_*_possible_pfn
    p = m.prov
    lo, hi = m.arch_zone_lowest_possible_pfn, m.arch_zone_highest_possible_pfn
    mzp = m.inputs.max_zone_pfn
    prev = ""
    for i, name in enumerate(m.zone_names):
        low, high = (
            f"arch_zone_lowest_possible_pfn[{name}]",
            f"arch_zone_highest_possible_pfn[{name}]",
        )
        if i == m.zone_movable:
            p.note(gp(low), lo[i], "0", fn, note="ZONE_MOVABLE is placed per node later")
            p.note(gp(high), hi[i], "0", fn, note="ZONE_MOVABLE is placed per node later")
            continue
        given = p.given(mzp[i], "max_zone_pfn", f"[{name}]")
        if not prev:
            p.note(
                gp(low), lo[i], "min(start_pfns)", fn, start_pfns=p.given(start_pfns, "memblock")
            )
            if clamp_low:
                p.note(
                    gp(high), hi[i], "max(max_zone_pfn, low)", fn, max_zone_pfn=given, low=gp(low)
                )
            else:
                p.note(gp(high), hi[i], "max_zone_pfn", fn, max_zone_pfn=given)
        else:
            p.note(gp(low), lo[i], "prev_high", fn, prev_high=gp(prev))
            p.note(gp(high), hi[i], "max(max_zone_pfn, low)", fn, max_zone_pfn=given, low=gp(low))
        prev = high


def zone_movable(m: BootState, nids: list[int], fn: str) -> None:
    # find_zone_movable_pfns_for_nodes(): where ZONE_MOVABLE starts on each node (0: none)
    p = m.prov
    cmdline = p.given(m.inputs.cmdline, "cmdline")
    asked = any(k in m.inputs.cmdline for k in ("kernelcore=", "movablecore="))
    for nid in nids:
        v = m.zone_movable_pfn.get(nid, 0)
        if not asked and not v:
            p.note(
                gp(f"zone_movable_pfn[{nid}]"),
                v,
                "0",
                fn,
                note="no kernelcore=/movablecore=",
                cmdline=cmdline,
            )
        else:
            p.note(
                gp(f"zone_movable_pfn[{nid}]"),
                v,
                None,
                fn,
                cmdline=cmdline,
                note="kernelcore=/movablecore= spread over the nodes' memory, rounded up to "
                "MAX_ORDER_NR_PAGES",
            )


def node_range(
    m: BootState, nid: int, start: int, end: int, starts: list[int], ends: list[int]
) -> None:
    # get_pfn_range_for_nid() (both versions)
    fn = "get_pfn_range_for_nid() (mm/page_alloc.c 4.7, mm/mm_init.c 6.12)"
    g = m.prov.given
    m.prov.note(
        np_(nid, "node_start_pfn"),
        start,
        "min(start_pfns)" if starts else "0",
        fn,
        start_pfns=g(starts, "memblock", f"memory regions of node {nid}"),
    )
    m.prov.note(
        np_(nid, "node_end_pfn"),
        end,
        "max(end_pfns)" if ends else "0",
        fn,
        end_pfns=g(ends, "memblock", f"memory regions of node {nid}"),
    )


def zone_range(
    m: BootState,
    z: ZoneState,
    zone_start: int,
    zone_end: int,
    *,
    clamped: bool,
    fn: str,
    names: tuple[str, str] = ("zone_start", "zone_end"),
) -> tuple[str, str]:
    """The zone's range before it is clipped to the node, as zone_spanned_pages_in_node() takes
    it after adjust_zone_range_for_zone_movable(); returns the two chain paths."""
    p = m.prov
    s, e = zp(z, names[0]), zp(z, names[1])  # locals of zone_spanned_pages_in_node()
    low = gp(f"arch_zone_lowest_possible_pfn[{z.name}]")
    high = gp(f"arch_zone_highest_possible_pfn[{z.name}]")
    nstart, nend = np_(z.node, "node_start_pfn"), np_(z.node, "node_end_pfn")
    zmp = m.zone_movable_pfn.get(z.node, 0)
    zmp_path = gp(f"zone_movable_pfn[{z.node}]")
    movable_hi = gp(f"arch_zone_highest_possible_pfn[{m.zone_names[m.movable_zone]}]")
    args: dict[str, str] = {
        "low": low,
        "high": high,
        "node_start_pfn": nstart,
        "node_end_pfn": nend,
    }
    if clamped:
        start_expr, end_expr = "clamp(node_start_pfn, low, high)", "clamp(node_end_pfn, low, high)"
    else:
        start_expr, end_expr = "low", "high"
    note = ""
    if zmp and z.idx == m.zone_movable:
        start_expr, end_expr = "zone_movable_pfn", "min(node_end_pfn, movable_zone_high)"
        args = {"zone_movable_pfn": zmp_path, "node_end_pfn": nend, "movable_zone_high": movable_hi}
        note = "adjust_zone_range_for_zone_movable(): ZONE_MOVABLE starts at zone_movable_pfn"
    elif zmp and zone_start == zone_end and zone_start != 0:
        start_expr = end_expr
        args["zone_movable_pfn"] = zmp_path
        note = "adjust_zone_range_for_zone_movable(): the zone lies above zone_movable_pfn"
    elif zmp and clamped and zone_end == zmp:
        end_expr = "zone_movable_pfn"
        args["zone_movable_pfn"] = zmp_path
        note = "adjust_zone_range_for_zone_movable(): clipped at zone_movable_pfn"
    p.note(s, zone_start, start_expr, fn, note=note, **args)
    p.note(e, zone_end, end_expr, fn, note=note, **args)
    return s, e


def clipped_range(m: BootState, z: ZoneState, rng: tuple[str, str], fn: str) -> tuple[str, str]:
    """6.12: the range zone_spanned_pages_in_node() hands back, clipped to the node when the zone
    spans any of it, and that zone_absent_pages_in_node() counts holes in."""
    p = m.prov
    s, e = zp(z, "range_start"), zp(z, "range_end")
    nstart, nend = np_(z.node, "node_start_pfn"), np_(z.node, "node_end_pfn")
    zs, ze = (p.chains[x].value for x in rng)
    if z.spanned_pages:
        p.note(
            s,
            max(zs, p.chains[nstart].value),
            "max(zone_start, node_start_pfn)",
            fn,
            zone_start=rng[0],
            node_start_pfn=nstart,
        )
        p.note(
            e,
            min(ze, p.chains[nend].value),
            "min(zone_end, node_end_pfn)",
            fn,
            zone_end=rng[1],
            node_end_pfn=nend,
        )
    else:
        p.note(s, zs, "zone_start", fn, zone_start=rng[0])
        p.note(e, ze, "zone_end", fn, zone_end=rng[1])
    return s, e


def memory_in_range(m: BootState, nid: int, start: int, end: int) -> list[int]:
    """The pages of each of node ``nid``'s memory regions inside [start, end), region by region
    (the terms __absent_pages_in_range() subtracts)."""
    return [
        clamp(e, start, end) - clamp(s, start, end)
        for s, e, _ in for_each_mem_pfn_range(m.memblock, nid, m.geo.page_shift)
    ]


def zone_sizes(
    m: BootState,
    z: ZoneState,
    rng: tuple[str, str],
    absent_rng: tuple[str, str],
    absent: int,
    extra: str | None,
    fn_spanned: str,
    fn_absent: str,
    fn_total: str,
    unsigned: bool = False,
    **extra_ops: Any,
) -> None:
    """spanned_pages, the absent pages, present_pages and zone_start_pfn of one zone; ``extra``
    is what the version adds to the holes (None: not a closed form)."""
    p = m.prov
    s, e = rng
    rs, re_ = (p.chains[x].value for x in absent_rng)
    present_in_zone = memory_in_range(m, z.node, rs, re_)
    nstart, nend = np_(z.node, "node_start_pfn"), np_(z.node, "node_end_pfn")
    if z.spanned_pages:
        p.note(
            zp(z, "spanned_pages"),
            z.spanned_pages,
            "min(zone_end, node_end_pfn) - max(zone_start, node_start_pfn)",
            fn_spanned,
            zone_start=s,
            zone_end=e,
            node_start_pfn=nstart,
            node_end_pfn=nend,
        )
        p.note(
            zp(z, "zone_start_pfn"),
            z.zone_start_pfn,
            "max(zone_start, node_start_pfn)",
            fn_spanned,
            zone_start=s,
            node_start_pfn=nstart,
        )
    else:
        p.note(zp(z, "spanned_pages"), 0, "0", fn_spanned, note="the zone misses the node")
        p.note(
            zp(z, "zone_start_pfn"),
            z.zone_start_pfn,
            "0",
            fn_total,
            note="an empty zone's start is left 0",
        )
    if extra is None:
        p.note(
            zp(z, "absent_pages"),
            absent,
            None,
            fn_absent,
            note="kernelcore=mirror: mirrored and unmirrored regions counted per zone",
            memblock=p.given(m.memblock.memory, "memblock"),
        )
    elif rs != re_ or extra:
        p.note(
            zp(z, "absent_pages"),
            absent,
            "range_end - range_start - sum(memory_in_range)" + extra,
            fn_absent,
            range_start=absent_rng[0],
            range_end=absent_rng[1],
            memory_in_range=p.given(
                present_in_zone, "memblock", "pages of each memory region within the zone's range"
            ),
            **extra_ops,
        )
    else:
        p.note(zp(z, "absent_pages"), absent, "0", fn_absent, note="an empty range")
    wrap: dict[str, Any] = {"ULONG_MASK": ULONG_MASK} if unsigned else {}
    p.note(
        zp(z, "present_pages"),
        z.present_pages,
        "(spanned_pages - absent_pages) & ULONG_MASK"
        if unsigned
        else "spanned_pages - absent_pages",
        fn_total,
        spanned_pages=zp(z, "spanned_pages"),
        absent_pages=zp(z, "absent_pages"),
        **wrap,
    )


def node_totals(
    m: BootState, pgdat: PgdatState, fn: str, spanned_from_zones: bool, unsigned: bool = False
) -> None:
    # calculate_node_totalpages(): 4.7 sums the zones' spans; 6.12 takes node end - start
    p = m.prov
    names = {f"present_{z.name}": zp(z, "present_pages") for z in pgdat.zones}
    wrap: dict[str, Any] = {"ULONG_MASK": ULONG_MASK} if unsigned else {}
    p.note(
        np_(pgdat.node_id, "node_present_pages"),
        pgdat.node_present_pages,
        (f"({' + '.join(names)}) & ULONG_MASK" if unsigned else " + ".join(names)),
        fn,
        **names,
        **wrap,
    )
    if spanned_from_zones:
        spans = {f"spanned_{z.name}": zp(z, "spanned_pages") for z in pgdat.zones}
        p.note(
            np_(pgdat.node_id, "node_spanned_pages"),
            pgdat.node_spanned_pages,
            " + ".join(spans),
            fn,
            **spans,
        )
    else:
        p.note(
            np_(pgdat.node_id, "node_spanned_pages"),
            pgdat.node_spanned_pages,
            "node_end_pfn - node_start_pfn",
            fn,
            node_end_pfn=np_(pgdat.node_id, "node_end_pfn"),
            node_start_pfn=np_(pgdat.node_id, "node_start_pfn"),
        )


def batch(m: BootState, z: ZoneState, value: int, cap_bytes: int, fn: str) -> str:
    """zone_batchsize(): the pcp batch from managed_pages (cap 512 KiB in 4.7, 1 MiB in 6.12)."""
    path = zp(z, "batch")
    m.prov.note(
        path,
        value,
        "rounddown_pow_of_two(max(1, min(managed_pages // 1024, cap // PAGE_SIZE) // 4) * 3 // 2)"
        " - 1",
        fn,
        managed_pages=zp(z, "managed_pages"),
        cap=cap_bytes,
        PAGE_SIZE=m.prov.given(m.geo.page_size, "page_size"),
    )
    return path


def handoff(m: BootState, fn: str) -> None:
    """managed_pages, each free_area's counts and nr_free_pages after the hand-off, each the sum
    of what every memblock range freed (the frames the simulation recorded, in the kernel's
    order), and totalram_pages."""
    p = m.prov
    frames = m.handoff_frames
    ranges = [f"[{f.start_pfn:#x}, {f.end_pfn:#x})" for f in frames]
    note = (
        "each memblock range the hand-off frees, in order: "
        + ", ".join(ranges[:6])
        + (f", … {len(ranges)} ranges" if len(ranges) > 6 else "")
    )
    for z in m.all_zones():
        key = (z.node, z.idx)
        prev_m = 0
        deltas = []
        for f in frames:
            cur = f.managed.get(key, 0)
            deltas.append(cur - prev_m)
            prev_m = cur
        p.note(
            zp(z, "managed_pages"),
            z.managed_pages,
            "sum(freed)",
            fn,
            note=note,
            freed=Given(
                deltas,
                "the model's page-by-page hand-off: this zone's pages freed per memblock range",
            ),
        )
        orders: dict[str, str] = {}
        for o in range(m.geo.max_order):
            per_mt = []
            for mt in range(len(z.free_area[o])):
                prev = 0
                d = []
                for f in frames:
                    cur = f.free_area[key][o][mt] if key in f.free_area else 0
                    d.append(cur - prev)
                    prev = cur
                label = MIGRATETYPES[mt] if mt < len(MIGRATETYPES) else str(mt)
                path = zp(z, f"free_area[{o}].free_list[{label}]")
                p.note(
                    path,
                    z.free_area[o][mt],
                    "sum(change)",
                    fn,
                    note=note,
                    change=Given(
                        d,
                        "the model's page-by-page hand-off: blocks this list gained (merges: "
                        "lost) per memblock range",
                    ),
                )
                per_mt.append((f"list_{label}", path))
            nr = zp(z, f"free_area[{o}].nr_free")
            p.note(
                nr,
                sum(z.free_area[o]),
                " + ".join(n for n, _ in per_mt),
                "free_area[].nr_free (include/linux/mmzone.h)",
                **dict(per_mt),
            )
            orders[f"nr_free_{o}"] = nr
        p.note(
            zp(z, "nr_free_pages"),
            z.nr_free_pages,
            " + ".join(f"(nr_free_{o} << {o})" for o in range(m.geo.max_order)),
            "zone_page_state(zone, NR_FREE_PAGES) (__mod_zone_freepage_state())",
            **orders,
        )
    managed = {f"managed_{z.node}_{z.name}": zp(z, "managed_pages") for z in m.all_zones()}
    p.note(
        gp("totalram_pages"),
        m.totalram_pages,
        " + ".join(managed),
        fn,
        note="every page the hand-off frees lands in a zone",
        **managed,
    )


def min_free_kbytes(m: BootState, counted: list[ZoneState], upper: int, fn: str) -> None:
    """calculate_min_free_kbytes() / init_per_zone_wmark_min(): from nr_free_buffer_pages(),
    the managed pages (less a high watermark still 0) of the zones up to ZONE_NORMAL in the boot
    CPU's node's fallback zonelist."""
    p = m.prov
    terms = {f"managed_{z.node}_{z.name}": zp(z, "managed_pages") for z in counted}
    buf = gp("nr_free_buffer_pages()")
    p.note(
        buf,
        sum(z.managed_pages for z in counted),
        " + ".join(terms) or "0",
        "nr_free_zone_pages(gfp_zone(GFP_USER)) (mm/page_alloc.c)",
        note="the boot CPU's node's fallback zonelist, zones up to Normal",
        **terms,
    )
    kb = gp("lowmem_kbytes")
    p.note(
        kb,
        p.chains[buf].value * (m.geo.page_size >> 10),
        "nr_free_buffer_pages * (PAGE_SIZE >> 10)",
        fn,
        nr_free_buffer_pages=buf,
        PAGE_SIZE=p.given(m.geo.page_size, "page_size"),
    )
    p.note(
        gp("min_free_kbytes"),
        m.min_free_kbytes,
        f"clamp(int_sqrt(lowmem_kbytes * 16), 128, {upper})",
        fn,
        lowmem_kbytes=kb,
    )


def watermarks(m: BootState, lowmem: list[ZoneState], movable_own_min: bool, fn: str) -> None:
    """__setup_per_zone_wmarks(): min is the zone's share of min_free_kbytes by managed pages
    (6.12: ZONE_MOVABLE gets its own clamp), low/high/promo step up by the larger of a quarter
    of it and watermark_scale_factor (10) per 10000 of managed pages."""
    p = m.prov
    terms = {f"managed_{z.node}_{z.name}": zp(z, "managed_pages") for z in lowmem}
    lp = gp("lowmem_pages")
    p.note(lp, sum(z.managed_pages for z in lowmem), " + ".join(terms) or "0", fn, **terms)
    pm = gp("pages_min")
    p.note(
        pm,
        m.min_free_kbytes >> (m.geo.page_shift - 10),
        "min_free_kbytes >> (PAGE_SHIFT - 10)",
        fn,
        min_free_kbytes=gp("min_free_kbytes"),
        PAGE_SHIFT=p.given(m.geo.page_shift, "page_size", "(its log2)"),
    )
    share = "(pages_min * managed_pages // lowmem_pages if lowmem_pages else 0)"
    for z in m.all_zones():
        ops: dict[str, Any] = {
            "pages_min": pm,
            "managed_pages": zp(z, "managed_pages"),
            "lowmem_pages": lp,
        }
        wmin = zp(z, "watermark[min]")
        if movable_own_min and z.idx == m.zone_movable:
            p.note(
                wmin,
                z.watermark[0],
                "clamp(managed_pages // 1024, 32, 128)",
                fn,
                managed_pages=zp(z, "managed_pages"),
            )
        else:
            p.note(wmin, z.watermark[0], share, fn, **ops)
        step = zp(z, "watermark_step")
        p.note(
            step,
            z.watermark[1] - z.watermark[0],
            f"max({share} >> 2, mult_frac(managed_pages, watermark_scale_factor, 10000))",
            fn,
            watermark_scale_factor=10,
            **ops,
        )
        for i, name in enumerate(("low", "high", "3")[: len(z.watermark) - 1], start=1):
            p.note(
                zp(z, f"watermark[{name}]"),
                z.watermark[i],
                f"wmark_min + {i} * step",
                fn,
                wmark_min=wmin,
                step=step,
            )


def lowmem_reserve(m: BootState, ratios: list[int], clear_empty: bool, fn: str) -> None:
    """setup_per_zone_lowmem_reserve(): zone i keeps back, against allocations that may use zone
    j above it, the managed pages of zones i+1..j over zone i's ratio (6.12: 0 for a ratio of 0
    or an empty zone i)."""
    p = m.prov
    for pgdat in m.pgdats.values():
        for i, z in enumerate(pgdat.zones):
            for j, above in enumerate(pgdat.zones):
                path = zp(z, f"lowmem_reserve[{above.name}]")
                value = z.lowmem_reserve[j]
                if j <= i:
                    p.note(path, value, "0", fn, note="no reserve against the zone itself or below")
                    continue
                if clear_empty and (not ratios[i] or not z.managed_pages):
                    p.note(
                        path,
                        value,
                        "0",
                        fn,
                        note="ratio 0 or no managed pages in this zone",
                        ratio=ratios[i],
                        managed_pages=zp(z, "managed_pages"),
                    )
                    continue
                terms = {
                    f"managed_{x.name}": zp(x, "managed_pages") for x in pgdat.zones[i + 1 : j + 1]
                }
                p.note(
                    path,
                    value,
                    f"({' + '.join(terms)}) // ratio",
                    fn,
                    ratio=Given(
                        ratios[i], f"sysctl_lowmem_reserve_ratio[{z.name}] (mm/page_alloc.c)"
                    ),
                    **terms,
                )


def pageset(
    m: BootState,
    z: ZoneState,
    batch_path: str,
    high: int,
    batch: int,
    high_expr: str,
    fn: str,
    **high_ops: Any,
) -> None:
    """Every CPU's pageset of the zone: the same batch and high (``high_expr`` over ``batch``
    and ``high_ops``)."""
    p = m.prov
    for cpu in range(m.nr_cpu_ids):
        p.note(zp(z, f"pageset[{cpu}].batch"), batch, "max(1, batch)", fn, batch=batch_path)
        ops = {"batch": batch_path, **high_ops}
        p.note(zp(z, f"pageset[{cpu}].high"), high, high_expr, fn, **ops)
