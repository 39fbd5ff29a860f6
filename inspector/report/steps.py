"""The walkthrough's outline: the steps of buddy-allocator initialisation per release and arch,
in the kernel's call order, as the seed walkthrough tells them (``start_kernel → setup_arch →
arm64_memblock_init → paging_init → bootmem_init → arm64_numa_init → zone_sizes_init →
free_area_init_node → free_area_init_core → memmap_init``, then ``build_all_zonelists``,
``page_alloc_init``, ``pidhash_init``, ``vfs_caches_init_early``), x86_64's own path where it
differs (e820 → memblock, ``initmem_init``, ``paging_init``), and where each function lives in
the built tree (``function_source``).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

from inspector.errors import InspectorError
from inspector.registry import Role, role_of
from inspector.schema import Snapshot

BOTH = ("x86_64", "arm64")


@dataclass(frozen=True)
class Step:
    """One function of the walkthrough: where it lives per arch, what it does, which stop's
    snapshot shows its result, and which boot-log lines it prints."""

    function: str
    files: dict[str, str]  # arch (or "*") -> file in the source tree
    depth: int  # indentation in the call graph
    what: str
    role: Role | None = None
    log: str | None = None  # a regex over the memory-init log lines it prints
    # shown only when the run captured its role's stop (a stop the build's config decides)
    only_with_stop: bool = False
    arches: tuple[str, ...] = BOTH  # the arches whose boot calls it

    def file_for(self, arch: str) -> str:
        return self.files.get(arch) or self.files["*"]


_X86_ARM = {"x86_64": "arch/x86/kernel/setup.c", "arm64": "arch/arm64/kernel/setup.c"}
_ZONES = {"x86_64": "arch/x86/mm/init.c", "arm64": "arch/arm64/mm/init.c"}
_MEM_INIT = {"x86_64": "arch/x86/mm/init_64.c", "arm64": "arch/arm64/mm/init.c"}
_PAGING = {"x86_64": "arch/x86/mm/init_64.c", "arm64": "arch/arm64/mm/mmu.c"}
_RANGES = (
    r"^(Zone ranges:|  (DMA|DMA32|Normal|Movable) |Movable zone start|  Node \d+:|Early memory"
)
_RANGES += r"|  node +\d+:)"
X86, ARM = ("x86_64",), ("arm64",)


def _setup_arch(e820: str, memblock: str, numa: str, numa_file: str) -> tuple[Step, ...]:
    """start_kernel → setup_arch → … → zone_sizes_init: the firmware's memory into memblock,
    the NUMA nodes, the page tables, then the zones (x86's e820 functions and arm64's NUMA
    entry were renamed between 4.7 and 6.1)."""
    return (
        Step("start_kernel", {"*": "init/main.c"}, 0, "the C entry of the boot CPU"),
        Step("setup_arch", _X86_ARM, 1, "the memory map (e820 or device tree) into memblock"),
        Step(
            e820,
            {"*": "arch/x86/kernel/e820.c"},
            2,
            "the firmware's e820 map, sanitised (overlaps resolved, sorted)",
            log=r"^(BIOS-e820|e820: |user: )",
            arches=X86,
        ),
        Step(
            memblock,
            {"*": "arch/x86/kernel/e820.c"},
            2,
            "e820's usable RAM becomes memblock.memory",
            arches=X86,
        ),
        Step(
            "initmem_init",
            {"*": "arch/x86/mm/numa_64.c"},
            2,
            "the NUMA nodes (ACPI SRAT, or emulated) stamped onto memblock's ranges",
            log=r"^(SRAT|NUMA|Initmem setup)",
            arches=X86,
        ),
        Step(
            "arm64_memblock_init",
            {"*": "arch/arm64/mm/init.c"},
            2,
            "the device tree's memory into memblock, less what mem= and the linear map cannot "
            "hold; the kernel, the initrd and the device tree reserved",
            arches=ARM,
        ),
        Step("paging_init", _PAGING, 2, "the kernel's page tables over memblock's memory"),
        Step(
            "bootmem_init",
            {"*": "arch/arm64/mm/init.c"},
            2,
            "the NUMA nodes, sparse memory sections, then the zones",
            arches=ARM,
        ),
        Step(
            numa,
            {"*": numa_file},
            3,
            "the device tree's NUMA nodes (or one faked node) stamped onto memblock's ranges",
            log=r"^NUMA",
            arches=ARM,
        ),
        Step("zone_sizes_init", _ZONES, 3, "each zone's highest pfn: max_zone_pfn[]", log=_RANGES),
    )


def _hash_tables(pidhash: bool) -> tuple[Step, ...]:
    """start_kernel's early hash tables, from memblock (alloc_large_system_hash())."""
    pid = Step(
        "pidhash_init",
        {"*": "kernel/pid.c"},
        1,
        "the PID hash table, sized from the memory the zones hold",
        log=r"^PID hash table entries",
    )
    return (
        *((pid,) if pidhash else ()),
        Step("vfs_caches_init_early", {"*": "fs/dcache.c"}, 1, "the VFS's early hash tables"),
        Step(
            "dcache_init_early",
            {"*": "fs/dcache.c"},
            2,
            "the dentry hash table, from memblock unless hashdist spreads it over the nodes",
            log=r"^Dentry cache hash table entries",
        ),
        Step(
            "inode_init_early",
            {"*": "fs/inode.c"},
            2,
            "the inode hash table, likewise",
            log=r"^Inode-cache hash table entries",
        ),
    )


_DEFERRED = Step(
    "page_alloc_init_late",
    {"*": "mm/mm_init.c"},
    1,
    "kernel_init_freeable(), with CONFIG_DEFERRED_STRUCT_PAGE_INIT: a pgdatinit kthread per node "
    "initialises the struct pages memmap_init() left (from first_deferred_pfn on) and frees "
    "them to the buddy allocator; shown are the free blocks they became",
    Role.DEFERRED,
    log=r"^node \d+ deferred pages initialised",
    only_with_stop=True,
)

STEPS: dict[str, tuple[Step, ...]] = {
    "4.7": (
        *_setup_arch(
            "setup_memory_map", "memblock_x86_fill", "arm64_numa_init", "arch/arm64/mm/numa.c"
        ),
        Step(
            "free_area_init_nodes",
            {"*": "mm/page_alloc.c"},
            4,
            "zone ranges, ZONE_MOVABLE, then every node",
            Role.INPUTS,
        ),
        Step(
            "free_area_init_node",
            {"*": "mm/page_alloc.c"},
            5,
            "one node's pg_data_t",
            log=r"^(Initmem setup node|On node \d+ totalpages)",
        ),
        Step(
            "free_area_init_core",
            {"*": "mm/page_alloc.c"},
            6,
            "each zone's spans, present and managed pages (memmap estimate)",
            Role.NODE,
            log=r"^  \w+ zone: \d+ pages",
        ),
        Step(
            "memmap_init_zone",
            {"*": "mm/page_alloc.c"},
            7,
            "every struct page of the zone; pageblocks MIGRATE_MOVABLE",
            Role.MEMMAP,
        ),
        Step(
            "build_all_zonelists",
            {"*": "mm/page_alloc.c"},
            1,
            "each node's fallback order of zones",
            Role.ZONELISTS,
            log=r"^(Built \d+ zonelists|Policy zone)",
        ),
        Step(
            "page_alloc_init",
            {"*": "mm/page_alloc.c"},
            1,
            "the CPU-hotplug callback that drains a dead CPU's per-cpu lists",
        ),
        *_hash_tables(pidhash=True),
        Step(
            "mem_init",
            _MEM_INIT,
            1,
            "mm_init() → mem_init(): hand memblock's free memory to the buddy allocator",
            log=r"^Memory:",
        ),
        Step(
            "free_all_bootmem",
            {"*": "mm/nobootmem.c"},
            2,
            "every free memblock range, page blocks to __free_one_page()",
            Role.BUDDY,
        ),
        Step(
            "init_per_zone_wmark_min",
            {"*": "mm/page_alloc.c"},
            1,
            "core_initcall: min_free_kbytes, watermarks, lowmem_reserve",
            Role.WMARKS,
        ),
    ),
}

# 6.12: the sizing in mm/mm_init.c; build_all_zonelists() moved into mm_core_init(), after the
# VFS's early hash tables
_SIZING_6 = (
    Step(
        "free_area_init",
        {"*": "mm/mm_init.c"},
        4,
        "zone ranges, ZONE_MOVABLE, then every possible node",
        Role.INPUTS,
    ),
    Step(
        "free_area_init_node",
        {"*": "mm/mm_init.c"},
        5,
        "one node's pg_data_t",
        log=r"^Initmem setup node",
    ),
    Step(
        "free_area_init_core",
        {"*": "mm/mm_init.c"},
        6,
        "each zone's spans and present pages (managed = present until the hand-off)",
        Role.NODE,
    ),
    Step(
        "memmap_init",
        {"*": "mm/mm_init.c"},
        5,
        "after all nodes: per memblock range and zone, then the holes",
        log=r"^On node \d+, zone \w+: \d+ pages in unavailable",
    ),
    Step(
        "memmap_init_range",
        {"*": "mm/mm_init.c"},
        6,
        "the struct pages of one (range, zone); pageblocks MIGRATE_MOVABLE",
        Role.MEMMAP,
    ),
)
_ZONELISTS_6 = Step(
    "build_all_zonelists",
    {"*": "mm/page_alloc.c"},
    2,
    "each possible node's fallback order of zones",
    Role.ZONELISTS,
    log=r"^(Fallback order for Node|Built \d+ zonelists|Policy zone)",
)
_HANDOFF_6 = (
    Step("mem_init", _MEM_INIT, 2, "swiotlb, then memblock_free_all()"),
    Step(
        "memblock_free_all",
        {"*": "mm/memblock.c"},
        3,
        "every free memblock range to __free_pages_core(), to the tail of the lists",
        Role.BUDDY,
    ),
    _DEFERRED,
    Step(
        "init_per_zone_wmark_min",
        {"*": "mm/page_alloc.c"},
        1,
        "postcore_initcall: min_free_kbytes, four watermarks, lowmem_reserve, pcp",
        Role.WMARKS,
    ),
)
_ARCH_6 = _setup_arch(
    "e820__memory_setup", "e820__memblock_setup", "arch_numa_init", "drivers/base/arch_numa.c"
)
STEPS["6.12"] = (
    *_ARCH_6,
    *_SIZING_6,
    *_hash_tables(pidhash=False),
    Step(
        "mm_core_init",
        {"*": "mm/mm_init.c"},
        1,
        "the allocators come up: the zonelists, then mem_init() hands memory to the buddy "
        "allocator",
    ),
    _ZONELISTS_6,
    Step(
        "page_alloc_init_cpuhp",
        {"*": "mm/page_alloc.c"},
        2,
        "the CPU-hotplug callback that drains a dead CPU's per-cpu lists",
    ),
    *_HANDOFF_6,
)


def _before_mm_init_c(step: Step) -> Step:
    """A 6.12 step as 6.1 has it: mm/mm_init.c was split out of mm/page_alloc.c in 6.4 (change
    "stop-renames", commit 9420f89db2dd)."""
    files = {a: "mm/page_alloc.c" if f == "mm/mm_init.c" else f for a, f in step.files.items()}
    what = step.what.replace(
        "(managed = present until the hand-off)", "(managed = present less the memmap)"
    )
    return dataclasses.replace(step, files=files, what=what)


# 6.1: start_kernel() itself builds the zonelists (then page_alloc_init()) before the VFS's hash
# tables, and init/main.c's mm_init() was 6.12's mm_core_init()
STEPS["6.1"] = tuple(
    _before_mm_init_c(s)
    for s in (
        *_ARCH_6,
        *_SIZING_6,
        dataclasses.replace(_ZONELISTS_6, depth=1),
        Step(
            "page_alloc_init",
            {"*": "mm/page_alloc.c"},
            1,
            "the CPU-hotplug callback that drains a dead CPU's per-cpu lists",
        ),
        *_hash_tables(pidhash=False),
        Step(
            "mm_init",
            {"*": "init/main.c"},
            1,
            "the allocators come up: mem_init() hands memory to the buddy allocator",
        ),
        *_HANDOFF_6,
    )
)


def role_in(snap: Snapshot, stop: str) -> Role | None:
    """The role of a run's stop (None: not a stop of its version's plan)."""
    try:
        return role_of(snap.kernel.version, stop)
    except InspectorError:
        return None


def steps_for(version: str, arch: str, captured: dict[str, Snapshot]) -> tuple[Step, ...]:
    """The walkthrough of one run: its version's steps on its arch, less those whose stop the
    build's configuration left out of the plan (the deferred struct pages)."""
    steps = STEPS.get(version)
    if steps is None:
        raise InspectorError(f"no walkthrough for Linux {version}")
    roles = {role_in(s, k) for k, s in captured.items()}
    return tuple(s for s in steps if arch in s.arches and (not s.only_with_stop or s.role in roles))


def function_source(tree: Path, file: str, function: str) -> tuple[int, list[str]] | None:
    """(first line number, lines) of ``function``'s definition in ``tree/file``: from the line
    that names it at the start of a declaration to the ``}`` in column 0 that ends it."""
    try:
        lines = (tree / file).read_text(errors="replace").splitlines()
    except OSError:
        return None
    name = re.compile(rf"^(?:[A-Za-z_].*\b)?{re.escape(function)}\s*\(")
    for i, line in enumerate(lines):
        if not name.match(line) or line.rstrip().endswith(";"):
            continue
        j = i
        while j < len(lines) and not lines[j].startswith("{"):
            if lines[j].rstrip().endswith(";") or j - i > 8:
                break
            j += 1
        if j >= len(lines) or not lines[j].startswith("{"):
            continue  # a prototype or a call at file scope
        start = i
        while start > 0 and re.match(
            r"^(static|void|int|unsigned|bool)\b[^;{}]*$", lines[start - 1]
        ):
            start -= 1  # the return type on the line above
        end = j
        while end < len(lines) and lines[end] != "}":
            end += 1
        return start + 1, lines[start : end + 1]
    return None
