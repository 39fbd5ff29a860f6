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
)
# Types whose size sets an early allocation between stop 1 and the hand-off (from DWARF).
SIZEOF = (
    "struct resource",  # e820/HPET/IOAPIC/standard resources
    "wait_queue_head_t",  # zone_wait_table_init()
    "struct pcpu_chunk",  # pcpu_setup_first_chunk()
    "struct pcpu_alloc_info",  # pcpu_alloc_alloc_info()
    "struct pcpu_group_info",
    "struct hlist_head",  # the PID and inode hashes
    "struct hlist_bl_head",  # the dentry hash
    "struct pglist_data",  # 6.12's alloc_offline_node_data()
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
        "pageblock_order": facts.pageblock_order,
        "section_size_bits": facts.section_size_bits,
    }


def write_build_record(run_dir: Path, build: Build, layout: Layout, facts: KernelFacts) -> None:
    path = run_dir / BUILD_RECORD
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(build_record(build, layout, facts), indent=1) + "\n")
    tmp.replace(path)
