"""Linux 6.12: the first per-cpu chunk, setup_per_cpu_areas() (x86:
arch/x86/kernel/setup_percpu.c; arm64: drivers/base/arch_numa.c) → pcpu_embed_first_chunk(),
pcpu_build_alloc_info(), pcpu_setup_first_chunk() and pcpu_alloc_first_chunk() (mm/percpu.c):
the units, the alloc_info block and the chunk's bitmaps, all from memblock.
"""

from __future__ import annotations

from inspector.errors import InspectorError
from inspector.model.common import NUMA_NO_NODE, div_round_up, early_param_last, page_align
from inspector.model.linux.early import PMD_SHIFT, EarlyState612

# unchanged since 4.7: the percpu and x86 constants and the percpu layout record
from inspector.model.linux.start_kernel_v4 import (
    LOCAL_DISTANCE,
    PCPU_MIN_UNIT_SIZE,
    PCPU_SLOT_BASE_SHIFT,
    X86_MAX_DMA_PHYS,
    PercpuLayout,
    pcpu_group_maps,
    pcpu_units_per_alloc,
)
from inspector.model.memblock import MEMBLOCK_ALLOC_ACCESSIBLE

# include/linux/percpu.h, mm/percpu.c (6.12)
PCPU_MIN_ALLOC_SIZE = 4


class Percpu612(EarlyState612):
    """setup_per_cpu_areas(): the first chunk, embedded."""

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
        upa = pcpu_units_per_alloc(alloc_size, max_upa, page_mask, group_cnt, ncpu)
        nr_units = sum(div_round_up(cnt, upa) * upa for cnt in group_cnt)
        ai, ai_size = self.pcpu_alloc_alloc_info(len(group_cnt), nr_units)
        maps = pcpu_group_maps(group_map, len(group_cnt), upa)
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
        if self.x86 and self.mi.config_cpumask_offstack:
            # then setup_node_to_cpumask_map() (arch/x86/mm/numa.c) and
            # setup_cpu_local_masks() (arch/x86/kernel/smpboot.c): with CONFIG_CPUMASK_OFFSTACK
            # each alloc_bootmem_cpumask_var() is a memblock_alloc() of cpumask_size(),
            # BITS_TO_LONGS(nr_cpu_ids) longs; four local masks before change
            # "x86-cpu-local-masks-one"
            size = -(-self.mi.nr_possible_cpus // 64) * 8
            nodes = max(self.m.possible_nodes, default=0) + 1 if self.mi.config_numa else 0
            local = 1 if self.m.has("x86-cpu-local-masks-one") else 4
            for _ in range(nodes + local):
                self.memblock_alloc(size, self.smp_cache_bytes, "alloc_bootmem_cpumask_var")
