"""The ``Memory:`` line: mem_init_print_info()'s first numbers, nr_free_pages() and
get_num_physpages(), printed right after the arch's mem_init() (init/main.c mm_init()) until
change "memory-line-late" (6.11) moved it after the deferred struct pages."""

from __future__ import annotations

from inspector.model.linux.state import ULONG_MASK, BootState

# arch/x86/include/asm/pgtable_64_types.h (6.1), 4-level paging, no KMSAN: the vmalloc area is
# VMALLOC_SIZE_TB_L4 TiB, each top-level entry maps 1 << PGDIR_SHIFT bytes
VMALLOC_SIZE_TB_L4 = 32
PGDIR_SHIFT_L4 = 39


def preallocate_vmalloc_pages(m: BootState) -> int:
    """Pages preallocate_vmalloc_pages() (arch/x86/mm/init_64.c, 6.1) takes from the buddy
    allocator at the end of x86's mem_init() since change "x86-vmalloc-preallocated": a pud
    page for each top-level entry from VMALLOC_START to VMEMORY_END, none of which is populated
    yet. With the boot pageset (high 0, batch 1) each is one page off the free count. arm64's
    mem_init() allocates nothing after memblock_free_all()."""
    if m.arch.name != "x86_64" or not m.has("x86-vmalloc-preallocated"):
        return 0
    return (VMALLOC_SIZE_TB_L4 << 40) >> PGDIR_SHIFT_L4


def mem_init_print_info(m: BootState) -> None:
    # mirrors the first numbers of mem_init_print_info() (mm/page_alloc.c): nr_free_pages()
    # and get_num_physpages(), right after mem_init()
    kib = m.geo.page_shift - 10
    free = sum(z.nr_free_pages for z in m.all_zones()) - preallocate_vmalloc_pages(m)
    physpages = sum(p.node_present_pages for p in m.pgdats.values())  # get_num_physpages()
    m.log.append(
        f"Memory: {(free << kib) & ULONG_MASK}K/{(physpages << kib) & ULONG_MASK}K available"
    )
