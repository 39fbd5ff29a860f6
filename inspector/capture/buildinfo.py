"""What the model may take from the build: a few vmlinux symbols and ``.config`` options, written
to ``build.json`` in the run directory at inspect time, so that a run is judged without the build
at hand and every build input is declared in one file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from inspector.capture.facts import KernelFacts
from inspector.debug.layout import Layout
from inspector.errors import InspectorError
from inspector.kernel.build import Build
from inspector.kernel.config import read_config

BUILD_RECORD = "build.json"
# vmlinux symbols the model reads (absent ones are left out; the model says which it needs):
# x86's SMP-alternatives area, freed by alternative_instructions() before the initcalls, and the
# static per-cpu section that sizes the first per-cpu chunk (pcpu_build_alloc_info()).
SYMBOLS = ("__smp_locks", "__smp_locks_end", "__per_cpu_start", "__per_cpu_end")
CONFIG = (
    "CONFIG_NODES_SHIFT",
    "CONFIG_NR_CPUS",
    "CONFIG_HUGETLB_PAGE",
    "CONFIG_NUMA",
    "CONFIG_MODULES",
    "CONFIG_SWIOTLB",
    "CONFIG_HPET_TIMER",
    "CONFIG_X86_L1_CACHE_SHIFT",
    "CONFIG_LOG_BUF_SHIFT",
    "CONFIG_LOG_CPU_MAX_BUF_SHIFT",
    "CONFIG_HAVE_MEMBLOCK_NODE_MAP",
    "CONFIG_SPARSEMEM_VMEMMAP",
    # 6.12's early allocations: PERCPU_MODULE_RESERVE and PERCPU_DYNAMIC_SIZE_SHIFT
    # (include/linux/percpu.h), sysctl aliases on the command line, arm64's swiotlb sizing and
    # linear map, and whether vmalloc_huge() maps a hash table with PMDs
    "CONFIG_MEM_ALLOC_PROFILING",
    "CONFIG_RANDOM_KMALLOC_CACHES",
    "CONFIG_PROC_SYSCTL",
    "CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC",
    "CONFIG_ARM64_VA_BITS",
    "CONFIG_HAVE_ARCH_HUGE_VMALLOC",
    "CONFIG_DEFERRED_STRUCT_PAGE_INIT",
    # a distribution's config: x86's firmware memmap entries, hibernation's nosave regions,
    # cpumasks allocated off stack (NR_CPUS 8192)
    "CONFIG_FIRMWARE_MEMMAP",
    "CONFIG_HIBERNATION",
    "CONFIG_CPUMASK_OFFSTACK",
    "CONFIG_DMA_CMA",
    "CONFIG_CMA_SIZE_MBYTES",
    "CONFIG_CMA_SIZE_SEL_MBYTES",
)
# Types whose size sets an early allocation between stop 1 and the hand-off (from DWARF).
SIZEOF = (
    "struct firmware_map_entry",  # firmware_map_add_early()
    "struct nosave_region",  # register_nosave_region()
    "struct resource",  # e820/HPET/IOAPIC/standard resources
    "wait_queue_head_t",  # zone_wait_table_init()
    "struct pcpu_chunk",  # pcpu_setup_first_chunk()
    "struct pcpu_alloc_info",  # pcpu_alloc_alloc_info()
    "struct pcpu_group_info",
    "struct hlist_head",  # the PID and inode hashes
    "struct hlist_bl_head",  # the dentry hash
    "struct pglist_data",  # 6.12's alloc_offline_node_data()
    "struct pcpu_block_md",  # 6.12's pcpu_alloc_first_chunk()
    "struct io_tlb_slot",  # 6.12's swiotlb_init_remap()
    "struct io_tlb_area",
    "struct cpu_entry_area",  # 6.12 x86's setup_cpu_entry_areas() page tables
    "struct prb_desc",  # 6.12's setup_log_buf() with many CPUs
    "struct printk_info",
)


def _address(layout: Layout, name: str) -> int | None:
    """A symbol's address from DWARF or, for a linker symbol, the ELF symbol table."""
    try:
        return layout.address(name)
    except InspectorError:
        return None


def _sizeof(layout: Layout, name: str) -> int | None:
    try:
        return layout.sizeof(name)
    except InspectorError:
        return None


def _cstring(layout: Layout, address: int, size: int) -> str:
    return layout.file_bytes(address, size).split(b"\0", 1)[0].decode(errors="replace")


def boot_params(layout: Layout) -> dict[str, Any]:
    """The image's table of boot parameters, which decides what print_unknown_bootoptions()
    (init/main.c) hands to init: every __setup()/early_param() string with its ``early`` flag
    (``.init.setup``: ``__setup_str_X`` and ``__setup_X``) and every kernel_param name
    (``__param``: ``__param_str_X``). Read by symbol, so a relocatable image whose pointers the
    linker left zero (arm64) reads the same."""
    try:
        early_at = layout.offsetof("struct obs_kernel_param", "early")
    except InspectorError:
        return {}
    setup: list[tuple[str, bool]] = []
    params: list[str] = []
    for sym in layout.prog.symbols():
        name = sym.name
        if name.startswith("__setup_str_"):
            entry = "__setup_" + name.removeprefix("__setup_str_")
            try:
                early = int.from_bytes(
                    layout.file_bytes(layout.address(entry) + early_at, 4), "little"
                )
            except InspectorError:
                continue
            setup.append((_cstring(layout, sym.address, sym.size), bool(early)))
        elif name.startswith("__param_str_"):
            params.append(_cstring(layout, sym.address, sym.size))
    return {"setup": sorted(set(setup)), "param": sorted(set(params))}


def build_record(build: Build, layout: Layout, facts: KernelFacts) -> dict[str, Any]:
    cfg = read_config(build.config)
    return {
        "version": build.version.name,
        "arch": build.arch.name,
        "release": build.release,
        "vmlinux": str(build.vmlinux),
        "config_file": str(build.config),
        "symbols": {s: a for s in SYMBOLS if (a := _address(layout, s)) is not None},
        "config": {k: cfg[k] for k in CONFIG if k in cfg},
        "sizeof": {t: n for t in SIZEOF if (n := _sizeof(layout, t)) is not None},
        "boot_params": boot_params(layout),
        "pageblock_order": facts.pageblock_order,
        "section_size_bits": facts.section_size_bits,
    }


def write_build_record(run_dir: Path, build: Build, layout: Layout, facts: KernelFacts) -> None:
    path = run_dir / BUILD_RECORD
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(build_record(build, layout, facts), indent=1) + "\n")
    tmp.replace(path)
