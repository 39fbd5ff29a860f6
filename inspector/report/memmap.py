"""``memory_map_svg``: guest-physical memory per NUMA node, one horizontal band per node on a
shared, compressed address axis (each stretch between two boundaries — node, zone, memblock
memory region — gets a width growing with size**0.4, so a 16 MiB DMA zone stays visible next
to GiBs of DMA32/Normal). Inside a band: the zones (``zone_start_pfn`` .. +``spanned_pages``,
labelled with name, present and managed pages), hatched holes (span not in
``memblock.memory``) and, in a strip under the zones, the ``memblock.reserved`` ranges.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from inspector.report.draw import (
    DEFAULT_PAGE_SIZE,
    ZONE_COLOURS,
    Axis,
    _document,
    _fmt,
    _rect,
    _stagger,
    _subtract,
    _text,
    _title,
    hex_address,
    human_size,
)
from inspector.rundir import input_snapshot, nodes_snapshot, reserved_regions
from inspector.schema import MemblockRegion, Node, Snapshot, Zone

MM_LEFT = 150.0  # node labels


MM_WIDTH = 1100.0  # the address axis


MM_RIGHT = 90.0


ZONE_H = 64.0


RES_H = 12.0


BAND_PAD = 10.0


BAND_GAP = 18.0


HATCH = (
    "<pattern id='hole' patternUnits='userSpaceOnUse' width='6' height='6' "
    "patternTransform='rotate(45)'><rect width='6' height='6' fill='#f2f2f2'/>"
    "<line x1='0' y1='0' x2='0' y2='6' stroke='#888' stroke-width='2'/></pattern>"
)


def _zone_label(z: Zone, w: float, page: int) -> list[str]:
    """The lines of a zone's label that fit a rectangle ``w`` pixels wide."""
    managed = "?" if z.managed_pages is None else str(z.managed_pages)
    candidates = [
        [
            f"{z.name} {human_size(z.spanned_pages * page)}",
            f"present {z.present_pages}",
            f"managed {managed}",
        ],
        [z.name, f"p {z.present_pages}", f"m {managed}"],
        [z.name],
    ]
    for lines in candidates:
        if max(len(s) for s in lines) * 6.4 + 6 <= w:
            return lines
    return []


def memory_map_svg(snapshots: dict[str, Snapshot]) -> str:
    """Guest-physical memory per node: zones, holes and memblock.reserved on one axis.

    ``snapshots`` maps stop names to (merged) snapshots, as ``inspector.rundir.load_run``
    returns them; it needs stop 1's inputs and one stop with nodes and zones.
    """
    first = input_snapshot(snapshots)
    with_nodes = nodes_snapshot(snapshots)
    if first is None or first.inputs is None or with_nodes is None:
        raise ValueError("a memory map needs stop 1's inputs and a snapshot with nodes")
    inputs = first.inputs
    page = inputs.constants.get("PAGE_SIZE", DEFAULT_PAGE_SIZE)
    memory = [(r.base, r.base + r.size) for r in inputs.memblock.memory]
    reserved = reserved_regions(snapshots)
    # nodes the topology names but no stop captured (memoryless, maybe never onlined)
    known = {n.node_id for n in with_nodes.nodes}
    named = set(range(len(inputs.node_distance))) | set(inputs.online_nodes or [])
    named |= {nid for nid in inputs.cpu_to_node if 0 <= nid < 1024}
    extra = [Node(nid, 0, 0, 0) for nid in sorted(named - known)]
    nodes = sorted([*with_nodes.nodes, *extra], key=lambda n: n.node_id)
    spans = {
        n.node_id: (n.node_start_pfn * page, (n.node_start_pfn + n.node_spanned_pages) * page)
        for n in nodes
        if n.node_spanned_pages
    }

    bounds: set[int] = set()
    for a, b in spans.values():
        bounds |= {a, b}
    for n in nodes:
        for z in n.zones:
            if z.spanned_pages:
                bounds |= {z.zone_start_pfn * page, (z.zone_start_pfn + z.spanned_pages) * page}
    if spans:
        lo = min(a for a, _ in spans.values())
        hi = max(b for _, b in spans.values())
        bounds |= {x for a, b in memory for x in (a, b) if lo <= x <= hi}
    else:
        bounds |= {x for a, b in memory for x in (a, b)}
    axis = Axis.build(bounds, MM_LEFT, MM_WIDTH, page)

    k = first.kernel
    total_present = sum(n.node_present_pages for n in nodes)
    body = [
        _text(
            MM_LEFT,
            24,
            f"Linux {k.release or k.version} {k.arch}: guest-physical memory per node",
            size=16,
            extra=" font-weight='bold'",
        ),
        _text(
            MM_LEFT,
            42,
            f"{len(nodes)} node(s), {total_present} present pages "
            f"({human_size(total_present * page)}); zones from stop {with_nodes.stop}, "
            "compressed axis (width grows with size^0.4)",
            size=11,
            extra=" fill='#555'",
        ),
    ]
    body += _memmap_legend(MM_LEFT, 56)
    top = 84.0
    band_h = ZONE_H + RES_H + 2 * BAND_PAD + 6
    y = top
    for n in nodes:
        body += _node_band(n, y, band_h, axis, page, memory, reserved, spans.get(n.node_id))
        y += band_h + BAND_GAP
    bottom = y - BAND_GAP

    # boundaries: faint lines through every band, staggered hex labels under the last one
    ticks = sorted(bounds)
    labels = [(axis.x(b), hex_address(b)) for b in ticks]
    rows = _stagger(labels, 6.0)
    for (x, s), r in zip(labels, rows, strict=True):
        ly = bottom + 16 + 14 * r
        body.append(
            f"<line x1='{_fmt(x)}' y1='{_fmt(top - 4)}' x2='{_fmt(x)}' y2='{_fmt(ly - 10)}' "
            "stroke='#999' stroke-width='0.6' stroke-dasharray='2,2'/>"
        )
        body.append(_text(x, ly, s, size=10, anchor="middle", cls="tick"))
    y = bottom + 16 + 14 * (max(rows, default=0) + 1) + 12

    # the numbers, for when a label does not fit its rectangle
    body.append(_text(MM_LEFT, y, "zones", size=12, extra=" font-weight='bold'"))
    y += 16
    for n in nodes:
        for z in n.zones:
            if not z.spanned_pages and not z.present_pages:
                continue
            start = z.zone_start_pfn * page
            end = start + z.spanned_pages * page
            managed = "?" if z.managed_pages is None else str(z.managed_pages)
            present = str(z.present_pages)
            if z.present_pages >= 1 << 63:  # an unsigned long that went below zero
                present += f" (wrapped: {z.present_pages - (1 << 64)})"
            body.append(
                _rect(MM_LEFT, y - 9, 10, 10, ZONE_COLOURS.get(z.name, "#ccc"))
                + _text(
                    MM_LEFT + 16,
                    y,
                    f"node {n.node_id} {z.name:<8} {start:#x}–{end:#x} "
                    f"({human_size(end - start)})  spanned {z.spanned_pages}  "
                    f"present {present}  managed {managed}",
                    size=11,
                    extra=" xml:space='preserve' font-family='DejaVu Sans Mono, monospace'",
                )
            )
            y += 15
    return _document(MM_LEFT + MM_WIDTH + MM_RIGHT, y + 10, body, defs=HATCH)


def _memmap_legend(x: float, y: float) -> list[str]:
    out = []
    items: list[tuple[str, str]] = [
        ("url(#hole)", "hole (not in memblock.memory)"),
        ("#c0392b", "memblock.reserved"),
    ]
    for fill, label in items:
        out.append(_rect(x, y, 14, 12, fill, extra=" stroke='#666' stroke-width='0.5'"))
        out.append(_text(x + 20, y + 10, label, size=11))
        x += 40 + len(label) * 6.2
    return out


def _node_band(
    n: Node,
    y: float,
    h: float,
    axis: Axis,
    page: int,
    memory: list[tuple[int, int]],
    reserved: list[MemblockRegion],
    span: tuple[int, int] | None,
) -> list[str]:
    out = [f"<g class='node' id='node-{n.node_id}'>"]
    x0, x1 = MM_LEFT - 140, MM_LEFT + MM_WIDTH
    out.append(
        _rect(x0, y, x1 - x0 + 10, h, "#eef2f7", cls="node-band", extra=" rx='4'")
        + _text(x0 + 8, y + 20, f"node {n.node_id}", size=14, extra=" font-weight='bold'")
        + _text(x0 + 8, y + 38, f"spanned {n.node_spanned_pages}", size=10)
        + _text(x0 + 8, y + 52, f"present {n.node_present_pages}", size=10)
        + _text(x0 + 8, y + 66, human_size(n.node_present_pages * page), size=10)
    )
    zy = y + BAND_PAD
    if span is None:
        out.append(
            _text(
                MM_LEFT + 10,
                zy + ZONE_H / 2,
                "no memory (memoryless node)",
                size=12,
                cls="memoryless",
                extra=" fill='#555'",
            )
        )
        out.append("</g>")
        return out
    for z in n.zones:
        if not z.spanned_pages:
            continue
        a = z.zone_start_pfn * page
        b = a + z.spanned_pages * page
        xa, xb = axis.x(a), axis.x(b)
        managed = "?" if z.managed_pages is None else str(z.managed_pages)
        tip = (
            f"node {n.node_id} {z.name}: {a:#x}-{b:#x}, spanned {z.spanned_pages}, "
            f"present {z.present_pages}, managed {managed}"
        )
        out.append(
            _rect(
                xa,
                zy,
                xb - xa,
                ZONE_H,
                ZONE_COLOURS.get(z.name, "#ccc"),
                cls="zone",
                extra=f" data-zone={quoteattr(z.name)} data-node='{n.node_id}' "
                "stroke='#444' stroke-width='0.8'",
            ).replace("/>", f">{_title(tip)}</rect>")
        )
    # holes over the zones, labels over the holes
    for a, b in _subtract(span[0], span[1], memory):
        xa, xb = axis.x(a), axis.x(b)
        out.append(
            _rect(
                xa,
                zy,
                max(xb - xa, 1.5),
                ZONE_H,
                "url(#hole)",
                cls="hole",
                extra=f" data-start='{a:#x}' data-end='{b:#x}' opacity='0.85'",
            ).replace("/>", f">{_title(f'hole {a:#x}-{b:#x} ({human_size(b - a)})')}</rect>")
        )
    for z in n.zones:
        if not z.spanned_pages:
            continue
        a = z.zone_start_pfn * page
        xa, xb = axis.x(a), axis.x(a + z.spanned_pages * page)
        for i, line in enumerate(_zone_label(z, xb - xa, page)):
            bold = " font-weight='bold'" if i == 0 else ""
            bold += " stroke='white' stroke-width='3' stroke-opacity='0.8' paint-order='stroke'"
            out.append(
                _text(
                    (xa + xb) / 2,
                    zy + 18 + 15 * i,
                    line,
                    size=12 if i == 0 else 11,
                    anchor="middle",
                    cls="zone-label",
                    extra=bold,
                )
            )
    # memblock.reserved, in a strip under the zones
    ry = zy + ZONE_H + 4
    xa, xb = axis.x(span[0]), axis.x(span[1])
    out.append(_rect(xa, ry, xb - xa, RES_H, "#fafafa", extra=" stroke='#bbb' stroke-width='0.5'"))
    for r in reserved:
        a, b = max(r.base, span[0]), min(r.base + r.size, span[1])
        if a >= b:
            continue
        ra, rb = axis.x(a), axis.x(b)
        tip = f"reserved {r.base:#x}-{r.base + r.size:#x} ({human_size(r.size)})"
        out.append(
            _rect(ra, ry, max(rb - ra, 1.5), RES_H, "#c0392b", cls="reserved").replace(
                "/>", f">{_title(tip)}</rect>"
            )
        )
    out.append("</g>")
    return out
