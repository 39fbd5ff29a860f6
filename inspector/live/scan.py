"""The buddy allocator's free lists found by scanning the memmap instead of walking the lists.

Each SPARSEMEM section's struct pages are read in one piece (``PageCache``: one read of 2 MiB
per 128 MiB section) and decoded by numpy with the layout from DWARF (``KernelConsts``): the
buddy heads are the pages marked buddy (4.7 ``_mapcount == -128``; 6.12 ``page_type >> 24 ==
PGTY_buddy``), their order is ``page_private``. The lists are then checked with vectorised
pointer chasing over ``lru.next`` / ``lru.prev``: each entry's successor found by binary search,
``next->prev`` checked for all at once, and each entry's list and position found by pointer
jumping from the heads (log2(n) rounds), so a cycle that misses its head, a dangling pointer, a
page on two lists or a marked page on none shows up without following a pointer in Python.

The result is the same ``ListWalk`` per (zone, order, migratetype) that ``walk_list`` gives, so
the dump and the invariant checks read it unchanged (``read_state(..., scan=True)``). A list the
scan cannot close (an entry not marked buddy, a broken link) is walked pointer by pointer, so it
is reported exactly as the walk reports it.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from inspector.live.lists import ListWalk, PageCache, walk_list


class KernelConsts(Protocol):
    """The struct page layout the scan needs (inspector.live.state.KernelConsts has it)."""

    vmemmap: int
    sizeof_page: int
    lru_offset: int
    private_offset: int
    mapcount_offset: int
    buddy_by_page_type: bool
    buddy_value: int


def _column(buf: bytes, n: int, stride: int, offset: int, dtype: str) -> np.ndarray:
    return np.ndarray(shape=(n,), dtype=dtype, buffer=buf, offset=offset, strides=(stride,))


def buddy_pages(
    k: KernelConsts, cache: PageCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """(pfn, order, lru.next, lru.prev) of every page marked buddy, and the pages decoded."""
    per = 1 << cache.shift
    parts: list[tuple[np.ndarray, ...]] = []
    decoded = 0
    for nr in sorted(cache.sections):
        chunk = cache.chunk(nr)
        if chunk is None:
            continue
        decoded += per
        word = _column(chunk, per, k.sizeof_page, k.mapcount_offset, "<u4")
        if k.buddy_by_page_type:
            idx = np.flatnonzero((word >> 24) == k.buddy_value)
        else:
            idx = np.flatnonzero(word.view("<i4") == k.buddy_value)
        if not idx.size:
            continue
        lru = _column(chunk, per, k.sizeof_page, k.lru_offset, "<u8")
        prev = _column(chunk, per, k.sizeof_page, k.lru_offset + 8, "<u8")
        private = _column(chunk, per, k.sizeof_page, k.private_offset, "<u8")
        parts.append((nr * per + idx, private[idx], lru[idx], prev[idx]))
    if not parts:
        empty = np.zeros(0, dtype=np.uint64)
        return empty, empty, empty, empty, decoded
    pfn, order, nxt, prv = (np.concatenate(c) for c in zip(*parts, strict=True))
    return pfn.astype(np.int64), order, nxt, prv, decoded


def link(
    heads: np.ndarray,
    head_next: np.ndarray,
    head_prev: np.ndarray,
    addr: np.ndarray,
    nxt: np.ndarray,
    prv: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lists over nodes 0..H-1 (the heads) and H..H+N-1 (the entries at ``addr``): returns, for
    each entry, the head it belongs to (-1: on no list reachable from a head), its position
    from the head (1-based) and whether its ``next->prev`` points back at it."""
    n_heads = heads.size
    all_addr = np.concatenate([heads, addr]).astype(np.uint64)
    all_next = np.concatenate([head_next, nxt]).astype(np.uint64)
    all_prev = np.concatenate([head_prev, prv]).astype(np.uint64)
    order = np.argsort(all_addr, kind="stable")
    sorted_addr = all_addr[order]
    pos = np.searchsorted(sorted_addr, all_next)
    pos_c = np.minimum(pos, sorted_addr.size - 1)
    found = sorted_addr[pos_c] == all_next
    succ = np.where(found, order[pos_c], -1).astype(np.int32)
    total = all_addr.size
    # each node's predecessor; a node two others point at keeps one and is reported below
    pred = np.full(total, -1, dtype=np.int32)
    src = np.flatnonzero(succ >= 0)
    pred[succ[src]] = src
    back = np.zeros(total, dtype=bool)
    back[src] = all_prev[succ[src]] == all_addr[src]  # next->prev == self
    # pointer jumping towards the heads along pred: heads are roots at distance 0
    root = pred.copy()
    dist = np.ones(total, dtype=np.int32)
    root[:n_heads] = np.arange(n_heads, dtype=np.int32)
    dist[:n_heads] = 0
    todo = np.flatnonzero(root >= n_heads).astype(np.int32)
    for _ in range(max(1, int(total).bit_length() + 1)):
        if not todo.size:
            break
        up = root[todo]
        dist[todo] += dist[up]
        root[todo] = root[up]
        todo = todo[root[todo] >= n_heads]  # the ones still short of a head
    entry_root = root[n_heads:]
    entry_root = np.where((entry_root >= 0) & (entry_root < n_heads), entry_root, -1)
    return entry_root, dist[n_heads:], back[n_heads:]


def scan_lists(
    k: KernelConsts, cache: PageCache, heads: list[tuple[int, int, int]]
) -> dict[int, ListWalk]:
    """``heads``: (address of the list_head, its next, its prev) of every free list. The
    entries of each list in order, from the memmap alone (see the module docstring)."""
    pfn, _order, nxt, prv, decoded = buddy_pages(k, cache)
    addr = (k.vmemmap + pfn.astype(np.uint64) * np.uint64(k.sizeof_page) + k.lru_offset).astype(
        np.uint64
    )
    h = np.array([x[0] for x in heads], dtype=np.uint64)
    root, dist, back = link(
        h,
        np.array([x[1] for x in heads], dtype=np.uint64),
        np.array([x[2] for x in heads], dtype=np.uint64),
        addr,
        nxt,
        prv,
    )
    lists: dict[int, ListWalk] = {}
    on = np.flatnonzero(root >= 0)
    by = np.lexsort((dist[on], root[on]))
    on = on[by]
    bounds = np.searchsorted(root[on], np.arange(len(heads) + 1))
    heads_last: dict[int, int] = {}
    for i, (head, first, last) in enumerate(heads):
        members = on[bounds[i] : bounds[i + 1]]
        walk = ListWalk(head, addr[members])
        lists[head] = walk
        heads_last[head] = last
        if first == head:
            continue
        if not members.size:
            walk.error, walk.bad_node = "entry not a buddy page or unreadable", first
        elif not bool(back[members[:-1]].all()):
            bad = members[:-1][~back[members[:-1]]][0]
            walk.error, walk.bad_node = "entry's prev does not point back", int(addr[bad])
        elif int(nxt[members[-1]]) != head:
            walk.error, walk.bad_node = (
                "entry not a buddy page or unreadable",
                int(addr[members[-1]]),
            )
        elif last != int(addr[members[-1]]):
            walk.error, walk.bad_node = "head's prev is not the last entry", head
        elif int(prv[members[0]]) != head:
            walk.error, walk.bad_node = "entry's prev does not point back", int(addr[members[0]])
    for head, walk in lists.items():
        if walk.error is not None:  # say it as the walk says it: follow that list's pointers
            lists[head] = walk_list(cache.read_u64, head, decoded + 1)
    return lists
