"""Everything a model reads, as one typed record whose every field says where it came from.

A model is judged on what the kernel did after stop 1, so it may read only:

- ``stop1``: the capture at the first stop (``free_area_init_nodes`` / ``free_area_init`` entry);
- ``build``: the vmlinux and ``.config`` of the booted kernel (``build.json`` in the run dir);
- ``later``: a value captured at a later stop that the model cannot derive yet. Each one is named
  here with the reason, and every compare report prints how many compared values depend on it.

There are no silent defaults: an input that is missing is an error naming it and its source.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inspector.arch import get_arch
from inspector.errors import InspectorError
from inspector.kernel_changes import landed
from inspector.model.common import memblock_find_dma_reserve
from inspector.registry import Role
from inspector.schema import Inputs, Memblock, Snapshot


@dataclass(frozen=True)
class Source:
    kind: str  # "stop1" | "build" | "later"
    where: str  # the stop and field, the vmlinux symbol or the .config option

    def text(self) -> str:
        return f"{self.kind}: {self.where}"


# Later-stop inputs: why each cannot come from stop 1 and the build (yet), and which stops'
# compared values it feeds.
LATER_INPUTS: dict[str, tuple[str, tuple[Role, ...]]] = {
    "nr_possible_cpus": (
        "the possible-CPU count comes from ACPI's MADT (x86_64) or the device tree's cpus "
        "(arm64), both parsed after free_area_init_nodes; taken as the number of cpu_to_node "
        "entries captured at build_all_zonelists",
        (Role.HANDOFF, Role.BUDDY, Role.WMARKS),
    ),
    "cpu_to_node_at_zonelists": (
        "the same CPU topology: nr_free_zone_pages() counts from the boot CPU's node, and "
        "pcpu_build_alloc_info() groups the per-cpu units by node",
        (Role.ZONELISTS, Role.HANDOFF, Role.BUDDY, Role.WMARKS),
    ),
    "nr_ioapics": (
        "x86_64: the IOAPIC count comes from ACPI's MADT, parsed by acpi_boot_init() after "
        "stop 1; it sizes ioapic_setup_resources()'s allocation",
        (Role.HANDOFF, Role.BUDDY, Role.WMARKS),
    ),
    "hpet_address": (
        "x86_64: the HPET base comes from ACPI's HPET table, parsed by acpi_boot_init() after "
        "stop 1; acpi_parse_hpet() allocates its resource when there is one",
        (Role.HANDOFF, Role.BUDDY, Role.WMARKS),
    ),
}


@dataclass(kw_only=True)
class SizingInputs:
    """What zone sizing (free_area_init_nodes() / free_area_init(), free_area_init_core()) and
    the zonelists (build_all_zonelists()) read: enough to size a machine's nodes and zones and
    print their boot-log lines, and nothing of the early allocations, the hand-off or the
    per-cpu areas. A capture fills it as part of ``ModelInputs``; a boot log
    (inspector.bootlog) fills it alone."""

    version: str
    arch: str
    release: str
    max_zone_pfn: list[int]
    zone_names: list[str]
    memblock: Memblock
    node_distance: list[list[int]]
    cpu_to_node: list[int]
    cmdline: str
    online_nodes: list[int]
    possible_nodes: list[int]
    max_order: int
    sizeof_struct_page: int
    page_size: int
    max_low_pfn: int
    dma_reserve: int  # x86_64: memblock_find_dma_reserve(), before paging_init(); else 0
    pageblock_order: int
    section_size_bits: int  # SECTION_SIZE_BITS (the build's facts record)
    nodes_shift: int
    config_numa: bool
    nr_possible_cpus: int
    cpu_to_node_at_zonelists: list[int]
    sources: dict[str, Source] = field(default_factory=dict)
    # x86 from change x86-memoryless-nodes-online: memoryless nodes with CPUs, set up after
    # free_area_init_nodes() by init_cpu_to_node() → init_memory_less_node()
    late_memoryless_nodes: list[int] = field(default_factory=list)
    # x86 before change "initmem-line-from-mm": numa_meminfo's blocks (start, end, nid) after
    # numa_cleanup_meminfo(), which setup_node_data() prints the node spans of
    numa_meminfo: list[tuple[int, int, int]] = field(default_factory=list)

    def later(self) -> list[str]:
        return [k for k, s in self.sources.items() if s.kind == "later"]

    def provenance_text(self) -> str:
        return "\n".join(f"  {k:22} {s.text()}" for k, s in self.sources.items())


@dataclass(kw_only=True)
class ModelInputs(SizingInputs):
    """The model's whole view of one boot: the sizing inputs and everything later stages read."""

    # stop 1
    phys_base: int | None  # x86_64 only
    memblock_current_limit: int
    nr_e820: int  # x86_64: e820.nr_map (0 on arm64)
    nr_e820_firmware: int  # x86_64 6.12: e820_table_firmware->nr_entries (the BIOS map)
    e820_table: list[tuple[int, int, str]]  # x86_64: [start, end) and type of each entry
    max_pfn: int  # x86_64: the top of RAM in pages (0 on arm64)
    max_possible_pfn: int | None  # x86_64
    memstart_addr: int | None  # arm64: PHYS_OFFSET
    # build
    smp_locks: tuple[int, int] | None  # x86_64: [__smp_locks, __smp_locks_end)
    percpu_static_size: int  # __per_cpu_end - __per_cpu_start
    config_modules: bool
    config_swiotlb: bool
    config_hpet_timer: bool
    have_memblock_node_map: bool
    sparsemem_vmemmap: bool
    smp_cache_bytes: int
    log_buf_shift: int
    log_cpu_max_buf_shift: int
    sizeof: dict[str, int]
    # build, for 6.12's early allocations (inspector.model.linux.start_kernel)
    config_mem_alloc_profiling: bool
    config_random_kmalloc_caches: bool
    config_proc_sysctl: bool
    config_dma_bounce_unaligned_kmalloc: bool
    config_have_arch_huge_vmalloc: bool
    # most struct pages initialised and freed after the hand-off (page_alloc_init_late())
    config_deferred_struct_page_init: bool
    config_firmware_memmap: bool  # x86: firmware_map_add_early() per BIOS e820 entry
    config_hibernation: bool  # x86: e820__register_nosave_regions()
    config_cpumask_offstack: bool  # cpumask_var_t from memblock (alloc_bootmem_cpumask_var())
    config_dma_cma: bool  # a default CMA area (dma_contiguous_reserve())
    cma_size_mbytes: int  # CONFIG_CMA_SIZE_MBYTES (with CONFIG_CMA_SIZE_SEL_MBYTES)
    arm64_va_bits: int | None  # CONFIG_ARM64_VA_BITS
    setup_params: list[tuple[str, bool]]  # every __setup()/early_param() string, early or not
    kernel_params: list[str]  # every kernel_param name (module_param, core_param)
    # later stops (LATER_INPUTS)
    nr_ioapics: int
    hpet_address: int


class _Collector:
    def __init__(self, run: str) -> None:
        self.run = run
        self.values: dict[str, Any] = {}
        self.sources: dict[str, Source] = {}

    def put(self, name: str, value: Any, kind: str, where: str) -> None:
        if value is None:
            raise InspectorError(
                f"{self.run}: model input {name} is missing ({kind}: {where}): capture the run "
                "again with this mm-inspector"
            )
        self.values[name] = value
        self.sources[name] = Source(kind, where)


def load_build_record(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "build.json"
    if not path.exists():
        raise InspectorError(
            f"{run_dir}: no build.json (the model's build inputs): capture the run again with "
            "this mm-inspector"
        )
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise InspectorError(f"{path}: not valid JSON ({e.msg}): capture the run again") from None
    return data


def model_inputs(
    run_dir: Path, stops: dict[str, Snapshot], first: str, handoff: str, zonelists: str
) -> ModelInputs:
    """Collect the model's inputs from a run: ``first`` is stop 1's name, ``handoff`` the stop
    at whose entry the ACPI-parsed counts are read, ``zonelists`` the stop that shows the
    possible CPUs."""
    c = _Collector(str(run_dir))
    start = stops.get(first)
    if start is None or start.inputs is None:
        raise InspectorError(f"{run_dir}: no {first} snapshot with inputs (stop 1)")
    inp = start.inputs
    s1 = f"{first} entry"
    c.put("max_zone_pfn", inp.max_zone_pfn or None, "stop1", f"{s1}: max_zone_pfn[]")
    c.put("zone_names", inp.zone_names or None, "stop1", f"{s1}: zone_names[] (vmlinux data)")
    c.put("memblock", inp.memblock, "stop1", f"{s1}: memblock.memory and .reserved")
    c.put("node_distance", inp.node_distance, "stop1", f"{s1}: numa_distance[]")
    c.put("cpu_to_node", inp.cpu_to_node, "stop1", f"{s1}: the arch's cpu-to-node map")
    c.put("cmdline", inp.cmdline, "stop1", f"{s1}: boot_command_line")
    c.put("online_nodes", inp.online_nodes, "stop1", f"{s1}: node_states[N_ONLINE]")
    c.put("possible_nodes", inp.possible_nodes, "stop1", f"{s1}: node_states[N_POSSIBLE]")
    k = inp.constants
    c.put("max_order", k.get("MAX_ORDER"), "stop1", f"{s1}: len(zone->free_area) from DWARF")
    c.put("sizeof_struct_page", k.get("sizeof_struct_page"), "stop1", f"{s1}: sizeof(struct page)")
    c.put("page_size", k.get("PAGE_SIZE"), "stop1", f"{s1}: PAGE_SIZE")
    c.put("max_low_pfn", k.get("max_low_pfn"), "stop1", f"{s1}: max_low_pfn")
    if "managed-equals-present" not in landed(start.kernel.release):
        c.put(
            "dma_reserve",
            k.get("dma_reserve"),
            "stop1",
            f"{s1}: dma_reserve (memblock_find_dma_reserve() ran in setup_arch(), before "
            "paging_init)",
        )
    else:
        c.values["dma_reserve"] = 0
        c.sources["dma_reserve"] = Source(
            "build", "gone with change managed-equals-present: the kernel has no dma_reserve"
        )
    x86 = start.kernel.arch == "x86_64"
    c.put(
        "memblock_current_limit",
        k.get("memblock.current_limit"),
        "stop1",
        f"{s1}: memblock.current_limit",
    )
    if x86:
        c.put("phys_base", k.get("phys_base"), "stop1", f"{s1}: phys_base")
        c.put("nr_e820", len(inp.firmware_map) or None, "stop1", f"{s1}: e820.nr_map")
        c.values["nr_e820_firmware"] = k.get("nr_e820_firmware", 0)
        c.values["e820_table"] = [(r.start, r.end, r.type) for r in inp.firmware_map]
        c.sources["e820_table"] = Source("stop1", f"{s1}: e820_table's entries")
        # read only by e820__register_nosave_regions() (CONFIG_HIBERNATION)
        c.values["max_pfn"] = k.get("max_pfn") or 0
        c.sources["max_pfn"] = Source("stop1", f"{s1}: max_pfn (0 where not captured)")
        c.sources["nr_e820_firmware"] = Source(
            "stop1", f"{s1}: e820_table_firmware->nr_entries (0 where the image has none)"
        )
        c.put("max_possible_pfn", k.get("max_possible_pfn"), "stop1", f"{s1}: max_possible_pfn")
        c.values["memstart_addr"] = None
        c.sources["memstart_addr"] = Source("stop1", "not used on x86_64")
    else:
        c.put("memstart_addr", k.get("memstart_addr"), "stop1", f"{s1}: memstart_addr")
        for name in ("phys_base", "max_possible_pfn"):
            c.values[name] = None
            c.sources[name] = Source("stop1", "not used on arm64")
        c.values["nr_e820"] = 0
        c.sources["nr_e820"] = Source("stop1", "not used on arm64")
        for name, empty in (("nr_e820_firmware", 0), ("e820_table", []), ("max_pfn", 0)):
            c.values[name] = empty
            c.sources[name] = Source("stop1", "not used on arm64")
    b = load_build_record(run_dir)
    cfg = b.get("config", {})
    c.put("pageblock_order", b.get("pageblock_order"), "build", ".config: pageblock_order")
    c.put(
        "section_size_bits",
        b.get("section_size_bits"),
        "build",
        "SECTION_SIZE_BITS (arch/*/include/asm/sparsemem.h, inspector.arch)",
    )
    c.put(
        "nodes_shift",
        int(cfg["CONFIG_NODES_SHIFT"]) if "CONFIG_NODES_SHIFT" in cfg else 0,
        "build",
        ".config: CONFIG_NODES_SHIFT (0 without NUMA)",
    )
    c.put("config_numa", cfg.get("CONFIG_NUMA") == "y", "build", ".config: CONFIG_NUMA")
    sym = b.get("symbols", {})
    if start.kernel.arch == "x86_64":
        locks = (sym.get("__smp_locks"), sym.get("__smp_locks_end"))
        c.put(
            "smp_locks",
            locks if None not in locks else None,
            "build",
            "vmlinux symbols __smp_locks, __smp_locks_end",
        )
    else:
        c.values["smp_locks"] = None
        c.sources["smp_locks"] = Source("build", "not used on arm64")
    sym_range = (sym.get("__per_cpu_start"), sym.get("__per_cpu_end"))
    c.put(
        "percpu_static_size",
        sym_range[1] - sym_range[0]
        if sym_range[0] is not None and sym_range[1] is not None
        else None,
        "build",
        "vmlinux symbols __per_cpu_end - __per_cpu_start",
    )
    for name, opt in (
        ("config_modules", "CONFIG_MODULES"),
        ("config_swiotlb", "CONFIG_SWIOTLB"),
        ("config_hpet_timer", "CONFIG_HPET_TIMER"),
        ("have_memblock_node_map", "CONFIG_HAVE_MEMBLOCK_NODE_MAP"),
        ("sparsemem_vmemmap", "CONFIG_SPARSEMEM_VMEMMAP"),
    ):
        c.put(name, cfg.get(opt) == "y", "build", f".config: {opt}")
    for name, opt in (
        ("log_buf_shift", "CONFIG_LOG_BUF_SHIFT"),
        ("log_cpu_max_buf_shift", "CONFIG_LOG_CPU_MAX_BUF_SHIFT"),
    ):
        c.put(name, int(cfg[opt]) if opt in cfg else None, "build", f".config: {opt}")
    if x86:
        shift = cfg.get("CONFIG_X86_L1_CACHE_SHIFT")
        c.put(
            "smp_cache_bytes",
            1 << int(shift) if shift else None,
            "build",
            ".config: CONFIG_X86_L1_CACHE_SHIFT (SMP_CACHE_BYTES)",
        )
    elif start.kernel.version == "4.7":
        c.values["smp_cache_bytes"] = 128
        c.sources["smp_cache_bytes"] = Source(
            "build", "SMP_CACHE_BYTES: L1_CACHE_SHIFT 7 (arch/arm64/include/asm/cache.h, 4.7)"
        )
    else:
        c.values["smp_cache_bytes"] = 64
        c.sources["smp_cache_bytes"] = Source(
            "build", "SMP_CACHE_BYTES: L1_CACHE_SHIFT 6 (arch/arm64/include/asm/cache.h, 6.1, 6.12)"
        )
    c.put("sizeof", b.get("sizeof") or None, "build", "DWARF: sizeof() of the types in build.json")
    _early_612_build_inputs(c, b, start.kernel.version)
    at = stops.get(handoff)
    hk = at.inputs.constants if at is not None and at.inputs is not None else {}
    if x86:
        for name in ("nr_ioapics", "hpet_address"):
            c.put(name, hk.get(name), "later", f"{handoff} entry: {name} ({LATER_INPUTS[name][0]})")
    else:
        for name in ("nr_ioapics", "hpet_address"):
            c.values[name] = 0
            c.sources[name] = Source("stop1", "not used on arm64")
    zl = stops.get(zonelists)
    cpus = {
        int(key.split(".", 1)[1]): v
        for key, v in (zl.globals if zl else {}).items()
        if key.startswith("cpu_to_node.")
    }
    c.put(
        "nr_possible_cpus",
        len(cpus) or None,
        "later",
        f"{zonelists}: cpu_to_node entries ({LATER_INPUTS['nr_possible_cpus'][0]})",
    )
    c.put(
        "cpu_to_node_at_zonelists",
        [cpus[i] for i in sorted(cpus)] or None,
        "later",
        f"{zonelists}: cpu_to_node ({LATER_INPUTS['cpu_to_node_at_zonelists'][0]})",
    )
    return ModelInputs(
        version=start.kernel.version,
        arch=start.kernel.arch,
        release=start.kernel.release,
        sources=c.sources,
        **c.values,
    )


def _early_612_build_inputs(c: _Collector, b: dict[str, Any], version: str) -> None:
    """The build inputs of 6.12's early allocations (inspector.model.linux.start_kernel): a few
    .config options and the image's table of boot parameters."""
    cfg = b.get("config", {})
    for name, opt in (
        ("config_mem_alloc_profiling", "CONFIG_MEM_ALLOC_PROFILING"),
        ("config_random_kmalloc_caches", "CONFIG_RANDOM_KMALLOC_CACHES"),
        ("config_proc_sysctl", "CONFIG_PROC_SYSCTL"),
        ("config_dma_bounce_unaligned_kmalloc", "CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC"),
        ("config_have_arch_huge_vmalloc", "CONFIG_HAVE_ARCH_HUGE_VMALLOC"),
        ("config_deferred_struct_page_init", "CONFIG_DEFERRED_STRUCT_PAGE_INIT"),
        ("config_firmware_memmap", "CONFIG_FIRMWARE_MEMMAP"),
        ("config_hibernation", "CONFIG_HIBERNATION"),
        ("config_cpumask_offstack", "CONFIG_CPUMASK_OFFSTACK"),
        ("config_dma_cma", "CONFIG_DMA_CMA"),
    ):
        c.put(name, cfg.get(opt) == "y", "build", f".config: {opt}")
    if cfg.get("CONFIG_DMA_CMA") == "y" and cfg.get("CONFIG_CMA_SIZE_SEL_MBYTES") != "y":
        raise InspectorError(
            "a CMA size selected by percentage (CONFIG_CMA_SIZE_SEL_PERCENTAGE/MIN/MAX) is "
            "not modelled: the model reads CONFIG_CMA_SIZE_MBYTES"
        )
    c.put(
        "cma_size_mbytes",
        int(cfg.get("CONFIG_CMA_SIZE_MBYTES", "0")),
        "build",
        ".config: CONFIG_CMA_SIZE_MBYTES",
    )
    va = cfg.get("CONFIG_ARM64_VA_BITS")
    c.values["arm64_va_bits"] = int(va) if va else None
    c.sources["arm64_va_bits"] = Source("build", ".config: CONFIG_ARM64_VA_BITS (arm64 only)")
    if version == "4.7":
        for name in ("setup_params", "kernel_params"):
            c.values[name] = []
            c.sources[name] = Source("build", "not used by the early allocations before 5.13")
        return
    table = b.get("boot_params") or {}
    c.put(
        "setup_params",
        [(str(n), bool(e)) for n, e in table["setup"]] if "setup" in table else None,
        "build",
        "vmlinux: every __setup_str_X with __setup_X.early (.init.setup)",
    )
    c.put(
        "kernel_params",
        [str(n) for n in table["param"]] if "param" in table else None,
        "build",
        "vmlinux: every __param_str_X (the __param section)",
    )


# Type sizes of the 4.7 builds here (x86_64 and arm64 agree), for synthetic layouts only.
SYNTHETIC_SIZEOF = {
    "struct resource": 64,
    "wait_queue_head_t": 24,
    "struct pcpu_chunk": 88,
    "struct pcpu_alloc_info": 64,
    "struct pcpu_group_info": 24,
    "struct hlist_head": 8,
    "struct hlist_bl_head": 8,
    # 6.12 (x86_64 build here)
    "struct pcpu_block_md": 32,
    "struct io_tlb_slot": 24,
    "struct io_tlb_area": 16,
    "struct cpu_entry_area": 241664,
    "struct pglist_data": 14016,
    "struct prb_desc": 24,
    "struct printk_info": 88,
}
# The 6.12 boot-parameter table as far as synthetic command lines need it (a unit test's)
SYNTHETIC_SETUP_PARAMS = [
    ("console=", False),
    ("rdinit=", False),
    ("hashdist=", False),
    ("dhash_entries=", False),
    ("ihash_entries=", False),
    ("mem", True),
    ("memmap", True),
    ("memblock", True),
    ("movablecore", True),
    ("kernelcore", True),
    ("swiotlb", True),
    ("iommu", True),
    ("maxcpus", True),
    ("log_buf_len", True),
]
SYNTHETIC_KERNEL_PARAMS = ["panic"]


def synthetic_inputs(
    inputs: Inputs,
    arch: str,
    *,
    version: str = "4.7",
    config_numa: bool = True,
    nr_possible_cpus: int | None = None,
    smp_locks: tuple[int, int] | None = None,
    nodes_shift: int | None = None,
) -> ModelInputs:
    """ModelInputs for a layout made up by a unit test (not a capture): every value not given is
    a stated synthetic default, and every source says ``synthetic``."""
    k = inputs.constants
    max_order = k.get("MAX_ORDER", 11)
    cpus = inputs.cpu_to_node or [0]
    n = nr_possible_cpus or max(1, len(inputs.cpu_to_node))
    values: dict[str, Any] = {
        "max_zone_pfn": inputs.max_zone_pfn,
        "zone_names": inputs.zone_names,
        "memblock": inputs.memblock,
        "node_distance": inputs.node_distance,
        "cpu_to_node": inputs.cpu_to_node,
        "cmdline": inputs.cmdline,
        "online_nodes": inputs.online_nodes or [],
        "possible_nodes": inputs.possible_nodes or inputs.online_nodes or [],
        "max_order": max_order,
        "sizeof_struct_page": k.get("sizeof_struct_page", 64),
        "page_size": k.get("PAGE_SIZE", 4096),
        "max_low_pfn": k.get("max_low_pfn", max(inputs.max_zone_pfn)),
        # the kernel computes it before stop 1; a synthetic layout takes it from its memblock
        "dma_reserve": k.get(
            "dma_reserve",
            memblock_find_dma_reserve(inputs.memblock, inputs.max_zone_pfn[0])
            if arch == "x86_64"
            else 0,
        ),
        "phys_base": 0 if arch == "x86_64" else None,
        "pageblock_order": k.get("pageblock_order", max_order - 1),
        "section_size_bits": get_arch(arch).section_size_bits(version),
        "nodes_shift": nodes_shift if nodes_shift is not None else (6 if arch == "x86_64" else 2),
        "config_numa": config_numa,
        "smp_locks": smp_locks,
        "memblock_current_limit": k.get(
            "memblock.current_limit",
            1 << 64 if arch != "x86_64" else max(inputs.max_zone_pfn) << 12,
        ),
        "nr_e820": len(inputs.firmware_map) or (4 if arch == "x86_64" else 0),
        "nr_e820_firmware": 0,
        "e820_table": [(r.start, r.end, r.type) for r in inputs.firmware_map],
        "max_pfn": max((r.end for r in inputs.firmware_map), default=0) >> 12,
        "max_possible_pfn": max(inputs.max_zone_pfn) if arch == "x86_64" else None,
        "memstart_addr": None if arch == "x86_64" else k.get("memstart_addr", 0x40000000),
        "percpu_static_size": k.get("percpu_static_size", 78480),
        "config_modules": False,
        "config_swiotlb": True,
        "config_hpet_timer": arch == "x86_64",
        "have_memblock_node_map": config_numa,
        "sparsemem_vmemmap": True,
        "smp_cache_bytes": 64 if arch == "x86_64" or version != "4.7" else 128,
        "log_buf_shift": 18,
        "log_cpu_max_buf_shift": 12,
        "sizeof": dict(SYNTHETIC_SIZEOF),
        "config_mem_alloc_profiling": False,
        "config_random_kmalloc_caches": False,
        "config_proc_sysctl": True,
        "config_dma_bounce_unaligned_kmalloc": arch == "arm64",
        "config_have_arch_huge_vmalloc": True,
        "config_deferred_struct_page_init": False,
        "config_firmware_memmap": False,
        "config_hibernation": False,
        "config_cpumask_offstack": False,
        "config_dma_cma": False,
        "cma_size_mbytes": 0,
        "arm64_va_bits": 48 if arch == "arm64" else None,
        "setup_params": list(SYNTHETIC_SETUP_PARAMS),
        "kernel_params": list(SYNTHETIC_KERNEL_PARAMS),
        "nr_possible_cpus": n,
        "cpu_to_node_at_zonelists": [cpus[i] if i < len(cpus) else 0 for i in range(n)],
        "nr_ioapics": 1 if arch == "x86_64" else 0,
        "hpet_address": 0xFED00000 if arch == "x86_64" else 0,
    }
    return ModelInputs(
        version=version,
        arch=arch,
        release=version,
        sources={key: Source("synthetic", "a unit test's layout") for key in values},
        **values,
    )
