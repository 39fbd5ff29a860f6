"""Chain paths (``zp``, ``np_``, ``gp``) and the provenance notes of values the model computes by
simulation rather than by a closed form: where ZONE_MOVABLE starts, a node's range, the hand-off's
counts, the pagesets, managed pages that grow after the hand-off. Values with a closed form are
computed by their own chain where the model computes them (``Provenance.derive``: zone sizes in
inspector.model.linux.zone_sizes, the zone limits in free_area_init, the watermarks,
min_free_kbytes, lowmem_reserve and the pcp batch in watermarks), so a value and its derivation
are written once."""

from __future__ import annotations

from typing import Any

from inspector.model.linux.state import BootState, ZoneState
from inspector.model.provenance import Given
from inspector.schema import MIGRATETYPES


def zp(z: ZoneState, field: str) -> str:
    """The compare path of a zone field: ``node[0].zone[DMA32].managed_pages``."""
    return f"node[{z.node}].zone[{z.name}].{field}"


def np_(nid: int, field: str) -> str:
    return f"node[{nid}].{field}"


def gp(name: str) -> str:
    return f"globals[{name}]"


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
    # get_pfn_range_for_nid()
    fn = m.cite("get_pfn_range_for_nid()", mm_init=True)
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


def managed_grew(m: BootState, before: dict[tuple[int, int], int], fn: str, what: str) -> None:
    """A step after the hand-off added pages to zones' managed_pages (the deferred struct pages,
    the CMA areas): each grown zone's chain becomes the hand-off's (kept as
    ``managed_pages@<what>``) plus the pages added, so later chains read the value the zone now
    has."""
    p = m.prov
    for z in m.all_zones():
        grown = z.managed_pages - before[(z.node, z.idx)]
        if not grown:
            continue
        path = zp(z, "managed_pages")
        kept = p.keep(path, what)
        p.note(
            path,
            z.managed_pages,
            "managed_before + added",
            fn,
            managed_before=kept,
            added=Given(grown, f"the pages {what} freed into this zone (the model's count)"),
        )
