"""SVG drawing primitives shared by the pictures: text, rectangles, the document, colours, size
and address labels, and the compressed address axis.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

DEFAULT_PAGE_SIZE = 4096


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
