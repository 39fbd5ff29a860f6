"""Linux 6.12: every memblock allocation and free from free_area_init() to memblock_free_all(),
in the kernel's order (init/main.c start_kernel(), arch/*/kernel/setup.c setup_arch()).

After free_area_init() 6.12 still allocates from memblock: the firmware resources (x86: HPET,
IOAPIC, e820; arm64: one resource per memblock.memory region), the two command-line copies, the
first per-cpu chunk and its bookkeeping, the unknown-parameters string print_unknown_bootoptions()
builds and frees, the dentry and inode hashes (without hashdist), x86's cpu_entry_area page
tables, and the swiotlb buffer with its slots and areas. Each is replayed on the model's
:class:`~inspector.model.memblock.MemblockState` (``m.mb``, which already holds the pg_data_t of
offline nodes from free_area_init()), each function citing the 6.12 code it mirrors. memblock at
memblock_free_all() entry is then a prediction, compared with the capture and, when the guest
booted with ``memblock=debug``, with the kernel's own trace, range by range.

What 6.12 changed since 4.7 (inspector/model/v4_7/start_kernel.py): no zone wait tables and no
PID hash; two command-line copies, not three; PERCPU_DYNAMIC_EARLY_SIZE 20 KiB and the first
chunk's bitmaps (pcpu_alloc_first_chunk()) from memblock; alloc_large_system_hash() has a
low_limit and prints the allocator; d_hash_shift holds 32 - log2(entries); hashdist is cleared
when one node has memory; swiotlb has areas and slots, and on arm64 shrinks to 1/1024 of RAM when
no bounce is needed for ZONE_DMA.
"""

from __future__ import annotations

from dataclasses import dataclass

from inspector.errors import InspectorError
from inspector.model.common import (
    NUMA_NO_NODE,
    div_round_up,
    early_param_last,
    page_align,
    roundup_pow_of_two,
    simple_strtoull,
)
from inspector.model.memblock import MEMBLOCK_ALLOC_ACCESSIBLE

# unchanged since 4.7: the percpu, swiotlb and x86 constants and the percpu layout record
from inspector.model.v4_7.start_kernel import (
    HPET_RESOURCE_NAME_SIZE,
    IO_TLB_DEFAULT_SIZE,
    IO_TLB_SEGSIZE,
    IO_TLB_SHIFT,
    IOAPIC_RESOURCE_NAME_SIZE,
    LOCAL_DISTANCE,
    MAX_DMA32_PFN,
    PCPU_MIN_UNIT_SIZE,
    PCPU_SLOT_BASE_SHIFT,
    X86_MAX_DMA_PHYS,
    PercpuLayout,
)
from inspector.model.v6_12.state import Linux612State
from inspector.model.v6_12.zonelists import memory_nodes

# include/linux/percpu.h, mm/percpu.c (6.12)
PCPU_MIN_ALLOC_SIZE = 4
# kernel/dma/swiotlb.c, include/linux/swiotlb.h (6.12)
IO_TLB_MIN_SLABS = (1 << 20) >> IO_TLB_SHIFT
# x86_64, 4-level paging without KASLR: PAGE_OFFSET (__PAGE_OFFSET_BASE_L4), CPU_ENTRY_AREA_BASE
# (-4UL << P4D_SHIFT), PMD_SIZE
X86_PAGE_OFFSET = 0xFFFF888000000000
CPU_ENTRY_AREA_BASE = 0xFFFFFE0000000000
PMD_SHIFT = 21
PUD_SHIFT = 30
# init/main.c: what argv_init[] and envp_init[] start with
ARGV_INIT = ("init",)
ENVP_INIT = ("HOME=/", "TERM=linux")
# fs/proc/proc_sysctl.c sysctl_aliases[] (CONFIG_PROC_SYSCTL)
SYSCTL_ALIASES = (
    "hardlockup_all_cpu_backtrace",
    "hung_task_panic",
    "numa_zonelist_order",
    "softlockup_all_cpu_backtrace",
)


def is_power_of_2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def get_order(size: int, page_shift: int) -> int:
    """get_order() (include/asm-generic/getorder.h)."""
    return max(((size - 1) >> page_shift).bit_length(), 0) if size else 0


def dash2underscore(s: str) -> str:
    return s.replace("-", "_")


@dataclass
class HashTable:
    """One alloc_large_system_hash() call, as its boot-log line reports it."""

    name: str
    entries: int
    size: int
    base: int  # physical address from memblock; 0 when not allocated from memblock
    how: str  # "linear", "vmalloc" or "vmalloc hugepage"

    def log_line(self, page_shift: int) -> str:
        # pr_info() in alloc_large_system_hash() (mm/mm_init.c, 6.12)
        order = get_order(self.size, page_shift)
        return (
            f"{self.name} hash table entries: {self.entries} "
            f"(order: {order}, {self.size} bytes, {self.how})"
        )


class EarlyAllocs612:
    """The memblock allocations of one 6.12 boot between free_area_init() and
    memblock_free_all(), on ``m.mb``."""

    def __init__(self, m: Linux612State) -> None:
        self.m = m
        self.mi = m.inputs
        self.mb = m.mb
        self.x86 = self.mi.arch == "x86_64"
        self.page_shift = m.geo.page_shift
        self.page_size = self.mi.page_size
        self.smp_cache_bytes = self.mi.smp_cache_bytes
        self.hashes: list[HashTable] = []
        self.percpu: PercpuLayout | None = None
        self.swiotlb: tuple[int, int] | None = None  # [start, end) of the bounce buffer
        self.log: list[str] = []
        self.late_log: list[str] = []  # what 6.12 prints after the hand-off (initcalls)
        self.param_log: list[str] = []  # what parse_early_param() printed before stop 1
        self.default_nslabs = 0
        self.default_nareas = 0
        self.swiotlb_force_bounce = False
        self.swiotlb_force_disable = False
        self.setup_io_tlb_npages()

    def sizeof(self, name: str) -> int:
        n = self.mi.sizeof.get(name)
        if n is None:
            raise InspectorError(f"model input sizeof({name}) is missing from build.json")
        return n

    def memblock_alloc(self, size: int, align: int, caller: str) -> int:
        # memblock_alloc() (include/linux/memblock.h, 6.12): from MEMBLOCK_LOW_LIMIT (0),
        # anywhere accessible, any node; the callers here panic on failure
        return self.mb.alloc_try_nid(
            size, align, 0, MEMBLOCK_ALLOC_ACCESSIBLE, NUMA_NO_NODE, caller
        )

    def linear_map(self, phys: int) -> int:
        # x86_64 __va(): phys + PAGE_OFFSET; arm64 __phys_to_virt(): (phys - PHYS_OFFSET) |
        # PAGE_OFFSET with PAGE_OFFSET = -(1 << VA_BITS) (arch/arm64/include/asm/memory.h, 6.12)
        if self.x86:
            return phys + X86_PAGE_OFFSET
        va_bits = self.mi.arm64_va_bits
        if not va_bits:
            raise InspectorError("model input CONFIG_ARM64_VA_BITS is missing from build.json")
        page_offset = (1 << 64) - (1 << va_bits)
        return (phys - (self.mi.memstart_addr or 0)) | page_offset

    # --- the rest of setup_arch() ------------------------------------------------------------

    def acpi_parse_hpet(self) -> None:
        # mirrors acpi_parse_hpet() (arch/x86/kernel/acpi/boot.c, 6.12), from acpi_boot_init()
        if self.mi.config_hpet_timer and self.mi.hpet_address:
            size = self.sizeof("struct resource") + HPET_RESOURCE_NAME_SIZE
            self.memblock_alloc(size, self.smp_cache_bytes, "acpi_parse_hpet")

    def ioapic_setup_resources(self) -> None:
        # mirrors ioapic_setup_resources() (arch/x86/kernel/apic/io_apic.c, 6.12), from
        # io_apic_init_mappings()
        if self.mi.nr_ioapics:
            n = (IOAPIC_RESOURCE_NAME_SIZE + self.sizeof("struct resource")) * self.mi.nr_ioapics
            self.memblock_alloc(n, self.smp_cache_bytes, "ioapic_setup_resources")

    def e820__reserve_resources(self) -> None:
        # mirrors e820__reserve_resources() (arch/x86/kernel/e820.c, 6.12)
        n = self.sizeof("struct resource") * self.mi.nr_e820
        self.memblock_alloc(n, self.smp_cache_bytes, "e820__reserve_resources")

    def x86_setup_arch(self) -> None:
        # setup_arch() after x86_init.paging.pagetable_init() (arch/x86/kernel/setup.c, 6.12):
        # acpi_boot_init(), io_apic_init_mappings(), e820__reserve_resources()
        self.acpi_parse_hpet()
        self.ioapic_setup_resources()
        self.e820__reserve_resources()

    def request_standard_resources(self) -> None:
        # mirrors request_standard_resources() (arch/arm64/kernel/setup.c, 6.12): one array of
        # memblock.memory.cnt resources (4.7 allocated one resource per region, below the DMA
        # limit)
        n = len(self.mb.memory) * self.sizeof("struct resource")
        self.memblock_alloc(n, self.smp_cache_bytes, "request_standard_resources")

    # --- start_kernel() ------------------------------------------------------------------------

    def setup_command_line(self) -> None:
        # mirrors setup_command_line() (init/main.c, 6.12): saved_command_line and
        # static_command_line; command_line is boot_command_line on both arches (no
        # CONFIG_CMDLINE, no bootconfig)
        n = len(self.mi.cmdline.encode()) + 1
        self.memblock_alloc(n, self.smp_cache_bytes, "setup_command_line")
        self.memblock_alloc(n, self.smp_cache_bytes, "setup_command_line")

    def _cpu_node(self, cpu: int) -> int:
        # early_cpu_to_node() at setup_per_cpu_areas() time
        cpus = self.mi.cpu_to_node_at_zonelists
        return cpus[cpu] if cpu < len(cpus) else NUMA_NO_NODE

    def _cpu_distance(self, a: int, b: int) -> int:
        # x86 pcpu_cpu_distance() (arch/x86/kernel/setup_percpu.c, 6.12): LOCAL or REMOTE by
        # node; arm64 pcpu_cpu_distance() (drivers/base/arch_numa.c): node_distance()
        na, nb = self._cpu_node(a), self._cpu_node(b)
        if self.x86:
            return LOCAL_DISTANCE if na == nb else 20
        return self.m.node_distance(na, nb)

    def percpu_sizes(self) -> tuple[int, int, int]:
        # (reserved_size, dyn_size, atom_size) as setup_per_cpu_areas() passes them: x86
        # (arch/x86/kernel/setup_percpu.c) PERCPU_FIRST_CHUNK_RESERVE, PMD_SIZE; arm64
        # (drivers/base/arch_numa.c) PERCPU_MODULE_RESERVE, PAGE_SIZE (include/linux/percpu.h)
        if not self.mi.config_modules:
            module = 0
        elif self.mi.config_mem_alloc_profiling:
            module = 8 << 13
        else:
            module = 8 << 10
        shift = 12 if self.mi.config_random_kmalloc_caches else 10  # PERCPU_DYNAMIC_SIZE_SHIFT
        dynamic_reserve = 28 << shift
        if self.x86:
            # PERCPU_FIRST_CHUNK_RESERVE is PERCPU_MODULE_RESERVE on x86_64, and dyn_size is
            # PERCPU_MODULE_RESERVE + PERCPU_DYNAMIC_RESERVE - PERCPU_FIRST_CHUNK_RESERVE
            first_chunk_reserve = module
            dyn = module + dynamic_reserve - first_chunk_reserve
            return first_chunk_reserve, dyn, 1 << PMD_SHIFT
        return module, dynamic_reserve, self.page_size

    def pcpu_build_alloc_info(
        self, reserved_size: int, dyn_size: int, atom_size: int
    ) -> tuple[PercpuLayout, list[list[int]], int, int]:
        # mirrors pcpu_build_alloc_info() (mm/percpu.c, 6.12); returns the layout, each group's
        # cpu_map (-1 for an unused unit), the alloc_info block's address and size
        ncpu = self.mi.nr_possible_cpus
        static_size = self.mi.percpu_static_size
        early = 20 << (12 if self.mi.config_random_kmalloc_caches else 10)
        size_sum = page_align(static_size + reserved_size + max(dyn_size, early), self.page_shift)
        dyn_size = size_sum - static_size - reserved_size
        min_unit_size = max(size_sum, PCPU_MIN_UNIT_SIZE)
        alloc_size = div_round_up(min_unit_size, atom_size) * atom_size
        page_mask = self.page_size - 1
        upa = alloc_size // min_unit_size
        while alloc_size % upa or (alloc_size // upa) & page_mask:
            upa -= 1
        max_upa = upa
        # group CPUs at LOCAL_DISTANCE both ways with the group's first CPU
        group_map = [-1] * ncpu
        group_cnt: list[int] = []
        for cpu in range(ncpu):
            if group_map[cpu] >= 0:
                continue
            group = len(group_cnt)
            group_map[cpu] = group
            group_cnt.append(1)
            for tcpu in range(cpu + 1, ncpu):
                if group_map[tcpu] < 0 and (
                    self._cpu_distance(cpu, tcpu) == LOCAL_DISTANCE
                    and self._cpu_distance(tcpu, cpu) == LOCAL_DISTANCE
                ):
                    group_map[tcpu] = group
                    group_cnt[group] += 1
        last_allocs = 1 << 31
        best_upa = 0
        for upa in range(max_upa, 0, -1):
            if alloc_size % upa or (alloc_size // upa) & page_mask:
                continue
            allocs = wasted = 0
            for cnt in group_cnt:
                this_allocs = div_round_up(cnt, upa)
                allocs += this_allocs
                wasted += this_allocs * upa - cnt
            if wasted > ncpu // 3:
                continue
            if allocs > last_allocs:
                break
            last_allocs = allocs
            best_upa = upa
        upa = best_upa
        nr_units = sum(div_round_up(cnt, upa) * upa for cnt in group_cnt)
        ai, ai_size = self.pcpu_alloc_alloc_info(len(group_cnt), nr_units)
        maps: list[list[int]] = []
        for group in range(len(group_cnt)):
            cpus = [c for c in range(ncpu) if group_map[c] == group]
            width = div_round_up(len(cpus), upa) * upa
            maps.append(cpus + [-1] * (width - len(cpus)))
        layout = PercpuLayout(static_size, reserved_size, dyn_size, alloc_size // upa, size_sum)
        return layout, maps, ai, ai_size

    def pcpu_alloc_alloc_info(self, nr_groups: int, nr_units: int) -> tuple[int, int]:
        # mirrors pcpu_alloc_alloc_info() (mm/percpu.c, 6.12): groups[] then the cpu_map array,
        # PFN_ALIGN()ed and page aligned
        base_size = self.sizeof("struct pcpu_alloc_info") + nr_groups * self.sizeof(
            "struct pcpu_group_info"
        )
        base_size = (base_size + 3) & ~3  # __alignof__(unsigned int)
        ai_size = page_align(base_size + nr_units * 4, self.page_shift)
        return self.memblock_alloc(ai_size, self.page_size, "pcpu_alloc_alloc_info"), ai_size

    def pcpu_fc_alloc(self, cpu: int, size: int, align: int) -> int:
        # mirrors pcpu_fc_alloc() (mm/percpu.c, 6.12), CONFIG_NUMA: node-local from
        # __pa(MAX_DMA_ADDRESS) (x86: 16 MiB; arm64: PHYS_OFFSET), else memblock_alloc_from()
        goal = X86_MAX_DMA_PHYS if self.x86 else (self.mi.memstart_addr or 0)
        node = self._cpu_node(cpu) if self.mi.config_numa else NUMA_NO_NODE
        if node == NUMA_NO_NODE or node not in self.m.pgdats:
            if self.mi.config_numa:
                self.log.append(f"percpu: cpu {cpu} has no node {node} or node-local memory")
            node = NUMA_NO_NODE
        return self.mb.alloc_try_nid(
            size, align, goal, MEMBLOCK_ALLOC_ACCESSIBLE, node, "pcpu_fc_alloc"
        )

    def pcpu_embed_first_chunk(self) -> None:
        # mirrors pcpu_embed_first_chunk() (mm/percpu.c, 6.12)
        reserved, dyn, atom = self.percpu_sizes()
        layout, maps, ai, ai_size = self.pcpu_build_alloc_info(reserved, dyn, atom)
        areas_size = page_align(len(maps) * 8, self.page_shift)
        areas = self.memblock_alloc(areas_size, self.smp_cache_bytes, "pcpu_embed_first_chunk")
        ptrs = []
        for cpu_map in maps:
            cpu = next(c for c in cpu_map if c >= 0)
            ptrs.append(self.pcpu_fc_alloc(cpu, len(cpu_map) * layout.unit_size, atom))
        for cpu_map, ptr in zip(maps, ptrs, strict=True):
            for c in cpu_map:
                if c < 0:  # unused unit, free whole
                    self.mb.free(ptr, layout.unit_size, "pcpu_fc_free")
                else:  # return the unused part
                    self.mb.free(
                        ptr + layout.size_sum, layout.unit_size - layout.size_sum, "pcpu_fc_free"
                    )
                ptr += layout.unit_size
        layout.base = min(ptrs)
        self.percpu = layout
        self.log.append(self.percpu_log_line())
        self.pcpu_setup_first_chunk(layout, len(maps))
        self.mb.free(ai, ai_size, "pcpu_free_alloc_info")
        self.mb.free(areas, areas_size, "pcpu_embed_first_chunk")

    def pcpu_setup_first_chunk(self, layout: PercpuLayout, nr_groups: int) -> None:
        # mirrors the memblock_alloc() calls of pcpu_setup_first_chunk() (mm/percpu.c, 6.12)
        name = "pcpu_setup_first_chunk"
        cache = self.smp_cache_bytes
        nr_cpu_ids = self.mi.nr_possible_cpus
        self.memblock_alloc(nr_groups * 8, cache, name)  # group_offsets
        self.memblock_alloc(nr_groups * 8, cache, name)  # group_sizes
        self.memblock_alloc(nr_cpu_ids * 4, cache, name)  # unit_map
        self.memblock_alloc(nr_cpu_ids * 8, cache, name)  # unit_off
        # __pcpu_size_to_slot(pcpu_unit_size) + 1 + 3 slots of struct list_head
        slots = max(layout.unit_size.bit_length() - PCPU_SLOT_BASE_SHIFT + 2, 1) + 4
        self.memblock_alloc(slots * 16, cache, name)  # pcpu_chunk_lists
        static_size = (layout.static_size + PCPU_MIN_ALLOC_SIZE - 1) & ~(PCPU_MIN_ALLOC_SIZE - 1)
        dyn_size = layout.dyn_size - (static_size - layout.static_size)
        tmp_addr = self.linear_map(layout.base) + static_size
        if layout.reserved_size:
            self.pcpu_alloc_first_chunk(tmp_addr, layout.reserved_size)
        self.pcpu_alloc_first_chunk(tmp_addr + layout.reserved_size, dyn_size)

    def pcpu_alloc_first_chunk(self, tmp_addr: int, map_size: int) -> None:
        # mirrors pcpu_alloc_first_chunk() (mm/percpu.c, 6.12): the chunk, alloc_map,
        # bound_map and md_blocks of the region [tmp_addr, tmp_addr + map_size)
        name = "pcpu_alloc_first_chunk"
        cache = self.smp_cache_bytes
        start_offset = tmp_addr & (self.page_size - 1)
        region_size = page_align(start_offset + map_size, self.page_shift)
        nr_pages = region_size >> self.page_shift
        chunk = self.sizeof("struct pcpu_chunk") + div_round_up(nr_pages, 64) * 8
        self.memblock_alloc(chunk, cache, name)
        region_bits = nr_pages * (self.page_size // PCPU_MIN_ALLOC_SIZE)  # pcpu_chunk_map_bits()
        self.memblock_alloc(div_round_up(region_bits, 64) * 8, cache, name)  # alloc_map
        self.memblock_alloc(div_round_up(region_bits + 1, 64) * 8, cache, name)  # bound_map
        self.memblock_alloc(nr_pages * self.sizeof("struct pcpu_block_md"), cache, name)

    def percpu_log_line(self) -> str:
        # pr_info() in pcpu_embed_first_chunk() (mm/percpu.c, 6.12): no address since 4.7
        p = self.percpu
        assert p is not None
        return (
            f"percpu: Embedded {p.size_sum >> self.page_shift} pages/cpu s{p.static_size} "
            f"r{p.reserved_size} d{p.dyn_size} u{p.unit_size}"
        )

    def setup_per_cpu_areas(self) -> None:
        # x86 setup_per_cpu_areas() (arch/x86/kernel/setup_percpu.c, 6.12) and arm64's
        # (drivers/base/arch_numa.c): both embed the first chunk (percpu_alloc= is not modelled)
        if early_param_last(self.mi.cmdline, "percpu_alloc") not in (None, "embed", "auto"):
            raise InspectorError("percpu_alloc=page (pcpu_page_first_chunk) is not modelled")
        self.pcpu_embed_first_chunk()

    # --- parse_args("Booting kernel", …) -------------------------------------------------------

    def _obsolete_checksetup(self, line: str) -> bool:
        # mirrors obsolete_checksetup() (init/main.c, 6.12): a __setup() prefix match (its
        # handler taken to accept the value), or an early_param() of exactly this name
        had_early = False
        want = dash2underscore(line)
        for name, early in self.mi.setup_params:
            if not want.startswith(dash2underscore(name)):
                continue
            if early:
                rest = line[len(name) :]
                if rest == "" or rest.startswith("="):
                    had_early = True
            else:
                return True
        return had_early

    def unknown_bootoption(
        self, param: str, val: str | None, argv: list[str], envp: list[str]
    ) -> None:
        # mirrors unknown_bootoption() (init/main.c, 6.12): what is neither a sysctl alias, a
        # bootloader identifier, a __setup() nor a module parameter goes to init
        if self.mi.config_proc_sysctl and param in SYSCTL_ALIASES:
            return
        line = param if val is None else f"{param}={val}"  # repair_env_string()
        if line.startswith(("BOOT_IMAGE=", "kexec")):
            return
        if self._obsolete_checksetup(line):
            return
        if "." in param:
            return
        if val is not None:
            for i, env in enumerate(envp):
                if env.startswith(param + "="):  # strncmp(param, envp_init[i], len + 1)
                    envp[i] = line
                    return
            envp.append(line)
        else:
            argv.append(line)

    def print_unknown_bootoptions(self) -> None:
        # mirrors parse_args("Booting kernel", static_command_line, __param, …,
        # unknown_bootoption) (kernel/params.c) and print_unknown_bootoptions() (init/main.c,
        # 6.12): the unknown words are joined in a memblock_alloc()ed string, then freed
        argv, envp = list(ARGV_INIT), list(ENVP_INIT)
        known = {dash2underscore(p) for p in self.mi.kernel_params}
        for word in self.mi.cmdline.split():
            if word == "--":
                break
            param, eq, value = word.partition("=")
            if dash2underscore(param) in known:  # parse_one(): a kernel_param of that name
                continue
            self.unknown_bootoption(param, value if eq else None, argv, envp)
        extra = argv[len(ARGV_INIT) :] + envp[len(ENVP_INIT) :]
        if not extra:
            return
        n = 1 + sum(1 + len(w.encode()) for w in extra)
        base = self.memblock_alloc(n, self.smp_cache_bytes, "print_unknown_bootoptions")
        self.mb.free(base, n, "print_unknown_bootoptions")

    def setup_log_buf(self) -> None:
        # setup_log_buf(0) → log_buf_add_cpu() (kernel/printk/printk.c, 6.12): a larger buffer
        # only when the per-cpu extra exceeds half of __LOG_BUF_LEN, or log_buf_len=
        n = self.mi.nr_possible_cpus
        extra = (n - 1) << self.mi.log_cpu_max_buf_shift
        if (n > 1 and extra > (1 << self.mi.log_buf_shift) // 2) or early_param_last(
            self.mi.cmdline, "log_buf_len"
        ):
            raise InspectorError(
                "a reallocated printk buffer (log_buf_len=, or too many possible CPUs for "
                "CONFIG_LOG_BUF_SHIFT) is not modelled"
            )

    # --- vfs_caches_init_early() ---------------------------------------------------------------

    def hashdist(self) -> int:
        # hashdist (mm/mm_init.c, 6.12): HASHDIST_DEFAULT (1 on 64-bit NUMA), cleared by
        # fixup_hashdist() at the end of free_area_init() when one node has memory; the
        # __setup("hashdist=") in parse_args() comes after that
        if not self.mi.config_numa:
            return 0
        v = early_param_last(self.mi.cmdline, "hashdist")
        if v is not None:
            return simple_strtoull(v, 0)[0]
        return 0 if len(memory_nodes(self.m)) == 1 else 1

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
        if not numentries:
            numentries = self.m.nr_kernel_pages
            mb_pages = (1 << 20) >> ps
            numentries = div_round_up(numentries, mb_pages) * mb_pages
            adapt = (64 << 30) >> ps  # ADAPT_SCALE_NPAGES
            while adapt < numentries:
                scale += 1
                adapt <<= 2  # ADAPT_SCALE_SHIFT
            if scale > ps:
                numentries >>= scale - ps
            else:
                numentries <<= ps - scale
            if numentries * bucketsize < self.page_size:
                numentries = self.page_size // bucketsize
        numentries = roundup_pow_of_two(numentries)
        mx = ((self.m.nr_all_pages << ps) >> 4) // bucketsize
        mx = min(mx, 0x80000000)
        numentries = max(numentries, low_limit)
        numentries = min(numentries, mx)
        log2qty = max(numentries.bit_length() - 1, 0)
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
        return self.mi.config_have_arch_huge_vmalloc and size_per_node >= 1 << PMD_SHIFT

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
                self.log.append(table.log_line(self.page_shift))

    # --- trap_init() ---------------------------------------------------------------------------

    def setup_cpu_entry_areas(self) -> None:
        # mirrors setup_cpu_entry_areas() (arch/x86/mm/cpu_entry_area.c, 6.12): each CPU's
        # cpu_entry_area (no KASLR: CPU i at CPU_ENTRY_AREA_PER_CPU + i * CPU_ENTRY_AREA_SIZE)
        # is mapped page by page through set_pte_vaddr(), whose fill_pud(), fill_pmd() and
        # fill_pte() (arch/x86/mm/init_64.c) take a page from spp_getpage() →
        # memblock_alloc(PAGE_SIZE, PAGE_SIZE) for each table still missing: the CEA's PGD
        # entry exists before stop 1, its PUD, PMD and PTE tables do not
        size = self.sizeof("struct cpu_entry_area")
        per_cpu = CPU_ENTRY_AREA_BASE + self.page_size
        tables: set[tuple[int, int]] = set()
        for cpu in range(self.mi.nr_possible_cpus):
            start = per_cpu + cpu * size
            for va in range(start, start + size, self.page_size):
                for shift in (PUD_SHIFT + 9, PUD_SHIFT, PMD_SHIFT):  # the PUD, PMD, PTE table
                    key = (shift, va >> shift)
                    if key not in tables:
                        tables.add(key)
                        self.memblock_alloc(self.page_size, self.page_size, "spp_getpage")

    # --- mm_core_init() → mem_init() -----------------------------------------------------------

    def setup_io_tlb_npages(self) -> None:
        # mirrors setup_io_tlb_npages() (kernel/dma/swiotlb.c, 6.12), the early_param("swiotlb")
        # parse_early_param() runs before stop 1: default_nslabs, default_nareas, force/noforce
        self.default_nslabs = IO_TLB_DEFAULT_SIZE >> IO_TLB_SHIFT
        self.default_nareas = 0
        self.swiotlb_force_bounce = self.swiotlb_force_disable = False
        s = early_param_last(self.mi.cmdline, "swiotlb") or ""
        if s[:1].isdigit():
            n, s = simple_strtoull(s, 0)
            self.default_nslabs = div_round_up(n, IO_TLB_SEGSIZE) * IO_TLB_SEGSIZE
        if s.startswith(","):
            s = s[1:]
        if s[:1].isdigit():
            n, s = simple_strtoull(s, 0)
            self.swiotlb_adjust_nareas(n, self.param_log)
        if s.startswith(","):
            s = s[1:]
        self.swiotlb_force_bounce = s == "force"
        self.swiotlb_force_disable = s == "noforce"

    def swiotlb_adjust_nareas(self, nareas: int, log: list[str]) -> None:
        # mirrors swiotlb_adjust_nareas() (kernel/dma/swiotlb.c, 6.12)
        nareas = roundup_pow_of_two(nareas) if nareas else 1
        self.default_nareas = nareas
        log.append(f"software IO TLB: area num {nareas}.")
        if self.round_up_default_nslabs():
            mib = (self.default_nslabs << IO_TLB_SHIFT) >> 20
            log.append(f"software IO TLB: SWIOTLB bounce buffer size roundup to {mib}MB")

    def round_up_default_nslabs(self) -> bool:
        # mirrors round_up_default_nslabs() (kernel/dma/swiotlb.c, 6.12)
        if not self.default_nareas:
            return False
        if self.default_nslabs < IO_TLB_SEGSIZE * self.default_nareas:
            self.default_nslabs = IO_TLB_SEGSIZE * self.default_nareas
        elif is_power_of_2(self.default_nslabs):
            return False
        self.default_nslabs = roundup_pow_of_two(self.default_nslabs)
        return True

    def swiotlb_init(self, addressing_limit: bool, verbose: bool) -> None:
        # mirrors swiotlb_init() → swiotlb_init_remap() (kernel/dma/swiotlb.c, 6.12), no
        # SWIOTLB_ANY: the buffer from memblock_alloc_low(), then slots and areas
        if not addressing_limit and not self.swiotlb_force_bounce:
            return
        if self.swiotlb_force_disable:
            return
        if not self.default_nareas:
            self.swiotlb_adjust_nareas(self.mi.nr_possible_cpus, self.log)
        nslabs = default_nslabs = self.default_nslabs
        nareas = self.limit_nareas(self.default_nareas, nslabs)
        while True:
            nbytes = page_align(nslabs << IO_TLB_SHIFT, self.page_shift)
            tlb = self.mb.alloc_try_nid(
                nbytes,
                self.page_size,
                0,
                self.arch_low_address_limit(),
                NUMA_NO_NODE,
                "swiotlb_memblock_alloc",
                panic=False,
            )
            if tlb:
                break
            if nslabs <= IO_TLB_MIN_SLABS:
                return
            nslabs = div_round_up(nslabs >> 1, IO_TLB_SEGSIZE) * IO_TLB_SEGSIZE
            nareas = self.limit_nareas(nareas, nslabs)
        if default_nslabs != nslabs:
            self.log.append(
                f"software IO TLB: SWIOTLB bounce buffer size adjusted {default_nslabs} -> "
                f"{nslabs} slabs"
            )
        slots = page_align(self.sizeof("struct io_tlb_slot") * nslabs, self.page_shift)
        self.memblock_alloc(slots, self.page_size, "swiotlb_init_remap")
        areas = self.sizeof("struct io_tlb_area") * nareas
        self.memblock_alloc(areas, self.smp_cache_bytes, "swiotlb_init_remap")
        self.swiotlb = (tlb, tlb + (nslabs << IO_TLB_SHIFT))
        line = self.swiotlb_line()
        if verbose:
            self.log.append(line)
        else:
            # x86: pci_iommu_init() (arch/x86/kernel/pci-dma.c, 6.12), a rootfs_initcall
            self.late_log.append(line)

    @staticmethod
    def limit_nareas(nareas: int, nslots: int) -> int:
        # mirrors limit_nareas() (kernel/dma/swiotlb.c, 6.12)
        if nslots < nareas * IO_TLB_SEGSIZE:
            return nslots // IO_TLB_SEGSIZE
        return nareas

    def swiotlb_line(self) -> str:
        # swiotlb_print_info() (kernel/dma/swiotlb.c, 6.12): mem->end is start + nslabs slots
        assert self.swiotlb is not None
        start, end = self.swiotlb
        return f"software IO TLB: mapped [mem {start:#018x}-{end:#018x}] ({(end - start) >> 20}MB)"

    def arch_low_address_limit(self) -> int:
        # ARCH_LOW_ADDRESS_LIMIT: arm64_dma_phys_limit - 1 (arch/arm64/include/asm/
        # processor.h); 0xffffffff elsewhere (include/linux/memblock.h)
        if self.x86:
            return 0xFFFFFFFF
        return (self.mi.max_zone_pfn[0] << self.page_shift) - 1

    def x86_mem_init(self) -> None:
        # mem_init() (arch/x86/mm/init_64.c, 6.12) → pci_iommu_alloc() → pci_swiotlb_detect()
        # then swiotlb_init(x86_swiotlb_enable, 0) (arch/x86/kernel/pci-dma.c); no memory
        # encryption, no IOMMU table on these machines
        if not self.mi.config_swiotlb:
            return
        iommu = early_param_last(self.mi.cmdline, "iommu") or ""
        no_iommu = "off" in iommu.split(",")
        enable = not no_iommu and (self.mi.max_possible_pfn or 0) > MAX_DMA32_PFN
        self.swiotlb_init(enable, False)
        if enable and self.swiotlb is not None:
            self.late_log.insert(0, "PCI-DMA: Using software bounce buffering for IO (SWIOTLB)")

    def arm64_mem_init(self) -> None:
        # mem_init() (arch/arm64/mm/init.c, 6.12): swiotlb when RAM passes the DMA limit, or,
        # with DMA_BOUNCE_UNALIGNED_KMALLOC, a buffer of 1 MiB per GiB of RAM (at most the
        # default size) for kmalloc() bouncing
        if not self.mi.config_swiotlb:
            return
        dma_limit_pfn = self.mi.max_zone_pfn[0]
        max_pfn = max((r.base + r.size) >> self.page_shift for r in self.mb.memory)
        swiotlb = max_pfn > dma_limit_pfn
        if self.mi.config_dma_bounce_unaligned_kmalloc and not swiotlb:
            self.swiotlb_adjust_size(div_round_up(sum(r.size for r in self.mb.memory), 1024))
            swiotlb = True
        self.swiotlb_init(swiotlb, True)

    def swiotlb_adjust_size(self, size: int) -> None:
        # mirrors swiotlb_adjust_size(min(swiotlb_size_or_default(), size)) (kernel/dma/
        # swiotlb.c, 6.12): only when swiotlb= did not set the size; pr_info() without "\n"
        if self.default_nslabs != IO_TLB_DEFAULT_SIZE >> IO_TLB_SHIFT:
            return
        size = min(self.default_nslabs << IO_TLB_SHIFT, size)
        size = div_round_up(size, 1 << IO_TLB_SHIFT) << IO_TLB_SHIFT  # ALIGN(size, IO_TLB_SIZE)
        self.default_nslabs = div_round_up(size >> IO_TLB_SHIFT, IO_TLB_SEGSIZE) * IO_TLB_SEGSIZE
        if self.round_up_default_nslabs():
            size = self.default_nslabs << IO_TLB_SHIFT
        self.log.append(f"software IO TLB: SWIOTLB bounce buffer size adjusted to {size >> 20}MB")

    # --- the whole stretch ---------------------------------------------------------------------

    def after_free_area_init(self) -> None:
        """From free_area_init()'s return to build_all_zonelists() (mm_core_init())."""
        if self.x86:
            self.x86_setup_arch()
        else:
            self.request_standard_resources()
        self.setup_command_line()
        self.setup_per_cpu_areas()
        self.print_unknown_bootoptions()
        self.setup_log_buf()
        self.vfs_caches_init_early()
        if self.x86:
            self.setup_cpu_entry_areas()  # trap_init()

    def after_zonelists(self) -> None:
        """From build_all_zonelists() to memblock_free_all() entry (mm_core_init() →
        mem_init())."""
        if self.x86:
            self.x86_mem_init()
        else:
            self.arm64_mem_init()

    def handoff_globals(self) -> dict[str, int]:
        """The schema.GLOBALS_HANDOFF 6.12 still has, as these allocations leave them: the
        hash pointers in the linear map (NULL, shift 0 under hashdist until vfs_caches_init())
        and d_hash_shift as 32 - log2(entries); the first chunk's base and unit size."""
        g = {
            "dentry_hashtable": 0,
            "d_hash_shift": 0,
            "inode_hashtable": 0,
            "i_hash_shift": 0,
        }
        for h in self.hashes:
            if not h.base:
                continue
            log2 = h.entries.bit_length() - 1
            if h.name == "Dentry cache":
                g["dentry_hashtable"] = self.linear_map(h.base)
                g["d_hash_shift"] = 32 - log2
            elif h.name == "Inode-cache":
                g["inode_hashtable"] = self.linear_map(h.base)
                g["i_hash_shift"] = log2
        if self.percpu is not None:
            g["pcpu_base_addr"] = self.linear_map(self.percpu.base)
            g["pcpu_unit_size"] = self.percpu.unit_size
        return g

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
        return [t.log_line(self.page_shift) for t in tables]
