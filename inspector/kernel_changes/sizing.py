"""Zone and node sizing, the memmap and the nodes set up at boot (mm/mm_init.c; mm/page_alloc.c
before 6.4)."""

from __future__ import annotations

from inspector.kernel_changes.record import Commit, KernelChange, absent_in_new, absent_in_old

SIZING: tuple[KernelChange, ...] = (
    KernelChange(
        "stop-renames",
        "the hand-off is memblock_free_all() and stop 1 is free_area_init()",
        "mm/memblock.c, mm/mm_init.c",
        commits=(
            Commit(
                "c6ffc5ca8fb3",
                "memblock: rename free_all_bootmem to memblock_free_all",
                "v4.20-rc1",
            ),
            Commit(
                "9691a071aa26",
                "mm: use free_area_init() instead of free_area_init_nodes()",
                "v5.8-rc1",
            ),
            Commit(
                "9420f89db2dd",
                "mm: move most of core MM initialization to mm/mm_init.c",
                "v6.4-rc1",
            ),
        ),
        patterns=("stop:*",),
        sole=True,
    ),
    KernelChange(
        "managed-equals-present",
        "free_area_init_core() no longer estimates the memmap and dma_reserve: managed_pages = "
        "present_pages until the hand-off, calc_memmap_size() and dma_reserve are gone, and "
        "with them the 'pages used for memmap' and 'pages reserved' lines",
        "free_area_init_core() (mm/mm_init.c)",
        commits=(
            Commit(
                "0ac5e785dcb7",
                "mm/mm_init.c: remove meaningless calculation of zone->managed_pages in "
                "free_area_init_core()",
                "v6.10-rc1",
            ),
            Commit("90e796e22e35", "mm/mm_init.c: remove unneeded calc_memmap_size()", "v6.10-rc1"),
            Commit("6600a6b10c32", "mm/mm_init.c: remove the useless dma_reserve", "v6.10-rc1"),
        ),
        patterns=(
            "zonelists:*.managed_pages",
            "zonelists:*.memmap_pages",
            "*:globals[dma_reserve]",
            "inputs:constants[dma_reserve]",
            "log:* zone: # pages used for memmap*",
            "log:* zone: # pages reserved*",
            "log:Built # zonelists*",  # Total pages: the managed pages at build_all_zonelists()
        ),
        sole=True,
    ),
    KernelChange(
        "calc-nr-kernel-pages",
        "nr_kernel_pages and nr_all_pages are counted from memblock's free ranges at the end of "
        "free_area_init() (4.7: summed per zone, less the memmap estimate)",
        "calc_nr_kernel_pages() (mm/mm_init.c)",
        # the commit's subject names calc_nr_all_pages(); the function it adds is
        # calc_nr_kernel_pages()
        commits=(
            Commit(
                "8ad4184985e8", "mm/mm_init.c: add new function calc_nr_all_pages()", "v6.10-rc1"
            ),
        ),
        patterns=("*:globals[nr_kernel_pages]", "*:globals[nr_all_pages]"),
    ),
    KernelChange(
        "init-lines-pr-debug",
        "'On node N totalpages' and the per-zone 'pages used for memmap', 'pages reserved' and "
        "'LIFO batch' lines are pr_debug",
        "calculate_node_totalpages(), free_area_init_core() (mm/mm_init.c)",
        patterns=(
            "log:On node # totalpages:*",
            "log:* zone: # pages, LIFO batch:#*",
            "log:* zone: # pages used for memmap*",
            "log:* zone: # pages reserved*",
        ),
        when=absent_in_new,
        sole=True,
        since="v5.14",
        evidence="real machines' logs print the lines through 5.13 and none from 5.14 on",
    ),
    KernelChange(
        "memmap-init-memblock-ranges",
        "memmap_init() walks memblock.memory ranges instead of every pfn, so only pageblocks "
        "that start inside memory become MIGRATE_MOVABLE",
        "memmap_init(), memmap_init_range() (mm/mm_init.c)",
        commits=(
            Commit(
                "73a6e474cb37",
                "mm: memmap_init: iterate over memblock regions rather that check each PFN",
                "v5.8-rc1",
            ),
        ),
        patterns=("memmap:*.pageblocks[*]",),
    ),
    KernelChange(
        "unavailable-zeroed-line",
        "the struct pages of every hole of memblock.memory below max_pfn are zeroed and counted "
        "('Zeroed struct page in unavailable ranges: N pages'; before: only holes reserved in "
        "memblock, 'Reserved but unavailable: N pages')",
        "zero_resv_unavail(), later init_unavailable_mem() (mm/page_alloc.c)",
        patterns=("log:Zeroed struct page in unavailable ranges*",),
        since="v5.0",
        backports=("4.19.132",),
        evidence="real machines' logs: Debian's 4.19.67 prints 'Reserved but unavailable' (as a "
        "public 4.19.1 tree does), 5.0 and Debian's 4.19.132 the zeroed count; 5.0 and 4.19.132 "
        "are upper bounds, the commit is not checked; RHEL 8.2's 4.18 carries it too",
    ),
    KernelChange(
        "unavailable-tail-to-section",
        "the unavailable-ranges count runs past max_pfn to the end of its memory section "
        "(before: to max_pfn)",
        "init_unavailable_mem() (mm/page_alloc.c)",
        commits=(
            Commit(
                "4b094b7851bf",
                "mm/page_alloc.c: initialize memmap of unavailable memory directly",
                "v5.6-rc1",
            ),
        ),
        patterns=("log:Zeroed struct page in unavailable ranges*",),
        backports=("4.19.132", "5.4.32"),
        evidence="real machines' logs: 5.0–5.3 count to max_pfn, 5.6.7 and later to the "
        "section's end, and so do Debian's 4.19.132 and ROSA's 5.4.32 (upper bounds); that "
        "this commit brought the round-up is not checked here",
    ),
    KernelChange(
        "unavailable-per-zone",
        "the holes' struct pages are initialised zone by zone, each hole counted to the zone "
        "whose memory follows it and each zone's tail to its section's end ('  DMA zone: N "
        "pages in unavailable ranges')",
        "memmap_init_zone() (mm/page_alloc.c)",
        commits=(
            Commit(
                "0740a50b9baa",
                "mm/page_alloc.c: refactor initialization of struct page for holes in memory "
                "layout",
                "v5.12-rc3",
            ),
        ),
        patterns=("log:* zone: # pages in unavailable ranges*",),
        backports=("5.11.22",),
        evidence="real machines' logs: Fedora's 5.11.22 prints the per-zone form (an upper "
        "bound for 5.11.y); 5.10.y carried it briefly (Fedora's 5.10.11 has the zeroed count, "
        "Arch's 5.10.79 the per-node form), at levels not placed here",
    ),
    KernelChange(
        "unavailable-per-node-zone",
        "holes are initialised per (memblock range, zone) in memmap_init(), each counted to "
        "the zone above it, a line per hole ('On node N, zone Z: N pages in unavailable "
        "ranges')",
        "memmap_init(), memmap_init_zone_range(), init_unavailable_range() (mm/mm_init.c)",
        commits=(
            Commit(
                "122e093c1734",
                "mm/page_alloc: fix memory map initialization for descending nodes",
                "v5.14-rc1",
            ),
        ),
        patterns=("log:On node #, zone *: # pages in unavailable ranges*",),
        backports=("5.10.70", "5.13.10"),
        sole=True,
        evidence="stable kernels carry it: Debian's 5.10.70 and Void's 5.13.10 print the "
        "per-node form (upper bounds for 5.10.y and 5.13.y)",
    ),
    KernelChange(
        "node-spanned-end-minus-start",
        "node_spanned_pages is the node's end - start pfn (before: the sum of its zones' spans)",
        "calculate_node_totalpages() (mm/mm_init.c)",
        patterns=("zonelists:node[*].node_spanned_pages",),
        backports=("6.12.118",),
        evidence="the source: 4.7 to 6.1.192 and public trees of 6.2 to 6.19.0 sum the zones' "
        "spans; Debian's 6.12.118 (a stable release) takes end - start: a change after 6.19 in "
        "mainline (not placed here) that 6.12.y carries by 6.12.118",
    ),
    KernelChange(
        "movable-clips-zone",
        "kernelcore=/movablecore= take N% of memory, and zone_spanned_pages_in_node() clamps "
        "the node's range into the zone's, so a zone above zone_movable_pfn is empty (the "
        "clip itself: change movable-zone-clipped)",
        "adjust_zone_range_for_zone_movable(), cmdline_parse_core() (mm/mm_init.c)",
        commits=(
            Commit(
                "a5c6d6509342",
                "mm, page_alloc: extend kernelcore and movablecore for percent",
                "v4.17-rc1",
            ),
            Commit(
                "299c83dce9ea",
                "mem-hotplug: fix node spanned pages when we have a node with only ZONE_MOVABLE",
                "v5.2-rc1",
            ),
        ),
        patterns=(
            "zonelists:*.zone_start_pfn",
            "zonelists:*.spanned_pages",
            "zonelists:*.present_pages",
            "zonelists:node[*].node_present_pages",
            "*:globals[zone_movable_pfn[*]]",
            "*:globals[required_kernelcore]",
            "*:globals[required_movablecore]",
            "*:globals[movable_zone]",
            "log:Node #: 0x*",
            "log:Movable zone start for each node*",
            "memmap:*.pageblocks[*]",
        ),
    ),
    KernelChange(
        "x86-memoryless-nodes-online",
        "x86 brings a memoryless node whose CPUs ACPI's SRAT names online at boot "
        "(init_cpu_to_node() → init_memory_less_node(): 'Initmem setup node N [mem 0x0-0x0]', "
        "'On node N totalpages: 0', one more zonelist); 4.7 maps those CPUs to the nearest node "
        "with memory",
        "init_cpu_to_node(), init_memory_less_node() (arch/x86/mm/numa.c)",
        patterns=(
            "log:Initmem setup node #*",
            "log:On node # totalpages:*",
            "log:Built # zonelists*",
        ),
        arches=("x86_64",),
        since="v4.15",
        evidence="real machines' logs of 4.15 and 5.4 print it (the first release is not pinned: "
        "no 4.8–4.14 log with a memoryless node was at hand; the commit is not checked here)",
    ),
    KernelChange(
        "initmem-memoryless-line",
        "free_area_init_node() prints 'Initmem setup node N as memoryless' for a node without "
        "memory (before: 'Initmem setup node N [mem 0x0000000000000000-0x0000000000000000]')",
        "free_area_init_node() (mm/mm_init.c)",
        patterns=("log:Initmem setup node #*",),
        commits=(
            Commit(
                "7c30daac2069",
                "mm: make free_area_init_node aware of memory less nodes",
                "v5.18-rc1",
            ),
        ),
        evidence="real machines' logs: 5.10 prints the [mem 0x0-0x0] form, 5.19 and 6.x the "
        "'as memoryless' form; public trees: 5.17 lacks it, 6.1 has it",
    ),
    KernelChange(
        "possible-nodes",
        "free_area_init() sets up every possible node (an offline one gets a pg_data_t from "
        "memblock), and x86 onlines memoryless nodes that have CPUs",
        "free_area_init(), alloc_offline_node_data() (mm/mm_init.c, mm/numa.c)",
        commits=(
            Commit("09f49dca570a", "mm: handle uninitialized numa nodes gracefully", "v5.18-rc1"),
        ),
        patterns=(
            "*:globals[nr_online_nodes]",
            "zonelists:node[*].*",
            "log:Initmem setup node # as memoryless*",
        ),
        when=absent_in_old,
    ),
    KernelChange(
        "memory-line-late",
        "the 'Memory: …K/…K available' line is printed by page_alloc_init_late(), after the "
        "deferred struct pages are initialised, not right after the hand-off by mm_init()",
        "mem_init_print_info() (mm/mm_init.c)",
        patterns=("log:Memory: *",),
        since="v6.11",
        evidence="the source: 6.1.192's init/main.c mm_init() calls mem_init_print_info() "
        "after mem_init(), and so do public trees up to 6.10.0; 6.11.11's, 6.12.0's and "
        "6.12.118's mm/mm_init.c call it from page_alloc_init_late(); the commit is not checked",
    ),
    KernelChange(
        "offline-node-line-dropped",
        "free_area_init() no longer prints 'Initializing node N as memoryless' for a possible "
        "node that is offline before setting it up",
        "free_area_init() (mm/mm_init.c)",
        patterns=("log:Initializing node # as memoryless*",),
        since="v6.8",
        evidence="the source: 6.1.192 prints it, and so do public trees up to 6.6.9; 6.8.1's and "
        "6.12.118's do not; no 6.7 tree was at hand, so 6.8 is an upper bound, and the commit "
        "is not checked",
    ),
    KernelChange(
        "mem-ranges-018",
        "the 'Zone ranges', 'Movable zone start', 'Early memory node ranges' and 'Initmem setup "
        "node' addresses are printed %#018Lx, 16 hex digits (before: %#010Lx, at least 8)",
        "free_area_init_nodes(), free_area_init_node() (mm/page_alloc.c)",
        # rows of a diff-versions view: a log line's shape, its numbers and [asides] dropped
        patterns=(
            "log:DMA #*",
            "log:DMA# #*",
            "log:Normal #*",
            "log:Node #: #*",
            "log:node*#: #*",
            "log:Initmem setup node #*",
        ),
        since="v4.0",
        evidence="real machines' logs: 3.10 (RHEL 7 up to 3.10.0-1160) and 3.14 print 8 digits, "
        "4.0 and later 16; no 3.15–3.19 log was at hand, so 4.0 is an upper bound, and the "
        "commit is not checked",
    ),
    KernelChange(
        "initmem-line-from-mm",
        "x86's 'Initmem setup node N' line comes from free_area_init_node(), after 'Early "
        "memory node ranges', with the node's first and last pfn (before: from "
        "setup_node_data() in arch/x86/mm/numa.c, before 'Zone ranges:', with the node's "
        "NUMA block range from numa_meminfo, which starts at 0 for node 0)",
        "free_area_init_node() (mm/page_alloc.c), setup_node_data() (arch/x86/mm/numa.c)",
        patterns=("log:Initmem setup node #*",),
        arches=("x86_64",),
        since="v4.0",
        evidence="real machines' logs: 3.14 and RHEL 7's 3.10.0-327 print it from "
        "setup_node_data(), 4.0 and later from free_area_init_node(); RHEL 7 carries the later "
        "form by 3.10.0-957 (a backport: declare it with --with); no 3.15–3.19 log was at hand, "
        "so 4.0 is an upper bound, and the commit is not checked",
    ),
    KernelChange(
        "mem-init-print-info",
        "the 'Memory: A/B available' line comes from mem_init_print_info(), B the present pages "
        "(before: x86_64's own mem_init() line, 'Memory: Ak/Bk available', B = max_pfn pages)",
        "mem_init_print_info() (mm/page_alloc.c)",
        patterns=("log:Memory: *",),
        arches=("x86_64",),
        since="v3.14",
        evidence="real machines' logs: RHEL 7's 3.10 prints x86's own line with the 'k' unit "
        "and max_pfn, 3.14 and later the common line; no 3.11–3.13 log was at hand, so 3.14 "
        "is an upper bound, and the commit is not checked",
    ),
    KernelChange(
        "free-area-init-reworked",
        "one free_area_init() for every arch: the zones' limits run from the first pfn of DRAM "
        "(each zone from the previous one's end) and free_area_init_node() finds its own "
        "node's range (no more 'Could not find start_pfn for node N' for a node without "
        "memory); the same zones either way",
        "free_area_init(), free_area_init_node() (mm/mm_init.c)",
        commits=(
            Commit(
                "9691a071aa26",
                "mm: use free_area_init() instead of free_area_init_nodes()",
                "v5.8-rc1",
            ),
            Commit(
                "51930df5801e",
                "mm: free_area_init: allow defining max_zone_pfn in descending order",
                "v5.8-rc1",
            ),
            Commit(
                "854e8848c584", "mm: clean up free_area_init_node() and its helpers", "v5.8-rc1"
            ),
        ),
        patterns=("log:Could not find start_pfn for node *",),
        evidence="public trees: 5.7.14 and 4.19.1 have find_min_pfn_for_node() and its line, "
        "5.8.1 the new free_area_init() and free_area_init_node(nid); the two later ids from "
        "public Fixes: tags and stable lists",
    ),
    KernelChange(
        "mirror-needs-mirror-memory",
        "kernelcore=mirror on a machine without mirrored memory is ignored, with 'The system "
        "has no mirror memory, ignore kernelcore=mirror.' (4.7: every non-mirrored range above "
        "4 GiB became ZONE_MOVABLE)",
        "find_zone_movable_pfns_for_nodes() (mm/mm_init.c)",
        commits=(
            Commit(
                "",
                "mm/mm_init: Ignore kernelcore=mirror boot option when no mirror memory presents.",
                "",
            ),
        ),
        patterns=("log:The system has no mirror memory*", "*:globals[zone_movable_pfn[*]]"),
        since="v6.6",
        evidence="public trees: 6.5 lacks the check, 6.6.9 and later have it (posted August "
        "2023, for the 6.6 merge window; not sent to stable); the mainline id is not found",
    ),
    KernelChange(
        "movable-start-past-node-dropped",
        "a node's ZONE_MOVABLE start at or past the node's end is dropped (0) (4.7: only "
        "aligned to MAX_ORDER_NR_PAGES)",
        "find_zone_movable_pfns_for_nodes() (mm/mm_init.c)",
        commits=(
            Commit(
                "ddbc84f3f595",
                "mm/pages_alloc.c: don't create ZONE_MOVABLE beyond the end of a node",
                "v5.18-rc1",
            ),
        ),
        patterns=("*:globals[zone_movable_pfn[*]]",),
        backports=("5.17.2",),
        evidence="public trees: 5.17-rc5 and 5.15 lack it, 5.19, 6.0.1 and 6.1 have it; the id "
        "and the 5.17.2 backport from the stable patch that cites it upstream",
    ),
    KernelChange(
        "movable-zone-clipped",
        "a zone that straddles zone_movable_pfn ends there, and zone_absent_pages_in_node() no "
        "longer counts the node's pages from zone_movable_pfn on as holes of ZONE_NORMAL (4.7 "
        "did, whichever zone ZONE_MOVABLE was carved from)",
        "adjust_zone_range_for_zone_movable(), zone_absent_pages_in_node() (mm/mm_init.c)",
        commits=(
            Commit(
                "e506b99696a2",
                "mem-hotplug: fix node spanned pages when we have a movable node",
                "v4.9-rc1",
            ),
        ),
        patterns=(
            "zonelists:*.spanned_pages",
            "zonelists:*.present_pages",
            "zonelists:node[*].node_present_pages",
        ),
        evidence="public trees: 4.7.4 and 4.8.17 have the ZONE_NORMAL term and no clip, 4.9.0 "
        "the clip and no term; the id from commit 299c83dce9ea's text, which cites it, and "
        "mmotm's since-4.8 shortlog",
    ),
)
