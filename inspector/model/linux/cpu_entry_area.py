"""Linux 6.12, x86_64: trap_init() → setup_cpu_entry_areas() (arch/x86/mm/cpu_entry_area.c),
whose page tables come from memblock through spp_getpage() (arch/x86/mm/init_64.c).
"""

from __future__ import annotations

from inspector.model.linux.early import PMD_SHIFT, EarlyState612

# x86_64, 4-level paging without KASLR: CPU_ENTRY_AREA_BASE (-4UL << P4D_SHIFT), PUD_SIZE
CPU_ENTRY_AREA_BASE = 0xFFFFFE0000000000
PUD_SHIFT = 30


class CpuEntryArea612(EarlyState612):
    """trap_init()'s cpu_entry_area page tables (x86_64)."""

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
