"""Invariants of the buddy allocator, checked on live state; each failure names its pfn.

Checks (``CHECKS``):

- ``list``: every free list and per-cpu list comes back to its head: no cycle, no unreadable
  entry, every ``next->prev`` points back (the pfn is that of the entry where the walk stopped).
- ``aligned``: a free block of order o starts at a pfn that is a multiple of 2^o.
- ``in_zone``: the block lies inside its zone's spanned range [zone_start_pfn, zone_end_pfn).
- ``present``: the block lies in present memory: a present SPARSEMEM section with a memmap,
  and guest RAM as QEMU laid it out.
- ``buddy_mark``: the block's head page is marked buddy (4.7: ``_mapcount ==
  PAGE_BUDDY_MAPCOUNT_VALUE`` (-128); 6.12: ``page_type >> 24 == PGTY_buddy``).
- ``buddy_order``: its ``page_private`` is the order of the list it is on.
- ``unmerged``: no free block has its buddy (pfn ^ 2^o) free at the same order — the allocator
  would have merged them. Exempt: the top order; and in 6.12 (not 4.7) blocks of order ≥
  pageblock_order whose migratetypes differ and one is not mergeable (≥ MIGRATE_PCPTYPES),
  see ``__free_one_page``.
- ``overlap``: no two free blocks share a page.
- ``nr_free``: the lengths of an order's lists add up to ``free_area[order].nr_free``.
- ``nr_free_pages``: Σ nr_free · 2^order equals NR_FREE_PAGES with every CPU's
  ``vm_stat_diff`` folded in. Pages on per-cpu lists are *not* in NR_FREE_PAGES in either
  version: rmqueue_bulk() takes them off it (4.7 ``__mod_zone_page_state(zone,
  NR_FREE_PAGES, -(i << order))``; 6.12 ``account_freepages()`` as pages leave the free lists,
  e.g. ``page_del_and_expand()``).
- ``pcp_count``: a per-cpu ``count`` equals the pages on its lists (Σ length · 2^order).

A paused guest should pass every check; on a running one a list can change under the walk.
"""

from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass

import drgn

from inspector.live.lists import ListWalk, PageCache
from inspector.live.program import LiveKernel
from inspector.live.sections import sections
from inspector.live.state import KernelConsts, NodeState, ZoneState, read_state

CHECKS = (
    "list",
    "aligned",
    "in_zone",
    "present",
    "buddy_mark",
    "buddy_order",
    "unmerged",
    "overlap",
    "nr_free",
    "nr_free_pages",
    "pcp_count",
)


@dataclass(frozen=True)
class Violation:
    check: str
    node: int
    zone: str
    pfn: int | None  # None where no single page is at fault (a count)
    detail: str

    def __str__(self) -> str:
        where = f"node {self.node} {self.zone}"
        pfn = f" pfn {self.pfn:#x}" if self.pfn is not None else ""
        return f"{self.check}: {where}{pfn}: {self.detail}"


@dataclass(frozen=True)
class FreeBlock:
    pfn: int
    order: int
    mt: int


class _Checker:
    def __init__(self, lk: LiveKernel, k: KernelConsts) -> None:
        self.prog = lk.prog
        self.k = k
        self.ram = [(p.phys >> 12, (p.phys + p.size) >> 12) for p in lk.ram.pieces]
        self.out: list[Violation] = []
        self._sections = sections(lk.prog)
        self._shift = (lk.prog["SECTION_SIZE_BITS"] - lk.prog["PAGE_SHIFT"]).value_()
        self.cache = PageCache(lk.prog, k.vmemmap, k.sizeof_page, self._sections, self._shift)

    def fail(self, check: str, z: ZoneState, pfn: int | None, detail: str) -> None:
        self.out.append(Violation(check, z.node, z.name, pfn, detail))

    def pfn_of(self, list_node: int) -> int:
        return (list_node - self.k.lru_offset - self.k.vmemmap) // self.k.sizeof_page

    def walk(self, z: ZoneState, what: str, w: ListWalk) -> None:
        if not w.ok:
            bad = w.bad_node
            pfn = self.pfn_of(bad) if bad is not None and bad != w.head else None
            self.fail("list", z, pfn, f"{what}: {w.error}")

    def section_ok(self, pfn: int) -> bool:
        """present_section() and valid_section(): marked present and with a memmap."""
        s = self._sections.get(pfn >> self._shift)
        return s is not None and s.present and s.has_mem_map

    def in_ram(self, pfn: int, end: int) -> bool:
        return any(lo <= pfn and end <= hi for lo, hi in self.ram)

    def head_page(self, pfn: int) -> tuple[int, int] | None:
        """(mapcount/page_type word, private) of the page at ``pfn``."""
        k = self.k
        try:
            raw = self.cache.page(pfn)
        except drgn.FaultError:
            return None
        fmt = "<I" if k.buddy_by_page_type else "<i"
        (word,) = struct.unpack_from(fmt, raw, k.mapcount_offset)
        (private,) = struct.unpack_from("<Q", raw, k.private_offset)
        return word, private

    def block(self, z: ZoneState, b: FreeBlock) -> None:
        k, pfn, order = self.k, b.pfn, b.order
        end = pfn + (1 << order)
        where = f"order {order} {k.migratetypes[b.mt]} block"
        if pfn & ((1 << order) - 1):
            self.fail("aligned", z, pfn, f"{where} not aligned to {1 << order} pages")
        if pfn < z.zone_start_pfn or end > z.zone_end_pfn:
            self.fail(
                "in_zone",
                z,
                pfn,
                f"{where} outside the zone [{z.zone_start_pfn:#x}, {z.zone_end_pfn:#x})",
            )
        if not all(
            self.section_ok(p) for p in range(pfn, end, 1 << self._shift)
        ) or not self.in_ram(pfn, end):
            self.fail("present", z, pfn, f"{where} not in present memory")
            return
        page = self.head_page(pfn)
        if page is None:
            self.fail("present", z, pfn, f"{where}: its struct page is unreadable")
            return
        word, private = page
        marked = (word >> 24) == k.buddy_value if k.buddy_by_page_type else word == k.buddy_value
        if not marked:
            self.fail("buddy_mark", z, pfn, f"{where}: head page not marked buddy ({word:#x})")
        if private != order:
            self.fail("buddy_order", z, pfn, f"{where}: page_private is {private}")

    def mergeable_exempt(self, b: FreeBlock, buddy_mt: int) -> bool:
        k = self.k
        if not k.buddy_by_page_type:  # 4.7 merges across migratetypes (isolation aside)
            return False
        return (
            b.order >= k.pageblock_order
            and b.mt != buddy_mt
            and (b.mt >= k.migrate_pcptypes or buddy_mt >= k.migrate_pcptypes)
        )

    def zone(self, z: ZoneState) -> None:
        k = self.k
        blocks: list[FreeBlock] = []
        for order, by_mt in enumerate(z.free_lists):
            listed = 0
            for mt, w in enumerate(by_mt):
                self.walk(z, f"free_area[{order}].free_list[{k.migratetypes[mt]}]", w)
                listed += len(w.nodes)
                blocks += [FreeBlock(self.pfn_of(n), order, mt) for n in w.nodes]
            if listed != z.nr_free[order]:
                self.fail(
                    "nr_free",
                    z,
                    None,
                    f"order {order}: lists hold {listed} blocks, nr_free is {z.nr_free[order]}",
                )
        for b in blocks:
            self.block(z, b)
        index = {(b.pfn, b.order): b for b in blocks}
        for b in blocks:
            if b.order >= k.max_order - 1:
                continue
            buddy = index.get((b.pfn ^ (1 << b.order), b.order))
            if buddy is not None and b.pfn < buddy.pfn and not self.mergeable_exempt(b, buddy.mt):
                self.fail(
                    "unmerged",
                    z,
                    b.pfn,
                    f"order {b.order} block and its buddy {buddy.pfn:#x} are both free",
                )
        self.overlaps(z, blocks)
        in_lists = sum(n << o for o, n in enumerate(z.nr_free))
        if in_lists != z.nr_free_pages_snapshot:
            self.fail(
                "nr_free_pages",
                z,
                None,
                f"free lists hold {in_lists} pages, NR_FREE_PAGES (with per-cpu diffs) is "
                f"{z.nr_free_pages_snapshot}",
            )
        for p in z.pcp:
            pages = 0
            for i, w in enumerate(p.lists):
                self.walk(z, f"cpu {p.cpu} pcp list {i}", w)
                pages += len(w.nodes) << p.orders[i]
            if pages != p.count:
                self.fail("pcp_count", z, None, f"cpu {p.cpu}: count {p.count}, lists hold {pages}")

    def overlaps(self, z: ZoneState, blocks: list[FreeBlock]) -> None:
        spans = sorted((b.pfn, b.pfn + (1 << b.order)) for b in blocks)
        starts = [s for s, _ in spans]
        for i in range(1, len(spans)):
            if spans[i][0] < spans[i - 1][1]:
                j = bisect.bisect_left(starts, spans[i - 1][0])
                self.fail(
                    "overlap", z, spans[i][0], f"shares pages with the block at {starts[j]:#x}"
                )


def check_state(lk: LiveKernel, k: KernelConsts, nodes: list[NodeState]) -> list[Violation]:
    checker = _Checker(lk, k)
    for n in nodes:
        for z in n.zones:
            checker.zone(z)
    return checker.out


def check(lk: LiveKernel) -> list[Violation]:
    """Read the state and check every invariant; an empty list means all hold."""
    k, nodes = read_state(lk.prog, lk.config)
    return check_state(lk, k, nodes)
