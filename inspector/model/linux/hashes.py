"""Linux 6.12: alloc_large_system_hash() (mm/mm_init.c) and its callers: the dentry and inode
hashes of vfs_caches_init_early() (dcache_init_early() in fs/dcache.c, inode_init_early() in
fs/inode.c), from memblock unless hashdist, and the tables printed after the hand-off
(vfs_caches_init() under hashdist, mnt_init() in fs/namespace.c).
"""

from __future__ import annotations

from inspector.errors import InspectorError
from inspector.model.common import (
    NUMA_NO_NODE,
    early_param_last,
    simple_strtoull,
)
from inspector.model.large_system_hash import HashSizing, get_order, hash_log2qty
from inspector.model.linux.early import PMD_SHIFT, EarlyState612, HashTable
from inspector.model.memblock import MEMBLOCK_ALLOC_ACCESSIBLE


class LargeSystemHash612(EarlyState612):
    """alloc_large_system_hash(), early (HASH_EARLY, from memblock) and late."""

    def hashdist(self) -> int:
        # hashdist (mm/mm_init.c, 6.12): HASHDIST_DEFAULT (1 on 64-bit NUMA), cleared by
        # fixup_hashdist() at the end of free_area_init() when one node has memory; the
        # __setup("hashdist=") in parse_args() comes after that
        if not self.mi.config_numa:
            return 0
        v = early_param_last(self.mi.cmdline, "hashdist")
        if v is not None:
            return simple_strtoull(v, 0)[0]
        # fixup_hashdist() from change "hashdist-single-node"
        return 0 if self.m.has("hashdist-single-node") and len(self.m.memory_nodes()) == 1 else 1

    def alloc_large_system_hash(
        self,
        name: str,
        bucketsize: int,
        numentries: int,
        scale: int,
        *,
        early: bool,
        low_limit: int = 0,
    ) -> HashTable:
        # mirrors alloc_large_system_hash() (mm/mm_init.c, 6.12), high_limit 0; ``early`` is
        # HASH_EARLY (memblock_alloc()); otherwise vmalloc_huge() (order > MAX_PAGE_ORDER or
        # hashdist) or alloc_pages_exact(), which leave memblock alone
        ps = self.page_shift
        m = self.m
        log2qty = hash_log2qty(
            HashSizing(m.nr_kernel_pages, m.nr_all_pages, ps, m.has("hash-adaptive-scale")),
            bucketsize,
            numentries,
            scale,
            low_limit=low_limit,
        )
        max_page_order = self.m.geo.max_order - 1
        while True:
            size = bucketsize << log2qty
            how = "linear"
            base = 0
            if early:
                base = self.memblock_alloc_nopanic(size, "alloc_large_system_hash")
                found = bool(base)
            else:
                if get_order(size, ps) > max_page_order or self.hashdist():
                    how = "vmalloc hugepage" if self.vmalloc_huge(size) else "vmalloc"
                found = True  # the page allocator has plenty this early
            if found or size <= self.page_size or log2qty <= 1:
                break
            log2qty -= 1
        if not found:
            raise InspectorError(f"Failed to allocate {name} hash table: the kernel panics")
        table = HashTable(name, 1 << log2qty, size, base, how)
        self.hashes.append(table)
        return table

    def vmalloc_huge(self, size: int) -> bool:
        # __vmalloc_node_range_noprof() (mm/vmalloc.c, 6.12) with VM_ALLOW_HUGE_VMAP and
        # NUMA_NO_NODE: PMD mappings when size / num_online_nodes() reaches PMD_SIZE
        # (arch_vmap_pmd_supported(): x86 PSE, which QEMU's CPUs have)
        size_per_node = size // max(1, len(self.m.pgdats))
        return (
            self.m.has("hash-vmalloc-huge")
            and self.mi.config_have_arch_huge_vmalloc
            and size_per_node >= 1 << PMD_SHIFT
        )

    def memblock_alloc_nopanic(self, size: int, caller: str) -> int:
        return self.mb.alloc_try_nid(
            size,
            self.smp_cache_bytes,
            0,
            MEMBLOCK_ALLOC_ACCESSIBLE,
            NUMA_NO_NODE,
            caller,
            panic=False,
        )

    def hash_from_param(
        self, name: str, bucket: str, param: str, scale: int, *, early: bool, low_limit: int = 0
    ) -> HashTable:
        """A table whose size a ``param=`` of the command line may set (0: from memory)."""
        v = early_param_last(self.mi.cmdline, param)
        entries = simple_strtoull(v, 0)[0] if v else 0
        return self.alloc_large_system_hash(
            name, self.sizeof(bucket), entries, scale, early=early, low_limit=low_limit
        )

    def vfs_caches(self, *, early: bool) -> list[HashTable]:
        # dcache_init{,_early}() (fs/dcache.c) and inode_init{,_early}() (fs/inode.c), 6.12
        return [
            self.hash_from_param(
                "Dentry cache",
                "struct hlist_bl_head",
                "dhash_entries",
                13,
                early=early,
                low_limit=2,
            ),
            self.hash_from_param(
                "Inode-cache", "struct hlist_head", "ihash_entries", 14, early=early
            ),
        ]

    def vfs_caches_init_early(self) -> None:
        # mirrors vfs_caches_init_early() (fs/dcache.c, 6.12): HASH_EARLY tables without
        # hashdist
        if not self.hashdist():
            for table in self.vfs_caches(early=True):
                self.log.append(self.hash_line(table))

    def late_hash_lines(self) -> list[str]:
        """The hash-table lines 6.12 prints after the hand-off: with hashdist the dentry and
        inode hashes (vfs_caches_init()), then mnt_init()'s two (fs/namespace.c), all through
        alloc_large_system_hash() without HASH_EARLY."""
        tables = self.vfs_caches(early=False) if self.hashdist() else []
        tables.append(
            self.hash_from_param(
                "Mount-cache", "struct hlist_head", "mhash_entries", 19, early=False
            )
        )
        tables.append(
            self.hash_from_param(
                "Mountpoint-cache", "struct hlist_head", "mphash_entries", 19, early=False
            )
        )
        return [self.hash_line(t) for t in tables]

    def hash_line(self, table: HashTable) -> str:
        return table.log_line(self.page_shift, by_get_order=self.m.has("hash-order-get-order"))
