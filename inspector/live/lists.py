"""Walking a kernel ``struct list_head`` with raw reads, never trusting it.

``walk_list`` follows ``next`` from a head until it comes back, and stops (saying why) on a
pointer it cannot read, a node seen twice (a cycle that does not pass through the head), a
``next->prev`` that does not point back, or more than ``limit`` nodes.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field

import drgn
import numpy as np
import numpy.typing as npt

from inspector.live.sections import Section

ReadU64 = Callable[[int], int]
# (virtual address, size) → the guest's bytes there without a copy, as the views of the
# physically consecutive runs that map it in order, or None (then drgn reads)
Direct = Callable[[int, int], list[memoryview] | None]
Buffer = bytes | memoryview


class PageCache:
    """``struct page`` memory read a whole section's memmap at a time (one drgn read of 2 MiB
    for a 128 MiB section) and served from bytes: free-list walks touch ~two words per block,
    and per-word reads through drgn's address translation are what made walks slow."""

    def __init__(
        self,
        prog: drgn.Program,
        vmemmap: int,
        sizeof_page: int,
        sections: dict[int, Section],
        pfn_section_shift: int,
        direct: Direct | None = None,
    ) -> None:
        """``direct``: a section's memmap as a view of the guest's RAM file (no copy; the guest
        must stay paused while the cache is used), tried before drgn's read."""
        self.prog = prog
        self.direct = direct
        self.vmemmap = vmemmap
        self.sizeof_page = sizeof_page
        self.sections = sections
        self.shift = pfn_section_shift
        self.section_bytes = sizeof_page << pfn_section_shift
        self._chunks: dict[int, Buffer | None] = {}
        self._pieces: dict[int, list[tuple[int, Buffer]]] = {}

    def chunk(self, nr: int) -> Buffer | None:
        """Section ``nr``'s whole memmap (None: no memmap, or unreadable)."""
        return self._chunk(nr)

    def pieces(self, nr: int) -> list[tuple[int, Buffer]]:
        """Section ``nr``'s memmap as (index of its first page in the section, its struct
        pages) pieces, in place where the RAM file holds them in several runs (no join)."""
        if nr not in self._pieces:
            s = self.sections.get(nr)
            runs = None
            if s is not None and s.has_mem_map and self.direct is not None:
                runs = self.direct(self.vmemmap + nr * self.section_bytes, self.section_bytes)
            if runs is not None and all(len(r) % self.sizeof_page == 0 for r in runs):
                out: list[tuple[int, Buffer]] = []
                first = 0
                for r in runs:
                    out.append((first, r))
                    first += len(r) // self.sizeof_page
                self._pieces[nr] = out
            else:
                chunk = self._chunk(nr)
                self._pieces[nr] = [] if chunk is None else [(0, chunk)]
        return self._pieces[nr]

    def _chunk(self, nr: int) -> Buffer | None:
        if nr not in self._chunks:
            s = self.sections.get(nr)
            data: Buffer | None = None
            if s is not None and s.has_mem_map:
                at = self.vmemmap + nr * self.section_bytes
                runs = self.direct(at, self.section_bytes) if self.direct is not None else None
                if runs is not None:
                    data = runs[0] if len(runs) == 1 else b"".join(runs)
                else:
                    try:
                        data = self.prog.read(at, self.section_bytes)
                    except drgn.FaultError:
                        data = None
            self._chunks[nr] = data
        return self._chunks[nr]

    def read_u64(self, addr: int) -> int:
        off = addr - self.vmemmap
        if off >= 0:
            nr, inner = divmod(off, self.section_bytes)
            if inner <= self.section_bytes - 8 and (chunk := self._chunk(nr)) is not None:
                return struct.unpack_from("<Q", chunk, inner)[0]  # type: ignore[no-any-return]
        return int(self.prog.read_u64(addr))

    def page(self, pfn: int) -> bytes:
        """The ``struct page`` of ``pfn`` (drgn.FaultError if it has no memmap)."""
        chunk = self._chunk(pfn >> self.shift)
        if chunk is None:
            return bytes(self.prog.read(self.vmemmap + pfn * self.sizeof_page, self.sizeof_page))
        inner = (pfn & ((1 << self.shift) - 1)) * self.sizeof_page
        return bytes(chunk[inner : inner + self.sizeof_page])


@dataclass
class ListWalk:
    head: int
    # addresses of the list_head members, in order (the memmap scan gives a numpy array)
    nodes: list[int] | npt.NDArray[np.uint64] = field(default_factory=list)
    error: str | None = None  # None: the list came back to its head
    bad_node: int | None = None  # the node where the walk stopped

    @property
    def ok(self) -> bool:
        return self.error is None


def walk_list(read: ReadU64, head: int, limit: int) -> ListWalk:
    """Nodes of the list at ``head`` (offset of ``next`` 0, ``prev`` 8, as in every kernel),
    read with ``read`` (``prog.read_u64`` or ``PageCache.read_u64``)."""
    walk = ListWalk(head)
    seen: set[int] = set()
    prev = head
    try:
        node = read(head)
    except drgn.FaultError:
        walk.error, walk.bad_node = "unreadable list head", head
        return walk
    while node != head:
        if node in seen:
            walk.error, walk.bad_node = "cycle that does not return to the head", node
            return walk
        if len(walk.nodes) >= limit:
            walk.error, walk.bad_node = f"more than {limit} entries", node
            return walk
        try:
            back = read(node + 8)
            nxt = read(node)
        except drgn.FaultError:
            walk.error, walk.bad_node = "unreadable entry", node
            return walk
        if back != prev:
            walk.error, walk.bad_node = "entry's prev does not point back", node
            return walk
        seen.add(node)
        walk.nodes.append(node)  # type: ignore[union-attr]  # a list while walking
        prev, node = node, nxt
    try:
        if read(head + 8) != prev:
            walk.error, walk.bad_node = "head's prev is not the last entry", head
    except drgn.FaultError:
        walk.error, walk.bad_node = "unreadable list head", head
    return walk
