"""The boot-time large system hashes as a stage of their own: the PID, dentry, inode, mount and
mountpoint tables start_kernel() sizes from the zone sizing's ``nr_kernel_pages`` and
``nr_all_pages``, with the lines they print, at any release (its change records decide), from
``HashInputs`` alone: no memblock, so a real machine's boot log can be judged on them.

The tables, in the order start_kernel() makes them: pidhash_init() (kernel/pid.c, until
change "pid-hash-removed"), vfs_caches_init_early() (fs/dcache.c: dcache_init_early(),
inode_init_early()) unless hashdist, then after the hand-off vfs_caches_init() (under
hashdist the dentry and inode hashes, then mnt_init() in fs/namespace.c).
"""

from __future__ import annotations

from dataclasses import dataclass

from inspector.model.common import early_param_last, simple_strtoull
from inspector.model.large_system_hash import HashSizing, get_order, hash_line, hash_log2qty

BUCKET = 8  # sizeof(struct hlist_head) and sizeof(struct hlist_bl_head) on 64-bit
LIST_HEAD = 16  # sizeof(struct list_head) on 64-bit
PIDHASH_SHIFT = 4  # kernel/pid.c: pidhash_shift's initial value (HASH_SMALL)
PIDHASH_MAX = 4096  # pidhash_init()'s high_limit
PMD_SHIFT = 21
MAX_ORDER = 11  # MAX_ORDER (MAX_PAGE_ORDER + 1 from 6.8), 4 KiB pages


@dataclass(frozen=True)
class HashInputs:
    """What the hash tables read: the sizing's page counts, the nodes, the command line."""

    nr_kernel_pages: int
    nr_all_pages: int
    memory_nodes: int  # num_node_state(N_MEMORY)
    online_nodes: int  # num_online_nodes()
    config_numa: bool
    cmdline: str
    page_shift: int = 12


@dataclass(frozen=True)
class HashTables:
    """The lines printed early (before mem_init()'s Memory: line) and late (after it)."""

    early: list[str]
    late: list[str]


def _param(cmdline: str, name: str) -> int:
    v = early_param_last(cmdline, name)
    return simple_strtoull(v, 0)[0] if v else 0


def hashdist(h: HashInputs, changes: frozenset[str]) -> int:
    """hashdist (mm/page_alloc.c): HASHDIST_DEFAULT, 1 on a 64-bit NUMA kernel; cleared when
    one node has memory from change "hashdist-single-node"; "hashdist=" sets it."""
    if not h.config_numa:
        return 0
    if early_param_last(h.cmdline, "hashdist") is not None:
        return _param(h.cmdline, "hashdist")
    if "hashdist-single-node" in changes and h.memory_nodes == 1:
        return 0
    return 1


def hash_tables(h: HashInputs, changes: frozenset[str]) -> HashTables:
    """The tables' lines at the release whose changes are ``changes``."""
    sizing = HashSizing(
        h.nr_kernel_pages, h.nr_all_pages, h.page_shift, "hash-adaptive-scale" in changes
    )
    dist = hashdist(h, changes)
    printed = "hash-alloc-type-printed" in changes

    def table(
        name: str,
        numentries: int,
        scale: int,
        *,
        early: bool,
        small_shift: int | None = None,
        high_limit: int = 0,
    ) -> str:
        log2qty = hash_log2qty(
            sizing, BUCKET, numentries, scale, small_shift=small_shift, high_limit=high_limit
        )
        size = BUCKET << log2qty
        how = "linear"
        if not early and (get_order(size, h.page_shift) >= MAX_ORDER or dist):
            # __vmalloc(), or vmalloc_huge() from change "hash-vmalloc-huge": PMD mappings
            # where the size per online node reaches PMD_SIZE (unless "nohugevmalloc")
            how = "vmalloc"
            huge = "hash-vmalloc-huge" in changes and "nohugevmalloc" not in h.cmdline.split()
            if huge and size // max(1, h.online_nodes) >= 1 << PMD_SHIFT:
                how = "vmalloc hugepage"
        return hash_line(
            name,
            1 << log2qty,
            size,
            h.page_shift,
            how=how if printed else None,
            by_get_order="hash-order-get-order" in changes,
        )

    def vfs(early: bool) -> list[str]:
        # dcache_init{,_early}() (fs/dcache.c), inode_init{,_early}() (fs/inode.c)
        return [
            table("Dentry cache", _param(h.cmdline, "dhash_entries"), 13, early=early),
            table("Inode-cache", _param(h.cmdline, "ihash_entries"), 14, early=early),
        ]

    early: list[str] = []
    if "pid-hash-removed" not in changes:
        # pidhash_init() (kernel/pid.c): HASH_EARLY | HASH_SMALL, high_limit 4096
        early.append(
            table("PID", 0, 18, early=True, small_shift=PIDHASH_SHIFT, high_limit=PIDHASH_MAX)
        )
    late: list[str] = []
    (late if dist else early).extend(vfs(early=not dist))
    if "mount-hash-sized" in changes:
        # mnt_init() (fs/namespace.c)
        late.append(table("Mount-cache", _param(h.cmdline, "mhash_entries"), 19, early=False))
        late.append(table("Mountpoint-cache", _param(h.cmdline, "mphash_entries"), 19, early=False))
    else:
        # mnt_init() before it: one page of list heads (HASH_SIZE)
        late.append(f"Mount-cache hash table entries: {(1 << h.page_shift) // LIST_HEAD}")
    return HashTables(early, late)
