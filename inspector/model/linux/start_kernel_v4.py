"""Linux 4.7: every memblock allocation and free from stop 1 to the buddy hand-off, in order.

Between ``free_area_init_nodes`` and ``free_all_bootmem`` start_kernel still allocates from
memblock: the zone wait tables, the firmware resources (x86: HPET, IOAPIC, e820; arm64: one
resource per memory region), the three command-line copies, the first per-cpu chunk, the PID hash
(and, without hashdist, the dentry and inode hashes) and the swiotlb bounce buffer. Each is
replayed here on a :class:`~inspector.model.memblock.MemblockState`, in the kernel's order, each
function citing the 4.7 code it mirrors. What memblock holds at the hand-off is then a
prediction, compared with the capture at ``free_all_bootmem`` entry and, when the guest booted
with ``memblock=debug``, with the kernel's own trace of every reserve and free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from inspector.errors import InspectorError
from inspector.kernel_changes import BY_ID
from inspector.model.common import (
    NUMA_NO_NODE,
    div_round_up,
    early_param_last,
    fls,
    page_align,
    simple_strtoull,
)
from inspector.model.inputs import ModelInputs
from inspector.model.large_system_hash import HashSizing, hash_line, hash_log2qty
from inspector.model.memblock import MEMBLOCK_ALLOC_ACCESSIBLE, BootPanic, MemblockState
from inspector.schema import GLOBALS_HANDOFF

# include/linux/percpu.h, mm/percpu.c (4.7)
PERCPU_MODULE_RESERVE = 8 << 10
PERCPU_DYNAMIC_EARLY_SIZE = 12 << 10
PERCPU_DYNAMIC_RESERVE = 28 << 10  # BITS_PER_LONG > 32
PCPU_MIN_UNIT_SIZE = 32 << 10
PCPU_SLOT_BASE_SHIFT = 5
LOCAL_DISTANCE = 10
# lib/swiotlb.c (4.7)
IO_TLB_SHIFT = 11
IO_TLB_SEGSIZE = 128
IO_TLB_DEFAULT_SIZE = 64 << 20
IO_TLB_OVERFLOW = 32 * 1024
# arch/x86: HPET_RESOURCE_NAME_SIZE (acpi/boot.c), IOAPIC_RESOURCE_NAME_SIZE (apic/io_apic.c)
HPET_RESOURCE_NAME_SIZE = 9
IOAPIC_RESOURCE_NAME_SIZE = 11
# x86_64: __pa(MAX_DMA_ADDRESS) (arch/x86/include/asm/dma.h); MAX_DMA32_PFN
X86_MAX_DMA_PHYS = 16 << 20
MAX_DMA32_PFN = 1 << 20
# arm64: L1_CACHE_SHIFT 7 (arch/arm64/include/asm/cache.h, 4.7)
ARM64_SMP_CACHE_BYTES = 128
# kernel/pid.c: pidhash_shift's initial value; HASH_EARLY | HASH_SMALL, high_limit 4096
PIDHASH_SHIFT = 4
PIDHASH_MAX = 4096


@dataclass
class HashTable:
    """One alloc_large_system_hash() call, as its boot-log line reports it."""

    name: str
    entries: int
    size: int
    base: int

    def log_line(self, page_shift: int) -> str:
        # pr_info() in alloc_large_system_hash() (mm/page_alloc.c, 4.7)
        return hash_line(
            self.name, self.entries, self.size, page_shift, how=None, by_get_order=False
        )


@dataclass
class PercpuLayout:
    """What pcpu_build_alloc_info() decided, for the "percpu: Embedded" line."""

    static_size: int
    reserved_size: int
    dyn_size: int
    unit_size: int
    size_sum: int
    base: int = 0


def pcpu_units_per_alloc(
    alloc_size: int, max_upa: int, page_mask: int, group_cnt: list[int], ncpu: int
) -> int:
    """pcpu_build_alloc_info()'s units per allocation (mm/percpu.c, the same from 4.7 to 6.12):
    the largest that divides the allocation into page-aligned units, wastes at most a third of
    the CPUs' units, and needs no more allocations than the larger ones tried before it."""
    last_allocs = 1 << 31
    best_upa = 1
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
    return best_upa


def pcpu_group_maps(group_map: list[int], nr_groups: int, upa: int) -> list[list[int]]:
    """Each group's cpu_map: its CPUs, padded with -1 to a multiple of ``upa`` units."""
    maps: list[list[int]] = []
    for group in range(nr_groups):
        cpus = [c for c, g in enumerate(group_map) if g == group]
        width = div_round_up(len(cpus), upa) * upa
        maps.append(cpus + [-1] * (width - len(cpus)))
    return maps


class EarlyAllocs47:
    """The allocations of one 4.7 boot between stop 1 and free_all_bootmem()."""

    def __init__(
        self,
        mi: ModelInputs,
        *,
        nr_kernel_pages: int,
        nr_all_pages: int,
        changes: frozenset[str] = frozenset(),
    ) -> None:
        self.mi = mi
        self.changes = changes  # the modelled release's (BootState.changes)
        x86 = mi.arch == "x86_64"
        self.x86 = x86
        self.page_shift = mi.page_size.bit_length() - 1
        max_numnodes = 1 << mi.nodes_shift if mi.config_numa else 1
        self.mb = MemblockState(
            mi.memblock,
            # memblock_reserve() stamps MAX_NUMNODES with CONFIG_HAVE_MEMBLOCK_NODE_MAP
            reserve_nid=max_numnodes if mi.have_memblock_node_map else 0,
            current_limit=mi.memblock_current_limit,
            smp_cache_bytes=mi.smp_cache_bytes,
            low_limit=0,  # BOOTMEM_LOW_LIMIT is 0 with CONFIG_NO_BOOTMEM (include/linux/bootmem.h)
            page_size=mi.page_size,
        )
        self.nr_kernel_pages = nr_kernel_pages
        self.nr_all_pages = nr_all_pages
        self.hashes: list[HashTable] = []
        self.percpu: PercpuLayout | None = None
        self.swiotlb: tuple[int, int] | None = None  # [start, end) of the bounce buffer
        self.log: list[str] = []

    def has(self, change: str) -> bool:
        """Has the modelled kernel ``change`` (an inspector.kernel_changes id)?"""
        assert change in BY_ID, change
        return change in self.changes

    def sizeof(self, name: str) -> int:
        n = self.mi.sizeof.get(name)
        if n is None:
            raise InspectorError(f"model input sizeof({name}) is missing from build.json")
        return n

    # --- free_area_init_core() ---------------------------------------------------------------

    def zone_wait_table_init(self, nid: int, spanned_pages: int) -> None:
        # mirrors zone_wait_table_init() / wait_table_hash_nr_entries() (mm/page_alloc.c, 4.7)
        pages = spanned_pages // 256  # PAGES_PER_WAITQUEUE
        size = 4
        while size < pages:
            size <<= 1
        size = max(min(size, 4096), 4)
        alloc = size * self.sizeof("wait_queue_head_t")
        self.mb.virt_alloc_default(alloc, 0, "zone_wait_table_init", nid)

    # --- the rest of setup_arch() -------------------------------------------------------------

    def x86_setup_arch(self) -> None:
        # arch/x86/kernel/setup.c setup_arch() (4.7) after x86_init.paging.pagetable_init():
        # acpi_boot_init() → acpi_parse_hpet() (arch/x86/kernel/acpi/boot.c)
        res = self.sizeof("struct resource")
        if self.mi.config_hpet_timer and self.mi.hpet_address:
            self.mb.alloc_bootmem(
                res + HPET_RESOURCE_NAME_SIZE, self.mi.smp_cache_bytes, 0, 0, "acpi_parse_hpet"
            )
        # io_apic_init_mappings() → ioapic_setup_resources() (arch/x86/kernel/apic/io_apic.c)
        if self.mi.nr_ioapics:
            self.mb.alloc_bootmem(
                (IOAPIC_RESOURCE_NAME_SIZE + res) * self.mi.nr_ioapics,
                self.mi.smp_cache_bytes,
                0,
                0,
                "ioapic_setup_resources",
            )
        # e820_reserve_resources() (arch/x86/kernel/e820.c)
        self.mb.alloc_bootmem(
            res * self.mi.nr_e820, self.mi.smp_cache_bytes, 0, 0, "e820_reserve_resources"
        )

    def arm64_setup_arch(self) -> None:
        # request_standard_resources() (arch/arm64/kernel/setup.c, 4.7): alloc_bootmem_low()
        # per memblock.memory region, below ARCH_LOW_ADDRESS_LIMIT = arm64_dma_phys_limit - 1
        limit = (self.mi.max_zone_pfn[0] << self.page_shift) - 1
        for _ in self.mi.memblock.memory:
            self.mb.alloc_bootmem(
                self.sizeof("struct resource"),
                ARM64_SMP_CACHE_BYTES,
                0,
                limit,
                "request_standard_resources",
            )

    # --- start_kernel() ----------------------------------------------------------------------

    def setup_command_line(self) -> None:
        # mirrors setup_command_line() (init/main.c, 4.7): saved, initcall and static copies;
        # command_line is boot_command_line on both arches (no CONFIG_CMDLINE_BOOL)
        n = len(self.mi.cmdline.encode()) + 1
        for _ in range(3):
            self.mb.virt_alloc_default(n, 0, "setup_command_line")

    def _cpu_distance(self, a: int, b: int) -> int:
        # pcpu_cpu_distance() (arch/x86/kernel/setup_percpu.c): node_distance(early_cpu_to_node())
        cpus = self.mi.cpu_to_node_at_zonelists
        na, nb = cpus[a], cpus[b]
        return self.mi.node_distance[na][nb] if self.mi.node_distance else LOCAL_DISTANCE

    def pcpu_build_alloc_info(
        self, reserved_size: int, dyn_size: int, atom_size: int, distance: bool
    ) -> tuple[PercpuLayout, list[list[int]], int]:
        # mirrors pcpu_build_alloc_info() (mm/percpu.c, 4.7); returns the layout, each group's
        # cpu_map (-1 for an unused unit) and the alloc_info block's address
        ncpu = self.mi.nr_possible_cpus
        static_size = self.mi.percpu_static_size
        size_sum = page_align(
            static_size + reserved_size + max(dyn_size, PERCPU_DYNAMIC_EARLY_SIZE), self.page_shift
        )
        dyn_size = size_sum - static_size - reserved_size
        min_unit_size = max(size_sum, PCPU_MIN_UNIT_SIZE)
        alloc_size = div_round_up(min_unit_size, atom_size) * atom_size
        page_mask = self.mi.page_size - 1
        upa = alloc_size // min_unit_size
        while alloc_size % upa or (alloc_size // upa) & page_mask:
            upa -= 1
        max_upa = upa
        group_map = [0] * ncpu
        group_cnt = [0] * max(ncpu, 1)
        nr_groups = 1
        for cpu in range(ncpu):
            group = 0
            tcpu = 0
            while tcpu < cpu:
                if (
                    group_map[tcpu] == group
                    and distance
                    and (
                        self._cpu_distance(cpu, tcpu) > LOCAL_DISTANCE
                        or self._cpu_distance(tcpu, cpu) > LOCAL_DISTANCE
                    )
                ):
                    group += 1
                    nr_groups = max(nr_groups, group + 1)
                    tcpu = 0  # goto next_group
                    continue
                tcpu += 1
            group_map[cpu] = group
            group_cnt[group] += 1
        counts = group_cnt[:nr_groups]
        upa = pcpu_units_per_alloc(alloc_size, max_upa, page_mask, counts, ncpu)
        ai = self.pcpu_alloc_alloc_info(nr_groups, sum(div_round_up(c, upa) * upa for c in counts))
        maps = pcpu_group_maps(group_map, nr_groups, upa)
        layout = PercpuLayout(static_size, reserved_size, dyn_size, alloc_size // upa, size_sum, 0)
        return layout, maps, ai

    def pcpu_alloc_alloc_info(self, nr_groups: int, nr_units: int) -> int:
        # mirrors pcpu_alloc_alloc_info() (mm/percpu.c, 4.7): groups[] then the cpu_map array
        base_size = self.sizeof("struct pcpu_alloc_info") + nr_groups * self.sizeof(
            "struct pcpu_group_info"
        )
        base_size = (base_size + 3) & ~3  # __alignof__(unsigned int)
        self.ai_size = page_align(base_size + nr_units * 4, self.page_shift)
        return self.mb.virt_alloc_default(self.ai_size, 0, "pcpu_alloc_alloc_info")

    def pcpu_fc_alloc(self, cpu: int, size: int, align: int) -> int:
        if self.x86:
            # pcpu_alloc_bootmem() (arch/x86/kernel/setup_percpu.c, 4.7): node-local from 16M
            node = self.mi.cpu_to_node_at_zonelists[cpu]
            if self.mi.config_numa and node in self.mi.online_nodes:
                return self.mb.alloc_bootmem_node(
                    node, size, align, X86_MAX_DMA_PHYS, 0, "pcpu_alloc_bootmem"
                )
            return self.mb.alloc_bootmem(size, align, X86_MAX_DMA_PHYS, 0, "pcpu_alloc_bootmem")
        # pcpu_dfl_fc_alloc() (mm/percpu.c, 4.7): from __pa(MAX_DMA_ADDRESS) = PHYS_OFFSET
        return self.mb.virt_alloc(
            size,
            align,
            self.mi.memstart_addr or 0,
            MEMBLOCK_ALLOC_ACCESSIBLE,
            NUMA_NO_NODE,
            "pcpu_dfl_fc_alloc",
        )

    def pcpu_embed_first_chunk(self) -> None:
        # mirrors pcpu_embed_first_chunk() (mm/percpu.c, 4.7), called by x86's
        # setup_per_cpu_areas() (atom PMD_SIZE, pcpu_cpu_distance) and by the generic one
        # (arm64: atom PAGE_SIZE, no distance function)
        reserved = PERCPU_MODULE_RESERVE if self.mi.config_modules else 0
        if self.x86:
            # PERCPU_FIRST_CHUNK_RESERVE = PERCPU_MODULE_RESERVE; dyn_size as the caller sets it
            dyn = PERCPU_MODULE_RESERVE * self.mi.config_modules + PERCPU_DYNAMIC_RESERVE - reserved
            atom, distance = 2 << 20, self.mi.config_numa
        else:
            dyn, atom, distance = PERCPU_DYNAMIC_RESERVE, self.mi.page_size, False
        layout, maps, ai = self.pcpu_build_alloc_info(reserved, dyn, atom, distance)
        areas_size = page_align(len(maps) * 8, self.page_shift)
        areas = self.mb.virt_alloc_default(areas_size, 0, "pcpu_embed_first_chunk")
        free = self._free_pcpu
        ptrs = []
        for cpu_map in maps:
            cpu = next(c for c in cpu_map if c >= 0)
            ptrs.append(self.pcpu_fc_alloc(cpu, len(cpu_map) * layout.unit_size, atom))
        for cpu_map, ptr in zip(maps, ptrs, strict=True):
            for c in cpu_map:
                if c < 0:
                    free(ptr, layout.unit_size)
                else:
                    free(ptr + layout.size_sum, layout.unit_size - layout.size_sum)
                ptr += layout.unit_size
        layout.base = min(ptrs)
        self.percpu = layout
        self.pcpu_setup_first_chunk(layout, len(maps))
        self.mb.free(ai, self.ai_size, "pcpu_free_alloc_info")
        self.mb.free(areas, areas_size, "pcpu_embed_first_chunk")

    def _free_pcpu(self, base: int, size: int) -> None:
        # x86's pcpu_fc_free() → free_bootmem(); the generic pcpu_dfl_fc_free() →
        # memblock_free_early(): both memblock_remove_range() on memblock.reserved
        self.mb.free(base, size, "pcpu_fc_free" if self.x86 else "pcpu_dfl_fc_free")

    def pcpu_setup_first_chunk(self, layout: PercpuLayout, nr_groups: int) -> None:
        # mirrors the memblock_virt_alloc() calls of pcpu_setup_first_chunk() (mm/percpu.c, 4.7)
        ncpu = self.mi.nr_possible_cpus
        name = "pcpu_setup_first_chunk"
        self.mb.virt_alloc_default(nr_groups * 8, 0, name)  # group_offsets
        self.mb.virt_alloc_default(nr_groups * 8, 0, name)  # group_sizes
        self.mb.virt_alloc_default(ncpu * 4, 0, name)  # unit_map
        self.mb.virt_alloc_default(ncpu * 8, 0, name)  # unit_off
        slots = max(fls(layout.unit_size) - PCPU_SLOT_BASE_SHIFT + 2, 1) + 2  # pcpu_nr_slots
        self.mb.virt_alloc_default(slots * 16, 0, name)  # pcpu_slot: struct list_head
        unit_pages = layout.unit_size >> self.page_shift
        chunk = self.sizeof("struct pcpu_chunk") + div_round_up(unit_pages, 64) * 8
        self.mb.virt_alloc_default(chunk, 0, name)  # schunk
        if layout.reserved_size:  # then the dynamic area gets its own chunk
            self.mb.virt_alloc_default(chunk, 0, name)  # dchunk

    def setup_log_buf(self) -> None:
        # setup_log_buf(0) → log_buf_add_cpu() (kernel/printk/printk.c, 4.7): a larger buffer
        # only when the per-cpu extra exceeds half of __LOG_BUF_LEN
        extra = (self.mi.nr_possible_cpus - 1) << self.mi.log_cpu_max_buf_shift
        if extra > (1 << self.mi.log_buf_shift) // 2 or early_param_last(
            self.mi.cmdline, "log_buf_len"
        ):
            raise InspectorError(
                "a reallocated printk buffer (log_buf_len=, or more than "
                f"{((1 << self.mi.log_buf_shift) // 2 >> self.mi.log_cpu_max_buf_shift) + 1} "
                "CPUs) is not modelled"
            )

    def alloc_large_system_hash(
        self,
        name: str,
        bucketsize: int,
        numentries: int,
        scale: int,
        small_shift: int | None,
        high_limit: int,
        *,
        early: bool = True,
    ) -> None:
        # mirrors alloc_large_system_hash() (mm/page_alloc.c, 4.7); ``early`` is HASH_EARLY
        # (from memblock), otherwise the table comes from vmalloc or alloc_pages_exact(), which
        # cannot fail this early in boot and leave memblock alone
        ps = self.page_shift
        log2qty = hash_log2qty(
            HashSizing(
                self.nr_kernel_pages, self.nr_all_pages, ps, self.has("hash-adaptive-scale")
            ),
            bucketsize,
            numentries,
            scale,
            small_shift=small_shift,
            high_limit=high_limit,
        )
        while True:
            size = bucketsize << log2qty
            table = (
                self.mb.virt_alloc_default(size, 0, "alloc_large_system_hash", panic=False)
                if early
                else 1
            )
            if table or size <= self.mi.page_size or log2qty <= 1:
                break
            log2qty -= 1
        if not table:
            raise BootPanic(f"Failed to allocate {name} hash table")
        self.hashes.append(HashTable(name, 1 << log2qty, size, table))
        self.log.append(self.hashes[-1].log_line(ps))

    def hash_from_param(
        self, name: str, bucket: str, param: str, scale: int, *, early: bool = False
    ) -> None:
        """A table whose size a ``param=`` of the command line may set (0: from memory)."""
        v = early_param_last(self.mi.cmdline, param)
        entries = simple_strtoull(v, 0)[0] if v else 0
        self.alloc_large_system_hash(
            name, self.sizeof(bucket), entries, scale, None, 0, early=early
        )

    def hashdist(self) -> int:
        # hashdist (mm/page_alloc.c, 4.7): HASHDIST_DEFAULT = 1 on 64-bit NUMA, 0 without NUMA;
        # "hashdist=" is a __setup() parameter, parsed before vfs_caches_init_early()
        if not self.mi.config_numa:
            return 0
        v = early_param_last(self.mi.cmdline, "hashdist")
        return simple_strtoull(v, 0)[0] if v is not None else 1

    def vfs_caches(self, *, early: bool) -> None:
        # dcache_init{,_early}() (fs/dcache.c) and inode_init{,_early}() (fs/inode.c), 4.7
        self.hash_from_param(
            "Dentry cache", "struct hlist_bl_head", "dhash_entries", 13, early=early
        )
        self.hash_from_param("Inode-cache", "struct hlist_head", "ihash_entries", 14, early=early)

    def vfs_caches_init_early(self) -> None:
        # mirrors vfs_caches_init_early() (fs/dcache.c, 4.7): HASH_EARLY tables without hashdist
        if not self.hashdist():
            self.vfs_caches(early=True)

    def swiotlb_init(self, verbose: bool) -> None:
        # mirrors swiotlb_init() and swiotlb_init_with_tbl() (lib/swiotlb.c, 4.7)
        nslabs = 0
        v = early_param_last(self.mi.cmdline, "swiotlb")
        if v and v[0].isdigit():
            digits = v.split(",", 1)[0]
            nslabs = div_round_up(int(digits, 0), IO_TLB_SEGSIZE) * IO_TLB_SEGSIZE
        if not nslabs:
            nslabs = IO_TLB_DEFAULT_SIZE >> IO_TLB_SHIFT
            nslabs = div_round_up(nslabs, IO_TLB_SEGSIZE) * IO_TLB_SEGSIZE
        ps, page = self.page_shift, self.mi.page_size
        low = self.low_address_limit()
        nbytes = nslabs << IO_TLB_SHIFT
        start = self.mb.virt_alloc(
            page_align(nbytes, ps), page, 0, low, NUMA_NO_NODE, "swiotlb_init", panic=False
        )
        if not start:
            return  # "Cannot allocate SWIOTLB buffer": no bounce buffer, nothing reserved
        if not self.mb.virt_alloc(
            page_align(IO_TLB_OVERFLOW, ps),
            page,
            0,
            low,
            NUMA_NO_NODE,
            "swiotlb_init_with_tbl",
            panic=False,
        ):
            self.mb.free(start, page_align(nbytes, ps), "swiotlb_init")
            return
        self.mb.virt_alloc_default(page_align(nslabs * 4, ps), page, "swiotlb_init_with_tbl")
        self.mb.virt_alloc_default(page_align(nslabs * 8, ps), page, "swiotlb_init_with_tbl")
        self.swiotlb = (start, start + nbytes)
        if verbose:
            self.log.append(self.swiotlb_line())

    def swiotlb_line(self) -> str:
        # swiotlb_print_info() (lib/swiotlb.c, 4.7): the buffer and its linear-map address
        assert self.swiotlb is not None
        start, end = self.swiotlb
        va = self.linear_map(start)
        return (
            f"software IO TLB [mem {start:#010x}-{end:#010x}] ({(end - start) >> 20}MB) "
            f"mapped at [{va:016x}-{va + end - start - 1:016x}]"
        )

    def low_address_limit(self) -> int:
        # ARCH_LOW_ADDRESS_LIMIT: arm64_dma_phys_limit - 1 (arch/arm64/include/asm/processor.h);
        # 0xffffffff elsewhere (include/linux/bootmem.h)
        if self.x86:
            return 0xFFFFFFFF
        return (self.mi.max_zone_pfn[0] << self.page_shift) - 1

    def linear_map(self, phys: int) -> int:
        # arm64 4.7 __phys_to_virt(): (phys - PHYS_OFFSET) | PAGE_OFFSET, VA_BITS 48 → PAGE_OFFSET
        # 0xffff800000000000; x86_64 __va(): phys + PAGE_OFFSET (0xffff880000000000, no KASLR)
        if self.x86:
            return phys + 0xFFFF880000000000
        return (phys - (self.mi.memstart_addr or 0)) | 0xFFFF800000000000

    def x86_mem_init(self) -> None:
        # mem_init() (arch/x86/mm/init_64.c, 4.7) → pci_iommu_alloc(): pci_swiotlb_detect_4gb()
        # then pci_swiotlb_init() → swiotlb_init(0), unless iommu=off / swiotlb=noforce
        if not self.mi.config_swiotlb:
            return
        iommu = early_param_last(self.mi.cmdline, "iommu") or ""
        no_iommu = "off" in iommu.split(",")
        force = "force" in (early_param_last(self.mi.cmdline, "swiotlb") or "")
        if (not no_iommu and (self.mi.max_possible_pfn or 0) > MAX_DMA32_PFN) or force:
            self.swiotlb_init(False)

    # --- the whole stretch ---------------------------------------------------------------------

    def after_free_area_init(self, zones: Sequence[tuple[int, int]]) -> None:
        """From free_area_init_nodes() to build_all_zonelists(): ``zones`` is (nid, spanned)
        for each zone free_area_init_core() initialises, in the kernel's order."""
        for nid, spanned in zones:
            if spanned:
                self.zone_wait_table_init(nid, spanned)
        if self.x86:
            self.x86_setup_arch()
        else:
            self.arm64_setup_arch()
        self.setup_command_line()
        self.pcpu_embed_first_chunk()
        self.log.insert(0, self.percpu_log_line())

    def handoff_globals(self) -> dict[str, int]:
        """schema.GLOBALS_HANDOFF as these allocations leave them (pointers in the linear map;
        a hash vmalloc()ed later under hashdist is still NULL, its shift still 0)."""
        g = {k: 0 for k in GLOBALS_HANDOFF}
        names = {
            "PID": ("pid_hash", "pidhash_shift"),
            "Dentry cache": ("dentry_hashtable", "d_hash_shift"),
            "Inode-cache": ("inode_hashtable", "i_hash_shift"),
        }
        g["pidhash_shift"] = PIDHASH_SHIFT
        for h in self.hashes:
            ptr, shift = names[h.name]
            g[ptr] = self.linear_map(h.base)
            g[shift] = h.entries.bit_length() - 1
        if self.percpu is not None:
            g["pcpu_base_addr"] = self.linear_map(self.percpu.base)
            g["pcpu_unit_size"] = self.percpu.unit_size
        if self.swiotlb is not None:
            g["io_tlb_start"], g["io_tlb_end"] = self.swiotlb
        return g

    def percpu_log_line(self) -> str:
        # pr_info() in pcpu_embed_first_chunk() (mm/percpu.c, 4.7)
        p = self.percpu
        assert p is not None
        return (
            f"percpu: Embedded {p.size_sum >> self.page_shift} pages/cpu "
            f"@{self.linear_map(p.base):016x} s{p.static_size} r{p.reserved_size} "
            f"d{p.dyn_size} u{p.unit_size}"
        )

    def after_zonelists(self) -> None:
        """From build_all_zonelists() to free_all_bootmem() entry."""
        self.setup_log_buf()
        # pidhash_init() (kernel/pid.c, 4.7)
        self.alloc_large_system_hash(
            "PID", self.sizeof("struct hlist_head"), 0, 18, PIDHASH_SHIFT, PIDHASH_MAX
        )
        self.vfs_caches_init_early()
        if self.x86:
            self.x86_mem_init()
        else:
            # mem_init() (arch/arm64/mm/init.c, 4.7): swiotlb_init(1) first
            self.swiotlb_init(True)
        if not self.x86 and not self.mi.sparsemem_vmemmap:
            raise InspectorError(
                "arm64 free_unused_memmap() (SPARSEMEM without VMEMMAP) is not modelled"
            )
