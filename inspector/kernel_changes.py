"""The upstream changes between Linux 4.7 and 6.12 that alter what mm init leaves behind, each
with the rows of a ``diff-versions`` view it explains.

A change cites its commits as drgn's helpers do (``commit 0123456789ab ("subject")``, first
release), each id and subject checked together against a public citation of that commit (a
``Fixes:`` tag, a ``commit id ("subject")`` reference, a shortlog): the 6.12 tree here is a
tarball without history. Where only a series' subjects could be checked, the subject is given
without an id; where nothing could, only the function and the behaviour. Some entries are not
one commit but a cause both kernels share in kind (their images and early allocations differ
in size): those say so.

A row is explained by every change whose pattern matches its key (``fnmatch``, over
``<role>:<path>``) and whose condition, if any, holds for its two values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

Condition = Callable[[Any, Any], bool]


@dataclass(frozen=True)
class Commit:
    """An upstream commit as drgn's helpers cite one. ``id`` is empty where only the subject
    could be checked here (the series was found, its mainline id was not)."""

    id: str  # 12 hex digits
    subject: str
    release: str  # the first release that has it ("v5.10-rc1"), "" where not checked

    def cite(self) -> str:
        if not self.id:
            return f'"{self.subject}" (mainline id not checked here)'
        return f'commit {self.id} ("{self.subject}")' + (
            f", {self.release}" if self.release else ""
        )


@dataclass(frozen=True)
class KernelChange:
    id: str
    what: str  # the behaviour, 4.7 → 6.12
    function: str  # where it lives in 6.12
    commits: tuple[Commit, ...] = ()
    patterns: tuple[str, ...] = ()
    when: Condition | None = field(default=None, compare=False, repr=False)
    arches: tuple[str, ...] = ("x86_64", "arm64")
    # the whole cause where it matches (or where ``sole_when`` holds): other, broader changes
    # are then not listed for the row
    sole: bool = False
    sole_when: Condition | None = field(default=None, compare=False, repr=False)
    # the first release, where no commit with a checked release places it: "v5.14", with
    # the evidence in ``evidence`` (real machines' logs, say)
    since: str = ""
    evidence: str = ""

    def is_sole(self, old: Any, new: Any) -> bool:
        return self.sole or (self.sole_when is not None and self.sole_when(old, new))

    def line(self) -> str:
        cites = "; ".join(c.cite() for c in self.commits)
        return f"{self.what} [{self.function}]" + (f"; {cites}" if cites else "")


def _grouped_by_node(zonelist: Any) -> bool:
    """Is a zonelist (``"node:zone node:zone …"``) in node order (each node's zones together)?"""
    if not isinstance(zonelist, str):
        return True
    nodes = [entry.split(":")[0] for entry in zonelist.split()]
    seen: list[str] = []
    for n in nodes:
        if seen and n != seen[-1] and n in seen:
            return False
        if not seen or n != seen[-1]:
            seen.append(n)
    return True


def _both_node_order(old: Any, new: Any) -> bool:
    return _grouped_by_node(old) and _grouped_by_node(new)


def _was_zone_order(old: Any, new: Any) -> bool:
    return not _grouped_by_node(old) or old is None or new is None


def _empty_zone_reserve(old: Any, new: Any) -> bool:
    return new == 0 and old not in (0, None)


def _absent_in_new(old: Any, new: Any) -> bool:
    return new is None


def _absent_in_old(old: Any, new: Any) -> bool:
    return old is None


def _present_in_both(old: Any, new: Any) -> bool:
    return old is not None and new is not None


# What follows from the memory each kernel reserved before the hand-off: patterns of rows that
# depend on memblock.reserved (image size and place, early allocations).
_FROM_RESERVED = (
    "inputs:memblock.reserved",
    "handoff:memblock.reserved",
    "handoff:globals[*]",
    "buddy:*",
    "wmarks:*.managed_pages",
    "wmarks:*.watermark[*]",
    "wmarks:*.lowmem_reserve[*]",
    "wmarks:*.pageset.batch",
    "wmarks:*.pcp_high_m*",
    "wmarks:globals[*]",
    "zonelists:globals[nr_kernel_pages]",
    "zonelists:globals[nr_all_pages]",
    "log:Memory: *",
    "log:* zone: # pages, LIFO batch:#*",
    "log:Built # zonelists*",
    "log:* hash table entries: #*",
    "log:percpu: Embedded *",
    "log:software IO TLB*",
    "handoff:globals[*hash*]",
)

CHANGES: tuple[KernelChange, ...] = (
    KernelChange(
        "image-and-early-allocations",
        "the two kernels reserve different memory before the hand-off (image size and place, "
        "firmware and early allocations), and all that is computed from free memory follows: "
        "not one commit, the sum of seven years of kernel",
        "memblock_reserve() callers from setup_arch() to mm_core_init()",
        commits=(
            Commit("f1d4d47c5851", "x86/setup: Always reserve the first 1M of RAM", "v5.13-rc5"),
        ),
        patterns=_FROM_RESERVED,
    ),
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
                "",
                "mm/mm_init.c: remove meaningless calculation of zone->managed_pages in "
                "free_area_init_core()",
                "",
            ),
            Commit("", "mm/mm_init.c: remove unneeded calc_memmap_size()", ""),
            Commit("", "mm/mm_init.c: remove the useless dma_reserve", ""),
        ),
        patterns=(
            "zonelists:*.managed_pages",
            "zonelists:*.memmap_pages",
            "*:globals[dma_reserve]",
            "inputs:constants[dma_reserve]",
            "log:* zone: # pages used for memmap*",
            "log:* zone: # pages reserved*",
        ),
        sole=True,
    ),
    KernelChange(
        "calc-nr-kernel-pages",
        "nr_kernel_pages and nr_all_pages are counted from memblock's free ranges at the end of "
        "free_area_init() (4.7: summed per zone, less the memmap estimate)",
        "calc_nr_kernel_pages() (mm/mm_init.c)",
        commits=(Commit("", "mm/mm_init.c: add new function calc_nr_all_pages()", ""),),
        patterns=("*:globals[nr_kernel_pages]", "*:globals[nr_all_pages]"),
    ),
    KernelChange(
        "vm-total-pages-local",
        "vm_total_pages is a local of build_all_zonelists(), no longer a global",
        "build_all_zonelists() (mm/page_alloc.c)",
        commits=(Commit("", "mm: drop vm_total_pages", ""),),
        patterns=("*:globals[vm_total_pages]",),
        when=_absent_in_new,
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
        when=lambda old, new: (
            not isinstance(old, str) or " in " in old or _was_zone_order(old, new)
        ),
    ),
    KernelChange(
        "node-load-accumulated",
        "find_next_best_node() weighs distance·MAX_NUMNODES + node_load and build_zonelists() "
        "adds 1 to node_load (4.7: distance·nr_online·MAX_NUMNODES and a decreasing load), and "
        "takes the local node first only if it has memory",
        "find_next_best_node(), build_zonelists() (mm/page_alloc.c)",
        commits=(
            Commit(
                "54d032ced983",
                "mm/page_alloc: use accumulated load when building node fallback list",
                "v5.16-rc1",
            ),
        ),
        patterns=("zonelists:zonelist[*]",),
        when=_both_node_order,
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
        "init-lines-pr-debug",
        "'On node N totalpages' and the per-zone 'pages used for memmap', 'pages reserved' and "
        "'LIFO batch' lines are pr_debug",
        "calculate_node_totalpages(), free_area_init_core() (mm/mm_init.c)",
        patterns=(
            "log:On node # totalpages:*",
            "log:* zone: # pages, LIFO batch:#*",
            "log:* zone: # pages used for memmap",
            "log:* zone: # pages reserved",
        ),
        when=_absent_in_new,
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
        "unavailable-ranges",
        "holes in a zone's span get their struct pages from init_unavailable_range(), counted "
        "to the zone above the hole and printed ('pages in unavailable ranges')",
        "init_unavailable_range() (mm/mm_init.c)",
        commits=(
            Commit(
                "4b094b7851bf",
                "mm/page_alloc.c: initialize memmap of unavailable memory directly",
                "v5.6-rc1",
            ),
            Commit(
                "0740a50b9baa",
                "mm/page_alloc.c: refactor initialization of struct page for holes in memory "
                "layout",
                "v5.12-rc3",
            ),
            Commit(
                "122e093c1734",
                "mm/page_alloc: fix memory map initialization for descending nodes",
                "v5.14-rc1",
            ),
        ),
        patterns=("log:On node #, zone *: # pages in unavailable ranges*",),
        sole=True,
    ),
    KernelChange(
        "node-spanned-end-minus-start",
        "node_spanned_pages is the node's end - start pfn (4.7: the sum of its zones' spans)",
        "calculate_node_totalpages() (mm/mm_init.c)",
        patterns=("zonelists:node[*].node_spanned_pages",),
    ),
    KernelChange(
        "movable-clips-zone",
        "a zone that straddles zone_movable_pfn ends there, one above it is empty, and "
        "kernelcore=/movablecore= take N% of memory",
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
        "arm64-zone-dma32",
        "arm64 has ZONE_DMA and ZONE_DMA32 (usually empty) below 4 GiB and ZONE_NORMAL above; "
        "4.7 arm64 had only ZONE_DMA (all RAM below 4 GiB) and ZONE_NORMAL",
        "zone_sizes_init() (arch/arm64/mm/init.c)",
        commits=(Commit("1a8e1cef7603", "arm64: use both ZONE_DMA and ZONE_DMA32", "v5.5-rc1"),),
        patterns=(
            "*zone[DMA32]*",
            "inputs:constants[MAX_NR_ZONES]",
            "inputs:max_zone_pfn[*]",
            "*:globals[arch_zone_*]",
            "*:globals[policy_zone]",
            "wmarks:*.lowmem_reserve[DMA32]",
            "log:DMA# *",
            "log:Policy zone: *",
            "zonelists:zonelist[*]",
            "zonelists:node[*].nr_zones",
        ),
        arches=("arm64",),
        sole_when=lambda old, new: old is None or new is None,  # a zone only 6.12 has
    ),
    KernelChange(
        "arm64-section-size",
        "arm64's memory sections are 128 MiB (SECTION_SIZE_BITS 27; 4.7: 1 GiB, 30)",
        "arch/arm64/include/asm/sparsemem.h",
        commits=(Commit("f0b13ee23241", "arm64/sparsemem: reduce SECTION_SIZE_BITS", "v5.12-rc1"),),
        patterns=("inputs:constants[SECTION_SIZE_BITS]",),
        arches=("arm64",),
        sole=True,
    ),
    KernelChange(
        "nr-cpus-default",
        "NR_CPUS (nr_cpu_ids until the CPUs are counted) defaults to 512 on arm64 (4.7: 64); "
        "x86_64 is built with NR_CPUS=64 for both",
        "arch/arm64/Kconfig",
        commits=(Commit("", "arm64: Kconfig: Increase NR_CPUS default to 512", ""),),
        patterns=("inputs:constants[nr_cpu_ids]",),
        arches=("arm64",),
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
        when=_present_in_both,
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
        sole=True,
    ),
    KernelChange(
        "pcp-batch-cap",
        "zone_batchsize() caps the batch at 1 MiB of pages (256, so 63 for a 1 GiB zone; 4.7: "
        "512 KiB, 31)",
        "zone_batchsize() (mm/page_alloc.c)",
        commits=(Commit("d8a759b57035", "mm, page_alloc: double zone's batchsize", "v4.19-rc1"),),
        patterns=("wmarks:*.pageset.batch", "log:* zone: # pages, LIFO batch:#*"),
        when=_present_in_both,
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
        when=_empty_zone_reserve,
        sole=True,
    ),
    KernelChange(
        "early-globals-reshaped",
        "pid_hash is gone (PIDs live in an IDR, no 'PID hash table' line), and swiotlb's "
        "io_tlb_start/io_tlb_end became fields of io_tlb_default_mem, with new messages "
        "('software IO TLB: mapped …', 'area num', the size adjusted to memory on arm64)",
        "kernel/pid.c, kernel/dma/swiotlb.c",
        commits=(
            Commit(
                "95846ecf9dac", "pid: replace pid bitmap implementation with IDR API", "v4.15-rc1"
            ),
            Commit(
                "73f620951b2b",
                "swiotlb: move global variables into a new io_tlb_mem structure",
                "v5.13-rc1",
            ),
        ),
        patterns=(
            "handoff:globals[pid_hash]",
            "handoff:globals[pidhash_shift]",
            "handoff:globals[io_tlb_*]",
            "log:PID hash table entries*",
            "log:software IO TLB*",
        ),
        when=lambda old, new: old is None or new is None,
        sole=True,
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
        since="v5.19",
        evidence="real machines' logs: 5.10 prints the [mem 0x0-0x0] form, 5.19 and 6.x the "
        "'as memoryless' form; no 5.11–5.18 log with a memoryless node was at hand, so 5.19 is "
        "an upper bound, and the commit is not checked here",
    ),
    KernelChange(
        "possible-nodes",
        "free_area_init() sets up every possible node (an offline one gets a pg_data_t from "
        "memblock), and x86 onlines memoryless nodes that have CPUs",
        "free_area_init(), alloc_offline_node_data() (mm/mm_init.c, mm/numa.c)",
        patterns=(
            "*:globals[nr_online_nodes]",
            "zonelists:node[*].*",
            "log:Initmem setup node # as memoryless*",
        ),
        when=_absent_in_old,
    ),
)

BY_ID = {c.id: c for c in CHANGES}


def _matches(key: str, pattern: str) -> bool:
    """fnmatch with ``[`` and ``]`` as themselves (keys index with brackets); ``*`` and ``?``
    are the only wildcards."""
    return fnmatchcase(key, pattern.replace("[", "[[]"))


def changes_for(key: str, old: Any, new: Any, arch: str) -> list[KernelChange]:
    """The changes that explain a differing row on ``arch``: the sole causes that match, if
    any, else every change that matches."""
    out = [
        c
        for c in CHANGES
        if arch in c.arches
        and any(_matches(key, p) for p in c.patterns)
        and (c.when is None or c.when(old, new))
    ]
    sole = [c for c in out if c.is_sole(old, new)]
    return sole or out


def release_of(text: str) -> tuple[int, int] | None:
    """``"v4.19-rc1"`` → (4, 19): the first release a commit is in."""
    import re

    m = re.match(r"v?(\d+)\.(\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def first_release(change: KernelChange) -> tuple[int, int] | None:
    """The first release that has ``change`` (its earliest checked commit, else its ``since``),
    None if unknown."""
    found = [r for c in change.commits if (r := release_of(c.release))]
    if not found and (r := release_of(change.since)):
        found = [r]
    return min(found) if found else None


def landed(version: tuple[int, ...]) -> frozenset[str]:
    """The changes a kernel of ``version`` (major, minor[, patch]) has, by their commits'
    first releases: "does this kernel have change X?" for the model's release branches."""
    mm = (version[0], version[1])
    return frozenset(
        c.id for c in CHANGES if (first := first_release(c)) is not None and first <= mm
    )
