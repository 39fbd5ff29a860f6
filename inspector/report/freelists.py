"""``free_lists_svg``: the buddy allocator as ``free_all_bootmem``/``memblock_free_all`` left it,
one bar chart per zone: ``nr_free`` per order (log scale), each bar split by migratetype.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import quoteattr

from inspector.report.draw import MIGRATETYPE_COLOURS, _document, _fmt, _rect, _text, _title
from inspector.schema import MIGRATETYPES, Snapshot, Zone

PANEL_W = 560.0


PANEL_H = 235.0


PANEL_GAP = 24.0


PLOT_LEFT = 50.0  # inside a panel


PLOT_TOP = 44.0


PLOT_H = 150.0


def free_lists_svg(snapshot: Snapshot) -> str:
    """One bar chart per zone (with pages) of ``nr_free`` per order, split by migratetype.

    ``snapshot`` is the buddy hand-off (``free_all_bootmem.return`` /
    ``memblock_free_all.return``), whose zones carry ``free_area``.
    """
    zones = [
        z
        for n in sorted(snapshot.nodes, key=lambda n: n.node_id)
        for z in n.zones
        if z.free_area and (z.spanned_pages or any(fa.nr_free for fa in z.free_area))
    ]
    if not zones:
        raise ValueError(f"stop {snapshot.stop}: no zone carries free_area")
    cols = 2 if len(zones) > 1 else 1
    rows = math.ceil(len(zones) / cols)
    top = 74.0
    width = 20 + cols * (PANEL_W + PANEL_GAP)
    height = top + rows * (PANEL_H + PANEL_GAP) + 10
    k = snapshot.kernel
    body = [
        _text(
            20,
            24,
            f"Linux {k.release or k.version} {k.arch}: buddy free lists at {snapshot.stop}",
            size=16,
            extra=" font-weight='bold'",
        ),
        _text(
            20,
            42,
            "nr_free (free blocks of 2^order pages) per order, log scale; "
            "each bar split by migratetype (free_list lengths)",
            size=11,
            extra=" fill='#555'",
        ),
    ]
    x = 20.0
    for i, mt in enumerate(MIGRATETYPES):
        body.append(_rect(x, 52, 14, 12, MIGRATETYPE_COLOURS[i % len(MIGRATETYPE_COLOURS)]))
        body.append(_text(x + 20, 62, mt, size=11))
        x += 34 + len(mt) * 6.5
    for i, z in enumerate(zones):
        px = 20 + (i % cols) * (PANEL_W + PANEL_GAP)
        py = top + (i // cols) * (PANEL_H + PANEL_GAP)
        body += _zone_panel(z, px, py)
    return _document(width, height, body)


def _zone_panel(z: Zone, px: float, py: float) -> list[str]:
    areas = sorted(z.free_area or [], key=lambda fa: fa.order)
    free_pages = sum(fa.nr_free << fa.order for fa in areas)
    managed = "?" if z.managed_pages is None else str(z.managed_pages)
    out = [
        f"<g class='zone-panel' data-node='{z.node}' data-zone={quoteattr(z.name)}>",
        _rect(px, py, PANEL_W, PANEL_H, "#fbfbfb", extra=" stroke='#ccc' rx='4'"),
        _text(
            px + 10,
            py + 18,
            f"node {z.node} {z.name}",
            size=13,
            extra=" font-weight='bold'",
        ),
        _text(
            px + 10,
            py + 34,
            f"managed {managed} pages, free {free_pages} pages in "
            f"{sum(fa.nr_free for fa in areas)} blocks",
            size=10,
            extra=" fill='#555'",
        ),
    ]
    peak = max((fa.nr_free for fa in areas), default=0)
    top_val = max(peak, 1)
    scale_max = math.log2(1 + top_val)

    def bar_h(v: float) -> float:
        return PLOT_H * math.log2(1 + v) / scale_max if v > 0 else 0.0

    x0 = px + PLOT_LEFT
    base = py + PLOT_TOP + PLOT_H
    plot_w = PANEL_W - PLOT_LEFT - 16
    # y grid at powers of ten (log scale)
    v = 1
    while v <= top_val:
        gy = base - bar_h(v)
        out.append(
            f"<line x1='{_fmt(x0)}' y1='{_fmt(gy)}' x2='{_fmt(x0 + plot_w)}' y2='{_fmt(gy)}' "
            "stroke='#ddd' stroke-width='0.6'/>"
        )
        out.append(_text(x0 - 6, gy + 3, str(v), size=9, anchor="end", extra=" fill='#777'"))
        v *= 10
    out.append(
        f"<line x1='{_fmt(x0)}' y1='{_fmt(base)}' x2='{_fmt(x0 + plot_w)}' y2='{_fmt(base)}' "
        "stroke='#333'/>"
    )
    slot = plot_w / max(len(areas), 1)
    bw = slot * 0.7
    for fa in areas:
        bx = x0 + fa.order * slot + (slot - bw) / 2
        h = bar_h(fa.nr_free)
        out.append(f"<g class='bar' data-order='{fa.order}' data-nr-free='{fa.nr_free}'>")
        lengths = list(fa.free_list or [])
        total = sum(lengths)
        if fa.nr_free and total:
            y = base
            for j, n in enumerate(lengths):
                if not n:
                    continue
                seg = h * n / total
                y -= seg
                name = MIGRATETYPES[j] if j < len(MIGRATETYPES) else f"type {j}"
                out.append(
                    _rect(
                        bx,
                        y,
                        bw,
                        seg,
                        MIGRATETYPE_COLOURS[j % len(MIGRATETYPE_COLOURS)],
                        cls="segment",
                        extra=f" data-migratetype={quoteattr(name)} data-count='{n}'",
                    ).replace("/>", f">{_title(f'order {fa.order} {name}: {n}')}</rect>")
                )
        elif fa.nr_free:
            out.append(_rect(bx, base - h, bw, h, "#999", cls="segment"))
        out.append(
            _text(bx + bw / 2, base - h - 4, str(fa.nr_free), size=10, anchor="middle", cls="count")
        )
        out.append("</g>")
        out.append(_text(bx + bw / 2, base + 14, str(fa.order), size=10, anchor="middle"))
    out.append(_text(x0 + plot_w / 2, base + 30, "order", size=10, anchor="middle"))
    out.append("</g>")
    return out
