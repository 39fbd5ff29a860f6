"""The memmap scan's list ranking (inspector.live.scan.link) on made-up lists: membership and
order from the heads, a cycle that misses its head, a dangling pointer and a bad back link.
(On real guests the scan is held against the list walk in tests/test_live.py.)"""

from __future__ import annotations

import numpy as np

from inspector.live.scan import link, rank


def lists(
    chains: dict[int, list[int]], extra: dict[int, tuple[int, int]] | None = None
) -> tuple[np.ndarray, ...]:
    """Heads at 0x10, 0x20, …; each head's entries in order; ``extra``: entries with given
    (next, prev) that no head reaches as stated."""
    heads, hn, hp, addr, nxt, prv = [], [], [], [], [], []
    for h, entries in chains.items():
        ring = [h, *entries]
        heads.append(h)
        hn.append(ring[1 % len(ring)])
        hp.append(ring[-1])
        for i, e in enumerate(entries, start=1):
            addr.append(e)
            nxt.append(ring[(i + 1) % len(ring)])
            prv.append(ring[i - 1])
    for e, (n, p) in (extra or {}).items():
        addr.append(e)
        nxt.append(n)
        prv.append(p)

    def a(x: list[int]) -> np.ndarray:
        return np.array(x, dtype=np.uint64)

    return a(heads), a(hn), a(hp), a(addr), a(nxt), a(prv)


def test_entries_land_on_their_list_in_order() -> None:
    chains = {0x10: [0x1000, 0x3000, 0x2000], 0x20: [], 0x30: [0x5000]}
    root, dist, back = link(*lists(chains))
    assert root.tolist() == [0, 0, 0, 2]
    assert dist.tolist() == [1, 2, 3, 1]
    assert back.all()


def test_a_cycle_that_misses_the_head_and_a_dangling_entry_are_on_no_list() -> None:
    chains = {0x10: [0x1000]}
    extra = {0x7000: (0x8000, 0x8000), 0x8000: (0x7000, 0x7000), 0x9000: (0xDEAD, 0x10)}
    root, _, _ = link(*lists(chains, extra))
    assert root.tolist() == [0, -1, -1, -1]


def test_a_prev_that_does_not_point_back_is_seen() -> None:
    heads, hn, hp, addr, nxt, prv = lists({0x10: [0x1000, 0x2000, 0x3000]})
    prv[2] = np.uint64(0x1000)  # 0x3000's prev should be 0x2000
    root, _, back = link(heads, hn, hp, addr, nxt, prv)
    assert root.tolist() == [0, 0, 0]
    assert back.tolist() == [True, False, True]  # 0x2000's next (0x3000) does not point back


def test_blocks_are_columns_made_into_objects_when_read() -> None:
    import json

    from inspector.live.buddy import Blocks, BuddyDump
    from inspector.schema import KernelId, Snapshot

    mts = ["Unmovable", "Movable"]
    b = Blocks(
        np.array([0, 1]), ["DMA32", "Normal"], np.array([0, 1]), np.array([16, 1 << 20]),
        np.array([4, 10]), np.array([1, 0]), mts,
    )  # fmt: skip
    assert len(b) == 2 and b._all is None  # nothing made yet
    assert (b[1].node, b[1].zone, b[1].pfn, b[1].order, b[1].migratetype) == (
        1, "Normal", 1 << 20, 10, "Unmovable",
    )  # fmt: skip
    d = BuddyDump(Snapshot(stop="live", kernel=KernelId("6.12", "6.12", "x86_64")), mts, [], [],
                  b, {}, 0.0)  # fmt: skip
    assert json.loads(d.to_json())["blocks"][0] == {
        "node": 0, "zone": "DMA32", "pfn": 16, "order": 4, "migratetype": "Movable",
    }  # fmt: skip


def _reference(succ: np.ndarray, n_heads: int) -> tuple[list[int], list[int]]:
    """Follow each head's list one pointer at a time (what the walk does)."""
    root, dist = [-1] * succ.size, [0] * succ.size
    for h in range(n_heads):
        node, k = int(succ[h]), 1
        while node >= n_heads and root[node] < 0:
            root[node], dist[node] = h, k
            node, k = int(succ[node]), k + 1
    return root, dist


def test_rank_matches_a_pointer_walk_on_long_and_short_lists() -> None:
    """Random disjoint rings, one of 50 000 entries (many chase rounds), many empty or short,
    plus entries on no list and a cycle that misses its head: ranks as the walk gives them."""
    rng = np.random.default_rng(7)
    n_heads, sizes = 40, [50_000, 0, 1, 2, 3, 31, 32, 33, 1000] + [0] * 11 + list(range(20))
    n_entries = sum(sizes) + 500
    perm = rng.permutation(n_entries) + n_heads  # list order unrelated to node numbers
    succ = np.full(n_heads + n_entries, -1, dtype=np.int32)
    at = 0
    for h, size in enumerate(sizes):
        ring = [h, *perm[at : at + size].tolist()]
        at += size
        for i, node in enumerate(ring):
            succ[node] = ring[(i + 1) % len(ring)]
    loose = perm[at:].tolist()  # 500 entries no head reaches: a 300-cycle and strays
    for i, node in enumerate(loose[:300]):
        succ[node] = loose[(i + 1) % 300]
    for node in loose[300:]:
        succ[node] = rng.choice([-1, loose[0]])
    want_root, want_dist = _reference(succ, n_heads)
    root, dist = rank(succ, n_heads)
    assert root[:n_heads].tolist() == list(range(n_heads))
    assert root[n_heads:].tolist() == want_root[n_heads:]
    on = np.flatnonzero(root[n_heads:] >= 0) + n_heads
    assert dist[on].tolist() == np.array(want_dist)[on].tolist()
    assert on.size == sum(sizes)
