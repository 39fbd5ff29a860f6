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

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from inspector.live.direct import live_page_cache
from inspector.live.lists import ListWalk, PageCache
from inspector.live.program import LiveKernel
from inspector.live.sections import sections
from inspector.live.state import (
    KernelConsts,
    NodeState,
    ZoneState,
    kernel_consts,
    read_state,
)

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


def _by_section(nr: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """(section number, indices of ``nr`` equal to it) for each section present, by one
    stable sort (a radix sort when the numbers fit 16 bits)."""
    if not nr.size:
        return
    small = nr.astype(np.uint16) if int(nr.min()) >= 0 and int(nr.max()) < 1 << 16 else nr
    ranked = np.argsort(small, kind="stable")
    sorted_nr = nr[ranked]
    cuts = np.flatnonzero(sorted_nr[1:] != sorted_nr[:-1]) + 1
    for lo, hi in zip([0, *cuts.tolist()], [*cuts.tolist(), nr.size], strict=True):
        yield int(sorted_nr[lo]), ranked[lo:hi]


class _Checker:
    def __init__(self, lk: LiveKernel, k: KernelConsts, cache: PageCache | None) -> None:
        self.prog = lk.prog
        self.k = k
        self.ram = [(p.phys >> 12, (p.phys + p.size) >> 12) for p in lk.ram.pieces]
        self.out: list[Violation] = []
        if cache is None:
            shift = (lk.prog["SECTION_SIZE_BITS"] - lk.prog["PAGE_SHIFT"]).value_()
            cache = PageCache(lk.prog, k.vmemmap, k.sizeof_page, sections(lk.prog), shift)
        self._sections = cache.sections
        self._shift = cache.shift
        self.cache = cache

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

    def head_pages(self, pfn: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(readable, mapcount/page_type word, private) of the struct page of each pfn: each
        section's memmap read once (PageCache) and indexed by numpy."""
        k = self.k
        per = 1 << self._shift
        ok = np.zeros(pfn.size, dtype=bool)
        word = np.zeros(pfn.size, dtype=np.int64)
        private = np.zeros(pfn.size, dtype=np.uint64)
        nr = pfn >> self._shift
        for sec, in_sec in _by_section(nr):
            for first, chunk in self.cache.pieces(sec):
                n = len(chunk) // k.sizeof_page
                idx = pfn[in_sec] - sec * per - first
                here = (idx >= 0) & (idx < n)
                sel, idx = in_sec[here], idx[here]
                w = np.ndarray((n,), "<u4", chunk, k.mapcount_offset, (k.sizeof_page,))
                pv = np.ndarray((n,), "<u8", chunk, k.private_offset, (k.sizeof_page,))
                ok[sel] = True
                word[sel] = w[idx]
                private[sel] = pv[idx]
        return ok, word, private

    def blocks(self, z: ZoneState, pfn: np.ndarray, order: np.ndarray, mt: np.ndarray) -> None:
        """aligned, in_zone, present, buddy_mark and buddy_order for every block at once; a
        failure is reported per block, as it always was."""
        k = self.k
        size = np.left_shift(1, order)
        end = pfn + size

        def each(check: str, bad: np.ndarray, text: Callable[[int], str]) -> None:
            for i in np.flatnonzero(bad).tolist():
                self.fail(check, z, int(pfn[i]), text(i))

        def where(i: int) -> str:
            return f"order {int(order[i])} {k.migratetypes[int(mt[i])]} block"

        each("aligned", (pfn & (size - 1)) != 0,
             lambda i: f"{where(i)} not aligned to {int(size[i])} pages")  # fmt: skip
        span = f"[{z.zone_start_pfn:#x}, {z.zone_end_pfn:#x})"
        each("in_zone", (pfn < z.zone_start_pfn) | (end > z.zone_end_pfn),
             lambda i: f"{where(i)} outside the zone {span}")  # fmt: skip
        nr = pfn >> self._shift
        sections = np.zeros(pfn.size, dtype=bool)
        for sec, sel in _by_section(nr):  # a section at a time: present with a memmap
            sections[sel] = self.section_ok(sec << self._shift)
        in_ram = np.zeros(pfn.size, dtype=bool)
        for lo, hi in self.ram:
            in_ram |= (lo <= pfn) & (end <= hi)
        present = sections & in_ram
        each("present", ~present, lambda i: f"{where(i)} not in present memory")
        readable, word, private = self.head_pages(pfn)
        each("present", present & ~readable,
             lambda i: f"{where(i)}: its struct page is unreadable")  # fmt: skip
        live = present & readable
        marked = (word & k.buddy_mask) == k.buddy_value
        each("buddy_mark", live & ~marked,
             lambda i: f"{where(i)}: head page not marked buddy ({int(word[i]):#x})")  # fmt: skip
        each("buddy_order", live & (private != order.astype(np.uint64)),
             lambda i: f"{where(i)}: page_private is {int(private[i])}")  # fmt: skip

    def mergeable_exempt(self, b: FreeBlock, buddy_mt: int) -> bool:
        k = self.k
        if not k.merge_by_migratetype:  # 4.7 merges across migratetypes (isolation aside)
            return False
        return (
            b.order >= k.pageblock_order
            and b.mt != buddy_mt
            and (b.mt >= k.migrate_pcptypes or buddy_mt >= k.migrate_pcptypes)
        )

    def zone(self, z: ZoneState) -> None:
        k = self.k
        parts: list[tuple[npt.NDArray[np.uint64], int, int]] = []
        base = np.uint64(k.lru_offset + k.vmemmap)
        for order, by_mt in enumerate(z.free_lists):
            listed = 0
            for mt, w in enumerate(by_mt):
                self.walk(z, f"free_area[{order}].free_list[{k.migratetypes[mt]}]", w)
                listed += len(w.nodes)
                if len(w.nodes):
                    parts.append((np.asarray(w.nodes, dtype=np.uint64), order, mt))
            if listed != z.nr_free[order]:
                self.fail(
                    "nr_free",
                    z,
                    None,
                    f"order {order}: lists hold {listed} blocks, nr_free is {z.nr_free[order]}",
                )
        sizes = [p[0].size for p in parts]
        a_pfn = (
            ((np.concatenate([p[0] for p in parts]) - base) // k.sizeof_page).astype(np.int64)
            if parts
            else np.zeros(0, dtype=np.int64)
        )
        a_order = np.repeat(np.array([p[1] for p in parts], dtype=np.int64), sizes)
        a_mt = np.repeat(np.array([p[2] for p in parts], dtype=np.int64), sizes)
        self.blocks(z, a_pfn, a_order, a_mt)
        # one sort by (pfn, order) serves both: for one pfn, end grows with order
        ranked = np.argsort(a_pfn * 64 + a_order, kind="stable")
        self.unmerged(z, a_pfn, a_order, a_mt, ranked)
        self.overlaps(z, a_pfn, a_order, ranked)
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

    def unmerged(
        self, z: ZoneState, pfn: np.ndarray, order: np.ndarray, mt: np.ndarray, ranked: np.ndarray
    ) -> None:
        """No free block whose buddy (pfn ^ 2^order, same order) is free too, unless 6.12's
        migratetype rule exempts the pair (mergeable_exempt). ``ranked``: the blocks sorted by
        (pfn, order)."""
        k = self.k
        key = pfn * 64 + order
        sorted_key = key[ranked]
        want = (pfn ^ np.left_shift(1, order)) * 64 + order
        pos = np.minimum(np.searchsorted(sorted_key, want), max(key.size - 1, 0))
        found = (key.size > 0) & (sorted_key[pos] == want) if key.size else np.zeros(0, bool)
        buddy = ranked[pos]
        cand = found & (order < k.max_order - 1) & (pfn < pfn[buddy])
        for i in np.flatnonzero(cand).tolist():
            b = FreeBlock(int(pfn[i]), int(order[i]), int(mt[i]))
            if not self.mergeable_exempt(b, int(mt[buddy[i]])):
                self.fail(
                    "unmerged",
                    z,
                    b.pfn,
                    f"order {b.order} block and its buddy {int(pfn[buddy[i]]):#x} are both free",
                )

    def overlaps(
        self, z: ZoneState, pfn: np.ndarray, order: np.ndarray, ranked: np.ndarray
    ) -> None:
        """No two free blocks share a page: sorted by (start, end), each against the last."""
        end = pfn + np.left_shift(1, order)
        starts, ends = pfn[ranked], end[ranked]
        bad = np.flatnonzero(starts[1:] < ends[:-1]) + 1
        for i in bad.tolist():
            self.fail(
                "overlap",
                z,
                int(starts[i]),
                f"shares pages with the block at {int(starts[i - 1]):#x}",
            )


def check_state(
    lk: LiveKernel, k: KernelConsts, nodes: list[NodeState], cache: PageCache | None = None
) -> list[Violation]:
    """Every invariant over the state ``read_state`` gave; ``cache``: the memmap it read (the
    same paused guest), so that sections are not read twice."""
    checker = _Checker(lk, k, cache)
    for n in nodes:
        for z in n.zones:
            checker.zone(z)
    return checker.out


def check(lk: LiveKernel) -> list[Violation]:
    """Read the state and check every invariant; an empty list means all hold."""
    cache = live_page_cache(lk, kernel_consts(lk.prog, lk.config))
    k, nodes = read_state(lk.prog, lk.config, cache)
    return check_state(lk, k, nodes, cache)
