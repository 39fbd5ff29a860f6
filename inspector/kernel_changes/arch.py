"""What the arches and the early boot bring: images, early allocations, arm64 zones and sections,
NR_CPUS, the early globals."""

from __future__ import annotations

from inspector.kernel_changes.record import FROM_RESERVED, Commit, KernelChange, both_node_order

ARCH: tuple[KernelChange, ...] = (
    KernelChange(
        "image-and-early-allocations",
        "the two kernels reserve different memory before the hand-off (image size and place, "
        "firmware and early allocations), and all that is computed from free memory follows: "
        "not one commit, the sum of seven years of kernel",
        "memblock_reserve() callers from setup_arch() to mm_core_init()",
        commits=(
            Commit("f1d4d47c5851", "x86/setup: Always reserve the first 1M of RAM", "v5.13-rc5"),
        ),
        patterns=FROM_RESERVED,
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
        "NR_CPUS (nr_cpu_ids until the CPUs are counted) defaults to 512 on arm64 (4.7 and "
        "4.19: 64, 5.11 to 6.8: 256, a step whose commit is not found here); x86_64 is built "
        "with NR_CPUS=64 at every release",
        "arch/arm64/Kconfig",
        commits=(
            Commit(
                "3fbd56f0e7c1",
                "ARM64: Dynamically allocate cpumasks and increase supported CPUs to 512",
                "v6.9-rc1",
            ),
        ),
        patterns=("inputs:constants[nr_cpu_ids]",),
        evidence="public trees: 4.19.1 defaults to 64, 5.11 and 6.8.1 to 256; the model reads "
        "nr_cpu_ids from the capture, so the record only explains diff-versions rows",
        arches=("arm64",),
        sole=True,
    ),
    KernelChange(
        "pid-hash-removed",
        "pid_hash is gone: PIDs live in an IDR, so pidhash_init() and its 'PID hash table "
        "entries' line are no more",
        "kernel/pid.c",
        commits=(
            Commit(
                "95846ecf9dac", "pid: replace pid bitmap implementation with IDR API", "v4.15-rc1"
            ),
        ),
        patterns=(
            "handoff:globals[pid_hash]",
            "handoff:globals[pidhash_shift]",
            "log:PID hash table entries*",
        ),
        when=lambda old, new: old is None or new is None,
        sole=True,
    ),
    KernelChange(
        "early-globals-reshaped",
        "swiotlb's io_tlb_start/io_tlb_end became fields of io_tlb_default_mem, with new "
        "messages ('software IO TLB: mapped …', 'area num', the size adjusted to memory on "
        "arm64)",
        "kernel/dma/swiotlb.c",
        commits=(
            Commit(
                "73f620951b2b",
                "swiotlb: move global variables into a new io_tlb_mem structure",
                "v5.13-rc1",
            ),
        ),
        patterns=("handoff:globals[io_tlb_*]", "log:software IO TLB*"),
        when=lambda old, new: old is None or new is None,
        sole=True,
    ),
    KernelChange(
        "e820-table-firmware",
        "x86 keeps the BIOS e820 map as e820_table_firmware (a struct e820_table pointer; "
        "4.7: the static e820_saved), read at stop 1 for the firmware memmap entries",
        "arch/x86/kernel/e820.c",
        patterns=("inputs:constants[nr_e820_firmware]",),
        arches=("x86_64",),
        since="v4.12",
        sole=True,
        evidence="the source: 4.7.4 has e820_saved, a public 4.18 tree e820_table_firmware "
        "(the x86 e820 rework of 4.12); the commit is not checked; 4.12 is an upper bound",
    ),
    KernelChange(
        "x86-cpu-local-masks-one",
        "x86's setup_cpu_local_masks() allocates only cpu_sibling_setup_mask (before: also "
        "cpu_initialized_mask, cpu_callin_mask and cpu_callout_mask): with "
        "CONFIG_CPUMASK_OFFSTACK, one cpumask from memblock instead of four",
        "setup_cpu_local_masks() (arch/x86/kernel/smpboot.c)",
        patterns=("handoff:memblock.reserved*",),
        arches=("x86_64",),
        since="v6.5",
        evidence="the source: a public 6.4 tree's setup_cpu_local_masks() (then in "
        "arch/x86/kernel/cpu/common.c) allocates four masks, 6.5's and 6.6.9's one; Debian's "
        "unmodified 6.1.192 (CPUMASK_OFFSTACK) allocates four, its 6.12.118 one; the commit is "
        "not checked",
    ),
    KernelChange(
        "x86-dma32-limit-clamped",
        "x86_64's ZONE_DMA32 limit is min(MAX_DMA32_PFN, max_low_pfn): a machine with less "
        "than 4 GiB prints DMA32 up to its last page (before: always up to 4 GiB)",
        "zone_sizes_init() (arch/x86/mm/init.c)",
        patterns=("log:DMA# #*", "inputs:max_zone_pfn[*]"),
        arches=("x86_64",),
        since="v4.0",
        evidence="real machines' logs: 3.10 and 3.14 machines below 4 GiB print 'DMA32 [mem "
        "0x01000000-0xffffffff]', 4.0 and later machines the last page; no 3.15–3.19 log was "
        "at hand, so 4.0 is an upper bound, and the commit is not checked",
    ),
    KernelChange(
        "cpus-not-in-node-masks",
        "arm64 has no CPU in any node's cpumask when build_all_zonelists() runs (4.7: CPU 0 in "
        "node 0's, from numa_init()), so find_next_best_node() penalises no node for its CPUs",
        "find_next_best_node() (mm/page_alloc.c), arm64's NUMA set-up (arch/arm64/mm/numa.c)",
        patterns=("zonelists:zonelist[*]", "log:Fallback order for Node #*"),
        when=both_node_order,
        arches=("arm64",),
        since="v6.1",
        evidence="built kernels: 4.7 arm64's multi-node topologies validate with node 0 "
        "penalised, 6.1's and 6.12's without; the first release is not pinned (6.1 is an "
        "upper bound) and the commit is not checked",
    ),
)
