"""The zonelists, the per-cpu pagesets, the watermarks and the buddy hand-off (mm/page_alloc.c,
mm/memblock.c)."""

from __future__ import annotations

from inspector.kernel_changes.record import (
    Commit,
    KernelChange,
    absent_in_new,
    both_node_order,
    empty_zone_reserve,
    present_in_both,
    was_zone_order,
)

PAGE_ALLOC: tuple[KernelChange, ...] = (
    KernelChange(
        "vm-total-pages-local",
        "vm_total_pages is a local of build_all_zonelists(), no longer a global",
        "build_all_zonelists() (mm/page_alloc.c)",
        commits=(Commit("", "mm: drop vm_total_pages", ""),),
        patterns=("*:globals[vm_total_pages]",),
        since="v5.9",
        evidence="public trees: 5.8.1 keeps the global vm_total_pages, 5.9.1 a local of "
        "build_all_zonelists() (the mainline id is not checked)",
        when=absent_in_new,
        sole=True,
    ),
    KernelChange(
        "zonelist-zone-order-removed",
        "zonelists are in node order only: numa_zonelist_order= and current_zonelist_order "
        "are gone, and 'Built N zonelists in Node order' lost its 'in … order'",
        "build_all_zonelists() (mm/page_alloc.c)",
        commits=(
            Commit("c9bff3eebc09", "mm, page_alloc: rip out ZONELIST_ORDER_ZONE", "v4.14-rc1"),
        ),
        patterns=(
            "*:globals[current_zonelist_order]",
            "zonelists:zonelist[*]",
            "log:Built # zonelists*",
        ),
        when=lambda old, new: not isinstance(old, str) or " in " in old or was_zone_order(old, new),
    ),
    KernelChange(
        "node-load-accumulated",
        "find_next_best_node() weighs distance·MAX_NUMNODES + node_load and build_zonelists() "
        "adds 1 to node_load (4.7: distance·nr_online·MAX_NUMNODES and a decreasing load)",
        "find_next_best_node(), build_zonelists() (mm/page_alloc.c)",
        commits=(
            Commit(
                "54d032ced983",
                "mm/page_alloc: use accumulated load when building node fallback list",
                "v5.16-rc1",
            ),
        ),
        patterns=("zonelists:zonelist[*]",),
        when=both_node_order,
    ),
    KernelChange(
        "fallback-order-printed",
        "each possible node's fallback order is printed ('Fallback order for Node N: …')",
        "build_zonelists() (mm/page_alloc.c)",
        commits=(Commit("6cf253925df7", "mm/page_alloc: print node fallback order", "v5.16-rc1"),),
        patterns=("log:Fallback order for Node #:*",),
        sole=True,
    ),
    KernelChange(
        "fpi-to-tail",
        "boot frees go to the tail of the free lists (FPI_TO_TAIL), so a list starts with the "
        "first block freed, the lowest pfn (4.7: at the head, the last one freed), and order-0 "
        "pages go straight to the buddy lists, not through the per-cpu lists",
        "__free_pages_core(), __free_one_page() (mm/page_alloc.c)",
        commits=(
            Commit(
                "7fef431be9c9",
                "mm/page_alloc: place pages to tail in __free_pages_core()",
                "v5.10-rc1",
            ),
        ),
        patterns=("buddy:*.free_area[*].head[*]",),
        when=present_in_both,
        sole=True,
    ),
    KernelChange(
        "min-free-kbytes-bound",
        "min_free_kbytes is clamped to 128..262144 (4.7: 128..65536)",
        "calculate_min_free_kbytes() (mm/page_alloc.c)",
        commits=(
            Commit(
                "ee8eb9a5fe86", "mm/page_alloc: increase default min_free_kbytes bound", "v5.7-rc1"
            ),
        ),
        patterns=("wmarks:globals[min_free_kbytes]",),
        when=lambda old, new: old == 65536,
    ),
    KernelChange(
        "wmark-promo",
        "a fourth watermark, WMARK_PROMO = high + the same step, for memory tiering",
        "__setup_per_zone_wmarks() (mm/page_alloc.c)",
        commits=(
            Commit(
                "c574bbe91703",
                "NUMA balancing: optimize page placement for memory tiering system",
                "v5.18-rc1",
            ),
        ),
        patterns=("wmarks:*.watermark[promo]",),
        sole=True,
    ),
    KernelChange(
        "movable-min-watermark",
        "ZONE_MOVABLE's min watermark is clamp(managed/1024, 32, 128), not a share of "
        "min_free_kbytes, and lowmem_pages leaves Movable out",
        "__setup_per_zone_wmarks() (mm/page_alloc.c)",
        commits=(
            Commit("", "mm/page_alloc: fix min_free_kbytes calculation regarding ZONE_MOVABLE", ""),
        ),
        patterns=("wmarks:*zone[Movable].watermark[*]",),
        since="v6.6",
        evidence="public trees: 6.5.0 (and 6.1.192) give ZONE_MOVABLE a share of "
        "min_free_kbytes, 6.6.9 its own clamp (the mainline id is not checked)",
        sole=True,
    ),
    KernelChange(
        "pcp-batch-cap",
        "zone_batchsize() caps the batch at 1 MiB of pages (256, so 63 for a 1 GiB zone; 4.7: "
        "512 KiB, 31)",
        "zone_batchsize() (mm/page_alloc.c)",
        commits=(Commit("d8a759b57035", "mm, page_alloc: double zone's batchsize", "v4.19-rc1"),),
        patterns=("wmarks:*.pageset.batch", "log:* zone: # pages, LIFO batch:#*"),
        when=present_in_both,
    ),
    KernelChange(
        "pcp-high-autotune",
        "pcp->high is tuned at run time between zone->pageset_high_min and _high_max (4.7: "
        "6·batch, fixed)",
        "zone_highsize(), zone_set_pageset_high_and_batch() (mm/page_alloc.c)",
        commits=(Commit("90b41691b988", "mm: add framework for PCP high auto-tuning", "v6.7-rc1"),),
        patterns=("wmarks:*.pageset.high", "wmarks:*.pcp_high_min", "wmarks:*.pcp_high_max"),
        sole=True,
    ),
    KernelChange(
        "lowmem-reserve-empty-zone",
        "lowmem_reserve stays 0 for a zone with no managed pages or a ratio of 0",
        "setup_per_zone_lowmem_reserve() (mm/page_alloc.c)",
        commits=(
            Commit(
                "f63661566fad",
                "mm/page_alloc.c: clear out zone->lowmem_reserve[] if the zone is empty",
                "v5.8-rc1",
            ),
        ),
        patterns=("wmarks:*.lowmem_reserve[*]",),
        when=empty_zone_reserve,
        sole=True,
    ),
    KernelChange(
        "pageblock-bits-lsb-first",
        "a pageblock's migratetype bits are read from the least significant bit of the bitmap "
        "word up (4.7: from the most significant bit down)",
        "__get_pfn_block_flags_mask() (mm/page_alloc.c)",
        patterns=("*:*.pageblock_migratetypes*",),
        since="v5.9",
        evidence="the source: 4.7's get_pfnblock_flags_mask() shifts the word by BITS_PER_LONG "
        "- bitidx - 1, and so do public trees up to 5.8.1; 5.9.1's and 6.1.192's by bitidx; "
        "the commit is not checked",
    ),
    KernelChange(
        "pageblock-order-thp",
        "pageblock_order is the PMD order with CONFIG_TRANSPARENT_HUGEPAGE even without "
        "CONFIG_HUGETLB_PAGE (before: the largest buddy order there)",
        "pageblock_order (include/linux/pageblock-flags.h)",
        patterns=("*:*.pageblock_migratetypes*", "inputs:constants[pageblock_order]"),
        since="v6.10",
        evidence="the source: 6.1.192's pageblock-flags.h looks at CONFIG_HUGETLB_PAGE only, "
        "and so do public trees up to 6.9.0; 6.10.0's and 6.12.118's at "
        "CONFIG_TRANSPARENT_HUGEPAGE too; the commit is not checked",
    ),
    KernelChange(
        "zonelists-in-mm-core-init",
        "build_all_zonelists() runs in mm_core_init(), after parse_args(), setup_log_buf(), "
        "vfs_caches_init_early() and trap_init(), not in start_kernel() right after "
        "setup_per_cpu_areas(): their log lines now come before the 'Built N zonelists' line",
        "mm_core_init() (mm/mm_init.c), start_kernel() (init/main.c)",
        commits=(
            Commit(
                "",
                "init: fold build_all_zonelists() and page_alloc_init_cpuhp() to mm_core_init()",
                "",
            ),
        ),
        patterns=("log:Built # zonelists*", "log:* hash table entries: #*"),
        since="v6.4",
        evidence="the source: 6.1.192's start_kernel() calls build_all_zonelists() after "
        "setup_per_cpu_areas(), and so does a public 6.3.8 tree; 6.4.6's and 6.12.118's "
        "mm_core_init() call it; this commit's id is not checked here",
    ),
    KernelChange(
        "fallback-skips-memoryless-local",
        "find_next_best_node() skips a memoryless local node: a node without memory no longer "
        "heads its own fallback order",
        "find_next_best_node() (mm/page_alloc.c)",
        # a memoryless node has no zones: the zonelists are the same, only the printed order
        patterns=("log:Fallback order for Node #*",),
        since="v6.8",
        evidence="the source: 6.1.192 takes the local node first whatever its memory, and so "
        "do public trees up to 6.6.9; 6.8.1's and 6.12.118's check node_state(node, N_MEMORY); "
        "no 6.7 tree was at hand, so 6.8 is an upper bound, and the commit is not checked",
    ),
    KernelChange(
        "zonelist-default-node-order",
        "a 64-bit NUMA kernel orders its zonelists by node unless told otherwise (before: "
        "default_zonelist_order() chose Zone order when ZONE_DMA/DMA32 was small against the "
        "rest of memory, 'Built N zonelists in Zone order')",
        "default_zonelist_order() (mm/page_alloc.c)",
        patterns=("log:Built # zonelists in *",),
        since="v4.0",
        evidence="real machines' logs: 3.10 and 3.14 print 'Zone order' where the heuristic "
        "picks it, 4.0 and later 'Node order' on the same kinds of machine; no 3.15–3.19 log "
        "was at hand, so 4.0 is an upper bound, and the commit is not checked",
    ),
    KernelChange(
        "hash-adaptive-scale",
        "alloc_large_system_hash() sizes a table from memory with one more step of scale for "
        "every fourfold of memory past 64 GiB (ADAPT_SCALE_BASE), so servers get smaller "
        "dentry, inode and mount hashes",
        "alloc_large_system_hash() (mm/mm_init.c)",
        commits=(Commit("9017217b6f45", "mm: adaptive hash table scaling", "v4.13-rc1"),),
        patterns=("log:* hash table entries: #*",),
        evidence="the id from a public mm citation (Michal Hocko); its release from mmotm's "
        "since-4.12 shortlog, which merged in 4.13; SUSE carried it into its 4.4 and 4.12 "
        "kernels (bnc#1036303)",
    ),
    KernelChange(
        "hash-alloc-type-printed",
        "alloc_large_system_hash()'s line ends with how the table was allocated: ', linear' "
        "(memblock or alloc_pages_exact()) or ', vmalloc'",
        "alloc_large_system_hash() (mm/mm_init.c)",
        patterns=("log:* hash table entries: #*",),
        since="v5.3",
        evidence="real machines' logs print no allocation type through 5.2 and print it from "
        "5.3; a public 4.19.1 tree prints none and 5.8.1 prints it; the commit is not checked",
    ),
    KernelChange(
        "hashdist-single-node",
        "hashdist (vmalloc()ed, node-interleaved dentry and inode hashes, allocated after the "
        "hand-off) is cleared when only one node has memory, so a one-node NUMA kernel "
        "allocates them early from memblock (before: any 64-bit NUMA kernel deferred them)",
        "fixup_hashdist() (mm/mm_init.c; page_alloc_init() before 6.3)",
        patterns=("log:Dentry cache hash table entries: #*", "log:Inode-cache hash table*"),
        since="v5.3",
        evidence="real machines' logs of one-node NUMA kernels print the dentry hash after the "
        "Memory: line through 5.2 and before it from 5.3; a public 4.19.1 tree's "
        "page_alloc_init() lacks the check, 5.8.1's has it; the commit is not checked",
    ),
    KernelChange(
        "hash-vmalloc-huge",
        "a large system hash allocated with vmalloc is mapped with PMD (2 MiB) pages where its "
        "size per online node reaches PMD_SIZE, and the line says ', vmalloc hugepage' "
        "(vmalloc_huge(); x86_64 and arm64 select HAVE_ARCH_HUGE_VMALLOC)",
        "alloc_large_system_hash() (mm/mm_init.c), __vmalloc_node_range() (mm/vmalloc.c)",
        patterns=("log:* hash table entries: #*",),
        since="v6.1",
        evidence="the source: a public 5.17 tree calls __vmalloc() and neither arch selects "
        "HAVE_ARCH_HUGE_VMALLOC; 6.1.0's calls vmalloc_huge() and both select it; no 5.18–6.0 "
        "tree was at hand, so 6.1 is an upper bound; the commits are not checked",
    ),
    KernelChange(
        "mount-hash-sized",
        "mnt_init()'s mount and mountpoint hashes are sized from memory by "
        "alloc_large_system_hash() ('Mount-cache' and 'Mountpoint-cache hash table entries: "
        "N (order: …)'; before: one page of list heads, 'Mount-cache hash table entries: 256')",
        "mnt_init() (fs/namespace.c)",
        patterns=("log:Mount-cache hash table entries*", "log:Mountpoint-cache hash table*"),
        since="v3.14",
        evidence="real machines' logs: 3.14 prints both lines sized, RHEL 7's 3.10 first the "
        "one-page form, later releases of it both sized lines (a backport); no 3.11–3.13 log "
        "was at hand, so 3.14 is an upper bound, and the commit is not checked",
    ),
    KernelChange(
        "hash-order-get-order",
        "alloc_large_system_hash()'s line gives the table's order as get_order(size), 0 for a "
        "table under a page (before: ilog2(size) - PAGE_SHIFT, negative there: 'order: -3')",
        "alloc_large_system_hash() (mm/mm_init.c)",
        patterns=("log:* hash table entries: #*",),
        since="v6.19",
        backports=("6.1.192", "6.12.118"),
        evidence="the source: public trees of 4.19 to 6.14.0 (and Ubuntu's 6.8, built here: "
        "'Mount-cache hash table entries: 64 (order: -3, 512 bytes, linear)') print ilog2(size) "
        "- PAGE_SHIFT, 6.19.0 get_order(size); Debian's stable 6.1.192 and 6.12.118 carry it. "
        "6.19 and the stable levels are upper bounds; the commit is not checked",
    ),
    KernelChange(
        "pcp-high-from-low-wmark",
        "pcp->high is sized from the zone's low watermark split over its node's CPUs "
        "(zone_highsize()), set by zone_pcp_update() at the end of __setup_per_zone_wmarks() "
        "(4.7: 6·batch, set by setup_per_cpu_pageset() in start_kernel())",
        "zone_highsize(), zone_set_pageset_high_and_batch() (mm/page_alloc.c)",
        commits=(
            Commit(
                "b92ca18e8ca5",
                "mm/page_alloc: disassociate the pcp->high from pcp->batch",
                "v5.14-rc1",
            ),
            Commit(
                "04f8cfeaed08",
                "mm/page_alloc: adjust pcp->high after CPU hotplug events",
                "v5.14-rc1",
            ),
        ),
        patterns=("wmarks:*.pageset.high",),
        evidence="public trees: 5.12.9 sets 6·batch, 5.14.0-rc5 and 5.15 have zone_highsize(); "
        "the ids from the series' patches and the list of commits merged for 5.14",
    ),
    KernelChange(
        "x86-vmalloc-preallocated",
        "x86_64's mem_init() ends with preallocate_vmalloc_pages(): a page for each top-level "
        "page-table entry of the vmalloc area, off the free count the 'Memory:' line prints",
        "preallocate_vmalloc_pages() (arch/x86/mm/init_64.c)",
        patterns=("log:Memory: *",),
        arches=("x86_64",),
        commits=(
            Commit(
                "6eb82f994026", "x86/mm: Pre-allocate P4D/PUD pages for vmalloc area", "v5.9-rc1"
            ),
        ),
        evidence="public trees: 5.8.1 lacks the call, 5.9.1 and later have it; the id from "
        "later Fixes: tags and the x86/mm pull for 5.9",
    ),
)
