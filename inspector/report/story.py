"""Each step of the walkthrough told as a story: two to four sentences of what the function does
and why, in English and Chinese (written by the project, not copied; kernel identifiers stay as
they are), keyed by the kernel function, the same in every release that has it."""

from __future__ import annotations

import html

from inspector.report.lang import ZH, both
from inspector.report.steps import Step

STORY: dict[str, tuple[str, str]] = {
    "start_kernel": (
        "The boot CPU's first C function. Memory is not managed yet: the firmware described "
        "it, and the kernel will hand it from one allocator to the next until the buddy "
        "allocator owns every free page.",
        "引导 CPU 执行的第一个 C 函数。此时内存还没有被管理：固件只是描述了它，内核要把它从一个"
        "分配器交到下一个，直到伙伴分配器接管每一个空闲页。",
    ),
    "setup_arch": (
        "The architecture's set-up. It reads the firmware's memory map into memblock, the "
        "simple boot-time allocator that only knows ranges of memory and ranges reserved.",
        "体系结构相关的初始化。它把固件的内存布局读进 memblock——启动期的简单分配器，只知道哪些"
        "区间是内存、哪些区间已被保留。",
    ),
    "setup_memory_map": (
        "x86 asks the BIOS for its e820 table: a list of address ranges, each usable RAM or "
        "reserved. Overlaps are resolved and the list sorted before anyone trusts it.",
        "x86 向 BIOS 索取 e820 表：一串地址区间，每段是可用内存或保留区。先消除重叠、排好序，之"
        "后才被使用。",
    ),
    "e820__memory_setup": (
        "x86 asks the BIOS for its e820 table: a list of address ranges, each usable RAM or "
        "reserved. Overlaps are resolved and the list sorted before anyone trusts it.",
        "x86 向 BIOS 索取 e820 表：一串地址区间，每段是可用内存或保留区。先消除重叠、排好序，之"
        "后才被使用。",
    ),
    "memblock_x86_fill": (
        "Every usable e820 range becomes a region of memblock.memory. From here on memblock is "
        "the only record of what memory exists.",
        "每个可用的 e820 区间都成为 memblock.memory 的一个区域。从此，memblock 是内存存在与否的"
        "唯一记录。",
    ),
    "e820__memblock_setup": (
        "Every usable e820 range becomes a region of memblock.memory. From here on memblock is "
        "the only record of what memory exists.",
        "每个可用的 e820 区间都成为 memblock.memory 的一个区域。从此，memblock 是内存存在与否的"
        "唯一记录。",
    ),
    "initmem_init": (
        "The NUMA nodes are found (ACPI's SRAT, or numa=fake) and each memblock region is "
        "stamped with the node it belongs to. The zones and the zonelists later follow these "
        "node ids.",
        "找出 NUMA 节点（ACPI 的 SRAT 表，或 numa=fake），并给每个 memblock 区域标上所属节点。"
        "之后的内存域与 zonelist 都依据这些节点号。",
    ),
    "arm64_memblock_init": (
        "arm64 takes the device tree's memory into memblock, cuts what mem= or the linear map "
        "cannot hold, and reserves the kernel image, the initrd and the device tree itself. "
        "Everything reserved here stays out of the buddy allocator for good.",
        "arm64 把设备树中的内存加入 memblock，裁掉 mem= 或线性映射容纳不下的部分，并保留内核映"
        "像、initrd 与设备树本身。这里保留的内存永远不会进入伙伴分配器。",
    ),
    "paging_init": (
        "The kernel's page tables are built for the memory memblock knows. Their pages come "
        "from memblock too, so they show up as reserved ranges.",
        "为 memblock 所知的内存建立内核页表。页表本身也从 memblock 分配，所以会出现在保留区间里。",
    ),
    "bootmem_init": (
        "arm64's memory set-up after the page tables: the NUMA nodes, the sparse memory "
        "sections (and their struct page arrays), then the zones. After it every struct page "
        "has a place, though none is initialised yet.",
        "arm64 在页表之后的内存初始化：先是 NUMA 节点，再是稀疏内存段（及其 struct page 数组）"
        "，最后是内存域。此后每个 struct page 都有了位置，只是还没有初始化。",
    ),
    "arm64_numa_init": (
        "The NUMA nodes come from the device tree (or one fake node when there are none) and "
        "are stamped onto memblock's regions, as x86 does from ACPI. On a machine without NUMA "
        "in its device tree, all memory is node 0.",
        "NUMA 节点来自设备树（没有时伪造一个节点），并标注到 memblock 的区域上，与 x86 从 ACPI "
        "获取的做法相同。设备树中没有 NUMA 信息的机器上，全部内存都属于节点 0。",
    ),
    "arch_numa_init": (
        "The NUMA nodes come from the device tree (or one fake node when there are none) and "
        "are stamped onto memblock's regions, as x86 does from ACPI. On a machine without NUMA "
        "in its device tree, all memory is node 0.",
        "NUMA 节点来自设备树（没有时伪造一个节点），并标注到 memblock 的区域上，与 x86 从 ACPI "
        "获取的做法相同。设备树中没有 NUMA 信息的机器上，全部内存都属于节点 0。",
    ),
    "zone_sizes_init": (
        "Each zone gets its highest page frame: DMA for old devices, DMA32 below 4 GiB, Normal "
        "for the rest. These limits, max_zone_pfn[], are all the arch says about zones.",
        "为每个内存域确定最高页帧号：DMA 给老设备，DMA32 在 4 GiB 以下，其余是 Normal。这组上限"
        " max_zone_pfn[] 是体系结构对内存域的全部交代。",
    ),
    "free_area_init_nodes": (
        "The generic code takes over: each zone's limits from max_zone_pfn[], where "
        "ZONE_MOVABLE starts if kernelcore= or movablecore= asked for it, and the ranges "
        "printed. Then every online node is set up.",
        "通用代码接手：由 max_zone_pfn[] 得出各内存域的范围；若 kernelcore= 或 movablecore= 要"
        "求，确定 ZONE_MOVABLE 的起点；打印这些范围。随后逐个初始化在线节点。",
    ),
    "free_area_init": (
        "The generic code takes over: each zone's limits from max_zone_pfn[], where "
        "ZONE_MOVABLE starts if kernelcore= or movablecore= asked for it, and the ranges "
        "printed. Then every possible node is set up, an offline one with a pg_data_t from "
        "memblock.",
        "通用代码接手：由 max_zone_pfn[] 得出各内存域的范围；若 kernelcore= 或 movablecore= 要"
        "求，确定 ZONE_MOVABLE 的起点；打印这些范围。随后初始化所有可能的节点，离线节点的 pg_da"
        "ta_t 从 memblock 分配。",
    ),
    "free_area_init_node": (
        "One node's pg_data_t: its first and last page frame from memblock, then each zone's "
        "share of that range. It prints 'Initmem setup node N' with that range.",
        "一个节点的 pg_data_t：从 memblock 得出它的首尾页帧，再算出每个内存域在其中的份额。它打"
        "印带有这个范围的 'Initmem setup node N'。",
    ),
    "free_area_init_core": (
        "Each zone of the node is sized: spanned_pages is the range it covers, present_pages "
        "what of it is memory (holes taken out), managed_pages what the buddy allocator will "
        "get. Look at present_pages: it is the number the rest of the boot builds on.",
        "为节点的每个内存域定出大小：spanned_pages 是它覆盖的范围，present_pages 是其中真正的内"
        "存（去掉空洞），managed_pages 是将交给伙伴分配器的部分。留意 present_pages：之后的步骤"
        "都以它为基础。",
    ),
    "memmap_init_zone": (
        "Every struct page of the zone is initialised and linked to its zone and node, and "
        "every pageblock is marked MIGRATE_MOVABLE: at boot all free memory is movable until "
        "allocations say otherwise. The counts below are the zone's pageblocks by migratetype.",
        "初始化内存域中每一个 struct page，关联到它的内存域与节点，并把每个页块标为 MIGRATE_MOV"
        "ABLE：启动时所有空闲内存都算可移动，直到分配改变它。下面是该内存域各迁移类型的页块数。",
    ),
    "memmap_init": (
        "After all nodes are sized, the struct pages are initialised range by range of "
        "memblock.memory and zone by zone; the holes between ranges get reserved struct pages "
        "too (the 'unavailable ranges'). Each hole is counted in the 'unavailable ranges' line "
        "of the zone it falls in.",
        "所有节点定好大小之后，按 memblock.memory 的区间、逐个内存域初始化 struct page；区间之"
        "间的空洞也得到标为保留的 struct page（即 'unavailable ranges'）。每个空洞都计入它所在"
        "内存域的 'unavailable ranges' 一行。",
    ),
    "memmap_init_range": (
        "One (range, zone) piece of the memmap: its struct pages set up and its pageblocks "
        "marked MIGRATE_MOVABLE. The counts below are the zone's pageblocks by migratetype.",
        "memmap 的一段（区间、内存域）：初始化其中的 struct page，页块标为 MIGRATE_MOVABLE。下"
        "面是该内存域各迁移类型的页块数。",
    ),
    "build_all_zonelists": (
        "Each node gets its zonelist: the order in which zones are tried when an allocation "
        "cannot be served locally. Nearer nodes come first, and within a node the higher zones "
        "before the lower ones, which are kept for those who need them.",
        "为每个节点建立 zonelist：本地无法满足分配时依次尝试的内存域顺序。距离近的节点在前；同"
        "一节点内高端内存域在前，低端的留给确实需要它们的分配。",
    ),
    "page_alloc_init": (
        "A CPU-hotplug callback is registered so that a CPU going offline gives its per-CPU "
        "free pages back. Nothing is allocated here.",
        "注册 CPU 热插拔回调：CPU 下线时把它的每 CPU 空闲页交还。这里不分配任何内存。",
    ),
    "page_alloc_init_cpuhp": (
        "A CPU-hotplug callback is registered so that a CPU going offline gives its per-CPU "
        "free pages back. Nothing is allocated here.",
        "注册 CPU 热插拔回调：CPU 下线时把它的每 CPU 空闲页交还。这里不分配任何内存。",
    ),
    "pidhash_init": (
        "The PID hash table is sized from the memory the zones hold and taken from memblock. "
        "Its size and order are printed; it is one of the last memblock allocations.",
        "根据内存域中的内存大小确定 PID 哈希表的规模，并从 memblock 分配。它的大小与阶数会被打"
        "印；这是最后几次 memblock 分配之一。",
    ),
    "vfs_caches_init_early": (
        "The VFS's early hash tables, sized from memory by alloc_large_system_hash(): the "
        "dentry and the inode tables. With hashdist set they are left to later, spread over "
        "the nodes.",
        "VFS 的早期哈希表，由 alloc_large_system_hash() 按内存大小确定规模：dentry 表与 inode "
        "表。如果设置了 hashdist，它们推迟到稍后、分散在各节点上分配。",
    ),
    "dcache_init_early": (
        "The dentry hash table comes from memblock, unless hashdist spreads it over the nodes "
        "later with vmalloc. Its entries and order follow from nr_kernel_pages.",
        "dentry 哈希表从 memblock 分配，除非 hashdist 让它稍后用 vmalloc 分散到各节点。它的表项"
        "数与阶数由 nr_kernel_pages 决定。",
    ),
    "inode_init_early": (
        "The inode hash table, sized and placed the same way as the dentry table. Both are "
        "among the last things memblock hands out before the buddy allocator takes over.",
        "inode 哈希表，规模与位置的确定方式与 dentry 表相同。两者都是伙伴分配器接管之前 membloc"
        "k 最后分出的内存之一。",
    ),
    "mm_init": (
        "The allocators come up one after another: mem_init() hands memory to the buddy "
        "allocator, then the slab allocator and vmalloc start on top of it. From here memblock "
        "is no longer used.",
        "各个分配器依次就绪：mem_init() 把内存交给伙伴分配器，随后 slab 分配器与 vmalloc 在它之"
        "上启动。从这里开始，memblock 不再被使用。",
    ),
    "mm_core_init": (
        "The allocators come up one after another: the zonelists first, then mem_init() hands "
        "memory to the buddy allocator, then the slab allocator and vmalloc. From here "
        "memblock is no longer used.",
        "各个分配器依次就绪：先建立 zonelist，再由 mem_init() 把内存交给伙伴分配器，然后是 slab"
        " 分配器与 vmalloc。从这里开始，memblock 不再被使用。",
    ),
    "mem_init": (
        "The hand-off: memblock's free memory goes to the buddy allocator. What memblock holds "
        "at this moment decides every free list that follows.",
        "交接：memblock 中空闲的内存交给伙伴分配器。此刻 memblock 的状态决定了之后的每一条空闲"
        "链表。",
    ),
    "free_all_bootmem": (
        "Each free memblock range is cut into the largest aligned blocks and freed one by one; "
        "a block merges with its free buddy into one of the next order. managed_pages is "
        "recounted from zero, and the free lists fill up.",
        "每个空闲的 memblock 区间被切成尽可能大的对齐块逐个释放；块与空闲的伙伴合并成更高一阶的"
        "块。managed_pages 从零重新计数，空闲链表随之填满。",
    ),
    "memblock_free_all": (
        "Each free memblock range is cut into the largest aligned blocks and freed one by one, "
        "to the tail of its free list; a block merges with its free buddy into one of the next "
        "order. managed_pages is recounted from zero, and the free lists fill up.",
        "每个空闲的 memblock 区间被切成尽可能大的对齐块逐个释放，挂到空闲链表的尾部；块与空闲的"
        "伙伴合并成更高一阶的块。managed_pages 从零重新计数，空闲链表随之填满。",
    ),
    "page_alloc_init_late": (
        "With CONFIG_DEFERRED_STRUCT_PAGE_INIT the memmap of each node's highest zone was left "
        "half done; one kernel thread per node now initialises the rest and frees it, so boot "
        "got to the shell sooner. The numbers below are what those threads freed.",
        "开启 CONFIG_DEFERRED_STRUCT_PAGE_INIT 时，每个节点最高内存域的 memmap 只初始化了一部分"
        "；现在每个节点一个内核线程完成其余部分并释放给伙伴系统，因此启动更快。下面的数字是这些"
        "线程释放的内存。",
    ),
    "init_per_zone_wmark_min": (
        "min_free_kbytes is set from the memory below the Normal zone's top, and split over "
        "the zones as watermarks: below min only urgent allocations succeed, below low kswapd "
        "wakes, above high it sleeps. lowmem_reserve keeps lower zones for those who need them.",
        "由 Normal 及以下内存域的内存算出 min_free_kbytes，并按比例分给各内存域作为水位线：低于"
        " min 时只有紧急分配能成功，低于 low 时唤醒 kswapd，高于 high 时它休眠。lowmem_reserve "
        "为真正需要低端内存域的分配留出余量。",
    ),
}


def step_head(n: int, step: Step) -> list[str]:
    """The opening of step ``n``'s section: its anchor (focusable, for the keys), the function,
    its one-line summary and its story, each in both languages."""
    e = html.escape
    parts = [
        f"<section class='step' id='step-{n}' tabindex='-1' "
        f"style='margin-left:{step.depth * 1.5}em'>",
        f"<h2>{n}. <code>{e(step.function)}()</code></h2>",
        both(e(step.what), e(ZH.get(step.function, step.what)), "p", "what"),
    ]
    story = STORY.get(step.function)
    if story is not None:
        parts.append(both(e(story[0]), e(story[1]), "p", "story"))
    return parts
