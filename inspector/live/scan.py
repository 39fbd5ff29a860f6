"""The buddy allocator's free lists found by scanning the memmap instead of walking the lists.

Each SPARSEMEM section's struct pages are read in one piece (``PageCache``: one read of 2 MiB
per 128 MiB section) and decoded by numpy with the layout from DWARF (``KernelConsts``): the
buddy heads are the pages marked buddy (4.7 ``_mapcount == -128``; 6.12 ``page_type >> 24 ==
PGTY_buddy``), their order is ``page_private``. The lists are then checked with vectorised
pointer chasing over ``lru.next`` / ``lru.prev``: each entry's successor found by binary search,
``next->prev`` checked for all at once, and each entry's list and position found by list ranking
(``rank``: a sparse ruling set chased forward for all rulers at once, the rulers then ranked by
pointer jumping), so a cycle that misses its head, a dangling pointer, a page on two lists or a
marked page on none shows up without following a pointer in Python.

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
    buddy_mask: int
    buddy_value: int


def _column(buf: bytes | memoryview, n: int, stride: int, offset: int, dtype: str) -> np.ndarray:
    return np.ndarray(shape=(n,), dtype=dtype, buffer=buf, offset=offset, strides=(stride,))


def buddy_pages(
    k: KernelConsts, cache: PageCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """(pfn, order, lru.next, lru.prev) of every page marked buddy, and the pages decoded."""
    per = 1 << cache.shift
    parts: list[tuple[np.ndarray, ...]] = []
    decoded = 0
    for nr in sorted(cache.sections):
        for first, chunk in cache.pieces(nr):
            n = len(chunk) // k.sizeof_page
            decoded += n
            word = _column(chunk, n, k.sizeof_page, k.mapcount_offset, "<u4")
            idx = np.flatnonzero((word & k.buddy_mask) == k.buddy_value)
            if not idx.size:
                continue
            lru = _column(chunk, n, k.sizeof_page, k.lru_offset, "<u8")
            prev = _column(chunk, n, k.sizeof_page, k.lru_offset + 8, "<u8")
            private = _column(chunk, n, k.sizeof_page, k.private_offset, "<u8")
            parts.append((nr * per + first + idx, private[idx], lru[idx], prev[idx]))
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
    src = np.flatnonzero(succ >= 0)
    back = np.zeros(total, dtype=bool)
    back[src] = all_prev[succ[src]] == all_addr[src]  # next->prev == self
    root, dist = rank(succ, n_heads)
    entry_root = root[n_heads:]
    return entry_root, dist[n_heads:], back[n_heads:]


def _jump(pred: np.ndarray, weight: np.ndarray, n_roots: int) -> tuple[np.ndarray, np.ndarray]:
    """Pointer jumping along ``pred`` (nodes 0..n_roots-1 are roots at distance 0): each node's
    root (-1: none reached) and its distance, the sum of ``weight`` on the way."""
    root = pred.copy()
    dist = weight.astype(np.int32)
    root[:n_roots] = np.arange(n_roots, dtype=np.int32)
    dist[:n_roots] = 0
    todo = np.flatnonzero(root >= n_roots).astype(np.int32)
    for _ in range(max(1, int(pred.size).bit_length() + 1)):
        if not todo.size:
            break
        up = root[todo]
        dist[todo] += dist[up]
        root[todo] = root[up]
        todo = todo[root[todo] >= n_roots]  # the ones still short of a root
    return np.where((root >= 0) & (root < n_roots), root, -1), dist


# one node in RULER_EVERY (by address, so spread along the lists) starts a chase
RULER_EVERY = 32


def rank(succ: np.ndarray, n_heads: int) -> tuple[np.ndarray, np.ndarray]:
    """List ranking: for each node its head (-1: not reached from one) and its position after
    it, following ``succ`` (-1: none). Nodes 0..n_heads-1 are the heads; an edge into a head
    ends a list. A sparse ruling set: the heads and one node in RULER_EVERY each chase forward,
    one step per round for all at once, until the next ruler, the end, or a node already taken
    (a node with two predecessors keeps the first chase that reaches it); the rulers are then
    ranked by pointer jumping and each node takes its ruler's rank plus its own steps. Linear
    work in about RULER_EVERY·ln(n) rounds, where pointer jumping over every node does log2(n)
    rounds over all of them."""
    total = succ.size
    is_ruler = np.zeros(total, dtype=bool)
    is_ruler[:n_heads] = True
    is_ruler[n_heads::RULER_EVERY] = True
    rulers = np.flatnonzero(is_ruler).astype(np.int32)
    n_rulers = rulers.size
    ruler_id = np.full(total, -1, dtype=np.int32)
    ruler_id[rulers] = np.arange(n_rulers, dtype=np.int32)
    owner = ruler_id.copy()  # the ruler whose chase reached each node
    steps = np.zeros(total, dtype=np.int32)
    to_ruler = np.full(n_rulers, -1, dtype=np.int32)  # the next ruler each chase reached
    gap = np.zeros(n_rulers, dtype=np.int32)
    active = np.arange(n_rulers, dtype=np.int32)
    cur = rulers.copy()
    while active.size:
        nxt = succ[cur]
        ok = nxt >= n_heads  # an edge into a head, or none: the list ends here
        hit = ok & is_ruler[np.maximum(nxt, 0)]
        to_ruler[active[hit]] = ruler_id[nxt[hit]]
        gap[active[hit]] = steps[cur[hit]] + 1
        go = ok & ~hit
        active, cur, nxt = active[go], cur[go], nxt[go]
        free = owner[nxt] < 0
        active, cur, nxt = active[free], cur[free], nxt[free]
        owner[nxt] = active
        won = owner[nxt] == active  # two chases onto one node in one round: one keeps it
        active, cur, nxt = active[won], cur[won], nxt[won]
        steps[nxt] = steps[cur] + 1
        cur = nxt
    # rank the rulers: each one's predecessor is the ruler whose chase reached it
    pred = np.full(n_rulers, -1, dtype=np.int32)
    weight = np.zeros(n_rulers, dtype=np.int32)
    src = np.flatnonzero(to_ruler >= 0)
    pred[to_ruler[src]] = src
    weight[to_ruler[src]] = gap[src]
    ruler_root, ruler_dist = _jump(pred, weight, n_heads)  # heads are rulers 0..n_heads-1
    taken = owner >= 0
    root = np.full(total, -1, dtype=np.int32)
    dist = np.zeros(total, dtype=np.int32)
    root[taken] = ruler_root[owner[taken]]
    dist[taken] = ruler_dist[owner[taken]] + steps[taken]
    dist[root < 0] = 0
    return root, dist


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
