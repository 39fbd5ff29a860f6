"""Two pictures of build_all_zonelists() and init_per_zone_wmark_min(): each node's fallback
zonelist as a graph (the zone an allocation on that node tries first, then each fallback in
order), and each zone's watermarks and lowmem_reserve as bars on one scale of pages."""

from __future__ import annotations

from inspector.report.draw import ZONE_COLOURS, _document, _rect, _text, _title
from inspector.schema import Snapshot, Zone

BOX_W, BOX_H, GAP, ROW_H = 104.0, 34.0, 34.0, 58.0


def zonelists_svg(snap: Snapshot) -> str:
    """One row per zonelist (fallback first, then __GFP_THISNODE's), the allocator's order left
    to right; an arrow is a fallback, a box is (node, zone) coloured by the zone."""
    lists = sorted(snap.zonelists or [], key=lambda z: (z.kind != "fallback", z.node))
    longest = max((len(z.zones) for z in lists), default=1)
    width = 150 + longest * (BOX_W + GAP)
    body = [_text(10, 22, "Zonelists: the order each node's allocations try the zones", size=14)]
    arrow = (
        "<marker id='arrow' viewBox='0 0 10 10' refX='10' refY='5' markerWidth='7' "
        "markerHeight='7' orient='auto'><path d='M0,0 L10,5 L0,10 z' fill='#555'/></marker>"
    )
    for row, zl in enumerate(lists):
        y = 44 + row * ROW_H
        label = f"node {zl.node} {'fallback' if zl.kind == 'fallback' else 'this node'}"
        body.append(_text(10, y + BOX_H / 2 + 4, label, size=12, cls="zl-node"))
        for i, (nid, zone) in enumerate(zl.zones):
            x = 150 + i * (BOX_W + GAP)
            colour = ZONE_COLOURS.get(zone, "#ccc")
            body.append(
                "<g class='zl-zone'>"
                + _title(f"{i + 1}. node {nid} {zone} ({label})")
                + _rect(x, y, BOX_W, BOX_H, colour, cls="zl-box", extra=" stroke='#444' rx='5'")
                + _text(
                    x + BOX_W / 2, y + BOX_H / 2 + 4, f"N{nid} {zone}", size=12, anchor="middle"
                )
                + "</g>"
            )
            if i:
                body.append(
                    f"<line x1='{x - GAP + 2}' y1='{y + BOX_H / 2}' x2='{x - 2}' "
                    f"y2='{y + BOX_H / 2}' stroke='#555' marker-end='url(#arrow)'/>"
                )
    height = 60 + len(lists) * ROW_H
    return _document(width, height, body, defs=arrow)


WMARK_COLOURS = ("#d9534f", "#f0ad4e", "#f6d365", "#8cc084")
WMARK_NAMES = ("min", "low", "high", "promo")
BAR_X, BAR_W = 230.0, 640.0


def _zones(snap: Snapshot) -> list[Zone]:
    return [z for n in snap.nodes for z in n.zones if z.watermark is not None]


def watermarks_svg(snap: Snapshot) -> str:
    """Per zone: min, low, high (and 6.12's promo) as nested bars, and below them the pages the
    zone keeps back (lowmem_reserve) from allocations that could use each zone above it, all on
    one linear scale of pages."""
    zones = _zones(snap)
    names = {z.idx: z.name for z in zones}
    top = max(
        [1]
        + [max(z.watermark or [0]) for z in zones]
        + [max(z.lowmem_reserve or [0]) for z in zones]
    )
    scale = BAR_W / top
    body = [
        _text(10, 22, "Watermarks and lowmem_reserve per zone (pages, one scale)", size=14),
    ]
    x = BAR_X
    for i, name in enumerate(WMARK_NAMES):  # legend
        body.append(_rect(x, 32, 12, 12, WMARK_COLOURS[i]) + _text(x + 16, 42, name, size=11))
        x += 70
    y = 60.0
    for z in zones:
        wm = z.watermark or []
        head = f"node {z.node} {z.name}"
        body.append(_text(10, y + 13, head, size=12, cls="wm-zone"))
        body.append(_text(10, y + 27, f"managed {z.managed_pages}", size=10))
        for i in reversed(range(len(wm))):  # the widest first, each inside the next
            body.append(
                _rect(BAR_X, y, wm[i] * scale, 18, WMARK_COLOURS[i % 4], cls="wm-bar")
                + _title(f"{head} watermark[{WMARK_NAMES[i]}] = {wm[i]} pages")
            )
        if wm:
            label = " / ".join(f"{WMARK_NAMES[i]} {v}" for i, v in enumerate(wm))
            body.append(_text(BAR_X + max(wm) * scale + 6, y + 13, label, size=10))
        y += 24
        for j, v in enumerate(z.lowmem_reserve or []):
            if j <= z.idx or j not in names:
                continue
            body.append(
                _text(BAR_X - 6, y + 9, f"reserve vs {names[j]}", size=10, anchor="end")
                + _rect(BAR_X, y, v * scale, 10, "#7f8c8d", cls="lowmem-bar")
                + _title(f"{head} lowmem_reserve[{names[j]}] = {v} pages")
                + _text(BAR_X + v * scale + 6, y + 9, str(v), size=10)
            )
            y += 14
        y += 12
    return _document(BAR_X + BAR_W + 260, y + 10, body)
