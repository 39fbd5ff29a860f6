"""Hand-written SVG pictures of a capture run (no third-party packages).

``memory_map_svg``: guest-physical memory per NUMA node, one horizontal band per node on a
shared, compressed address axis (each stretch between two boundaries — node, zone, memblock
memory region — gets a width growing with size**0.4, so a 16 MiB DMA zone stays visible next
to GiBs of DMA32/Normal). Inside a band: the zones (``zone_start_pfn`` .. +``spanned_pages``,
labelled with name, present and managed pages), hatched holes (span not in
``memblock.memory``) and, in a strip under the zones, the ``memblock.reserved`` ranges.

``free_lists_svg``: the buddy allocator as ``free_all_bootmem``/``memblock_free_all`` left it,
one bar chart per zone: ``nr_free`` per order (log scale), each bar split by migratetype.

``write_pictures``: both pictures into a run directory (``memmap.svg``, ``freelists.svg``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from inspector.registry import Role, names_of
from inspector.schema import MIGRATETYPES, MemblockRegion, Node, Snapshot, Zone

# stop 1, and the stop whose entry captures memblock just before it is handed to the buddy
INPUT_STOPS = names_of(Role.INPUTS)
BOOTMEM_STOPS = names_of(Role.HANDOFF)
DEFAULT_PAGE_SIZE = 4096

MEMMAP_FILE = "memmap.svg"
FREELISTS_FILE = "freelists.svg"

FONT = "font-family='DejaVu Sans, Verdana, sans-serif'"
ZONE_COLOURS = {
    "DMA": "#f4a259",
    "DMA32": "#f6d365",
    "Normal": "#8cc084",
    "HighMem": "#c39bd3",
    "Movable": "#7fb3d5",
    "Device": "#bbbbbb",
}
MIGRATETYPE_COLOURS = ("#d9534f", "#5b9bd5", "#f0ad4e", "#9b59b6", "#7f8c8d", "#34495e")


# --------------------------------------------------------------------------- small helpers


def _fmt(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _text(
    x: float,
    y: float,
    s: str,
    *,
    size: float = 11,
    anchor: str = "start",
    cls: str = "",
    extra: str = "",
) -> str:
    c = f" class={quoteattr(cls)}" if cls else ""
    return (
        f"<text x='{_fmt(x)}' y='{_fmt(y)}' font-size='{_fmt(size)}' "
        f"text-anchor='{anchor}'{c}{extra}>{escape(s)}</text>"
    )


def _rect(
    x: float, y: float, w: float, h: float, fill: str, *, cls: str = "", extra: str = ""
) -> str:
    c = f" class={quoteattr(cls)}" if cls else ""
    return (
        f"<rect x='{_fmt(x)}' y='{_fmt(y)}' width='{_fmt(max(w, 0.0))}' "
        f"height='{_fmt(max(h, 0.0))}' fill='{fill}'{c}{extra}/>"
    )


def _title(s: str) -> str:
    return f"<title>{escape(s)}</title>"


def _document(width: float, height: float, body: Iterable[str], defs: str = "") -> str:
    head = (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{_fmt(width)}' "
        f"height='{_fmt(height)}' viewBox='0 0 {_fmt(width)} {_fmt(height)}' {FONT}>\n"
    )
    parts = [head]
    if defs:
        parts.append(f"<defs>{defs}</defs>\n")
    parts.append(_rect(0, 0, width, height, "white") + "\n")
    parts.extend(line + "\n" for line in body)
    parts.append("</svg>\n")
    return "".join(parts)


def human_size(nbytes: int) -> str:
    """``16M``, ``1.5G``, ``636K``: binary units, short."""
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if nbytes >= 1 << shift:
            v = nbytes / (1 << shift)
            return f"{v:.0f}{unit}" if v == int(v) or v >= 100 else f"{v:.1f}{unit}"
    return f"{nbytes}B"


def hex_address(addr: int) -> str:
    """An address in hex, with its value in MiB/GiB: ``0x1000000 (16M)``."""
    return f"{addr:#x} ({human_size(addr)})" if addr else "0x0"


def _subtract(start: int, end: int, covered: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of [start, end) that no range of ``covered`` overlaps."""
    out: list[tuple[int, int]] = []
    pos = start
    for a, b in sorted(covered):
        if b <= pos or a >= end:
            continue
        if a > pos:
            out.append((pos, a))
        pos = max(pos, b)
        if pos >= end:
            break
    if pos < end:
        out.append((pos, end))
    return out


# --------------------------------------------------------------------------- choosing snapshots


def input_snapshot(snapshots: dict[str, Snapshot]) -> Snapshot | None:
    """Stop 1 (``free_area_init_nodes`` / ``free_area_init``): its inputs."""
    for name in INPUT_STOPS:
        snap = snapshots.get(name)
        if snap is not None and snap.inputs is not None:
            return snap
    return next(
        (s for k, s in snapshots.items() if s.inputs is not None and k not in BOOTMEM_STOPS),
        None,
    )


def nodes_snapshot(snapshots: dict[str, Snapshot]) -> Snapshot | None:
    """The latest stop that carries nodes (managed pages are final there)."""
    return next((s for s in reversed(list(snapshots.values())) if s.nodes), None)


def buddy_snapshot(snapshots: dict[str, Snapshot]) -> Snapshot | None:
    """The buddy hand-off: the stop whose zones carry ``free_area``."""
    for s in snapshots.values():
        if any(z.free_area for n in s.nodes for z in n.zones):
            return s
    return None


def reserved_regions(snapshots: dict[str, Snapshot]) -> list[MemblockRegion]:
    """memblock.reserved at ``free_all_bootmem`` entry if captured, else at stop 1."""
    for name in BOOTMEM_STOPS:
        snap = snapshots.get(name)
        if snap is not None and snap.memblock is not None:
            return snap.memblock.reserved
    first = input_snapshot(snapshots)
    return first.inputs.memblock.reserved if first and first.inputs else []


# --------------------------------------------------------------------------- the address axis


@dataclass
class Axis:
    """A piecewise-linear map from physical addresses to x: each stretch between two
    consecutive ``bounds`` gets a width growing with its size**0.4, at least ``min_px``."""

    bounds: list[int]
    xs: list[float]

    @classmethod
    def build(
        cls,
        bounds: Iterable[int],
        x0: float,
        width: float,
        page_size: int,
        *,
        min_px: float = 8.0,
        power: float = 0.4,
    ) -> Axis:
        pts = sorted(set(bounds))
        if len(pts) < 2:
            pts = [pts[0], pts[0] + page_size] if pts else [0, page_size]
        weights = [max(b - a, 1) / page_size for a, b in itertools.pairwise(pts)]
        weights = [w**power for w in weights]
        free = max(width - min_px * len(weights), width * 0.2)
        fixed = (width - free) / len(weights)
        total = sum(weights)
        xs = [x0]
        for w in weights:
            xs.append(xs[-1] + fixed + free * w / total)
        return cls(pts, xs)

    def x(self, addr: int) -> float:
        b, xs = self.bounds, self.xs
        if addr <= b[0]:
            return xs[0]
        if addr >= b[-1]:
            return xs[-1]
        lo, hi = 0, len(b) - 1
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if b[mid] <= addr:
                lo = mid
            else:
                hi = mid
        frac = (addr - b[lo]) / (b[hi] - b[lo])
        return xs[lo] + frac * (xs[hi] - xs[lo])


def _stagger(labels: Sequence[tuple[float, str]], char_px: float) -> list[int]:
    """A row for each (centre x, text) label so that labels of one row do not overlap."""
    ends: list[float] = []
    rows: list[int] = []
    for x, s in labels:
        half = len(s) * char_px / 2 + 3
        for r, end in enumerate(ends):
            if x - half > end:
                ends[r] = x + half
                rows.append(r)
                break
        else:
            ends.append(x + half)
            rows.append(len(ends) - 1)
    return rows


# --------------------------------------------------------------------------- memory map

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


# --------------------------------------------------------------------------- free lists

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


# --------------------------------------------------------------------------- a run's pictures


def write_pictures(run_dir: Path) -> list[Path]:
    """Write ``memmap.svg`` and ``freelists.svg`` into a capture run directory; a picture whose
    snapshots are missing is skipped. Returns the paths written."""
    from inspector.rundir import load_run

    snapshots = load_run(run_dir)
    written: list[Path] = []
    if input_snapshot(snapshots) is not None and nodes_snapshot(snapshots) is not None:
        path = run_dir / MEMMAP_FILE
        path.write_text(memory_map_svg(snapshots))
        written.append(path)
    buddy = buddy_snapshot(snapshots)
    if buddy is not None:
        path = run_dir / FREELISTS_FILE
        path.write_text(free_lists_svg(buddy))
        written.append(path)
    return written
