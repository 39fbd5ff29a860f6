"""The struct pages of holes: how many pages in the holes of memblock.memory the kernel
initialises (or zeroes) and counts in its "unavailable ranges" line, as a stage of its own from
memblock.memory, the zones and max_pfn alone, in time linear in ranges and sections, in each of
the three forms the line has had:

- ``Zeroed struct page in unavailable ranges: N pages``: one count over every hole between
  memblock.memory ranges from pfn 0, then up to max_pfn (zero_resv_unavail(), later
  init_unavailable_mem(), mm/page_alloc.c), change "unavailable-zeroed-line"; from change
  "unavailable-tail-to-section" the tail runs to the end of max_pfn's section;
- ``  DMA zone: N pages in unavailable ranges``: per zone, each hole given to the zone whose
  ranges follow it, and each zone's tail up to the end of its section (memmap_init_zone(),
  change "unavailable-per-zone");
- ``On node N, zone Z: N pages in unavailable ranges``: per hole, after each (range, zone) and
  once at the end (memmap_init() and memmap_init_zone_range(), mm/mm_init.c, change
  "unavailable-per-node-zone"; the model's memmap stage does the same page by page).

A hole's page counts where its pageblock is valid: with SPARSEMEM (x86_64) pfn_valid() is
valid_section(), a section holding any of memblock.memory (memblocks_present()).
"""

from __future__ import annotations

from dataclasses import dataclass

Range = tuple[int, int, int]  # [start_pfn, end_pfn), nid


@dataclass(frozen=True)
class ZoneSpan:
    nid: int
    idx: int
    name: str
    start_pfn: int
    spanned: int
    present: int

    @property
    def end_pfn(self) -> int:
        return self.start_pfn + self.spanned


class Sections:
    """The present sections (memblocks_present(), mm/sparse.c) as merged pfn spans."""

    def __init__(self, memory: list[Range], section_pages: int) -> None:
        self.section_pages = section_pages
        spans: list[tuple[int, int]] = []
        for start, end, _ in sorted(memory):
            s = start // section_pages * section_pages
            e = -(-end // section_pages) * section_pages
            if spans and s <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], e))
            else:
                spans.append((s, e))
        self.spans = spans

    def valid_pages(self, spfn: int, epfn: int) -> int:
        """init_unavailable_range()'s count: the pfns of [spfn, epfn) whose pageblock is
        pfn_valid() (a pageblock never straddles a section)."""
        return sum(max(0, min(e, epfn) - max(s, spfn)) for s, e in self.spans)


def round_up(x: int, n: int) -> int:
    return -(-x // n) * n


def zeroed(
    memory: list[Range], max_pfn: int, sections: Sections, *, tail_to_section: bool
) -> list[str]:
    """zero_resv_unavail() / init_unavailable_mem() (mm/page_alloc.c): every hole of
    memblock.memory from pfn 0, then the tail from the last range to max_pfn (to the end of
    its section with change "unavailable-tail-to-section")."""
    pgcnt = 0
    nxt = 0
    for start, end, _ in sorted(memory):
        if nxt < start:
            pgcnt += sections.valid_pages(nxt, start)
        nxt = end
    tail = round_up(max_pfn, sections.section_pages) if tail_to_section else max_pfn
    pgcnt += sections.valid_pages(nxt, tail)
    return [f"Zeroed struct page in unavailable ranges: {pgcnt} pages"] if pgcnt else []


def per_zone(
    memory: list[Range], zones: list[ZoneSpan], sections: Sections
) -> list[tuple[ZoneSpan, str]]:
    """memmap_init_zone() (mm/page_alloc.c, 0740a50b9baa): called by free_area_init_core()
    for each zone with a span, node by node; ``hole_pfn`` is static across the calls; each
    zone's count (its tail to the end of its section counted again by the zone above), with
    the zone (the line names none)."""
    out: list[tuple[ZoneSpan, str]] = []
    hole_pfn = 0
    for z in zones:
        if not z.spanned:
            continue
        pgcnt = 0
        for start, end, nid in memory:  # for_each_mem_pfn_range(i, nid, …)
            if nid != z.nid:
                continue
            start = min(max(start, z.start_pfn), z.end_pfn)
            end = min(max(end, z.start_pfn), z.end_pfn)
            if hole_pfn < start:
                pgcnt += sections.valid_pages(hole_pfn, start)
            hole_pfn = end
        tail = round_up(z.end_pfn, sections.section_pages)
        if hole_pfn < tail:
            pgcnt += sections.valid_pages(hole_pfn, tail)
        if pgcnt:
            out.append((z, f"  {z.name} zone: {pgcnt} pages in unavailable ranges"))
    return out


def per_node_zone(memory: list[Range], zones: list[ZoneSpan], sections: Sections) -> list[str]:
    """memmap_init() and memmap_init_zone_range() (mm/mm_init.c, 122e093c1734): for each
    memblock.memory range and each populated zone of its node, the hole before the range's part
    in the zone is counted to that zone; a line per hole; then the tail up to the last range's
    section end, counted to the last zone seen."""
    out: list[str] = []
    hole_pfn = 0
    nid, end_pfn = 0, 0
    last_zone = ""  # zone_id: the last populated zone of the last range's node

    def count(spfn: int, epfn: int, node: int, name: str) -> None:
        pgcnt = sections.valid_pages(spfn, epfn)
        if pgcnt:
            out.append(f"On node {node}, zone {name}: {pgcnt} pages in unavailable ranges")

    for start_pfn, end_pfn, nid in sorted(memory):
        for z in zones:
            if z.nid != nid or not z.present:
                continue
            last_zone = z.name
            s = min(max(start_pfn, z.start_pfn), z.end_pfn)
            e = min(max(end_pfn, z.start_pfn), z.end_pfn)
            if s >= e:
                continue
            if hole_pfn < s:
                count(hole_pfn, s, z.nid, z.name)
            hole_pfn = e
    end = round_up(end_pfn, sections.section_pages)
    if hole_pfn < end:
        count(hole_pfn, end, nid, last_zone)
    return out
