"""Linux 6.12: the default CMA area of a kernel built with CONFIG_DMA_CMA (a distribution's:
Debian's arm64 reserves CMA_SIZE_MBYTES, 64 MiB), reserved from memblock right after
free_area_init() (dma_contiguous_reserve() in arm64's bootmem_init(), kernel/dma/contiguous.c;
cma_declare_contiguous_nid() in mm/cma.c), so the hand-off does not free it, then given to the
buddy allocator as MIGRATE_CMA pageblocks by the core initcall cma_init_reserved_areas()
(mm/cma.c) before the watermarks are set. x86's call comes before free_area_init() (stop 1
holds it already).
"""

from __future__ import annotations

from inspector.errors import InspectorError
from inspector.model.common import NUMA_NO_NODE, early_param_last, memparse
from inspector.model.linux.early import EarlyState612
from inspector.model.linux.state import BootState
from inspector.model.memblock import MemblockCall

MIGRATE_CMA = 4  # enum migratetype with CONFIG_CMA: after MIGRATE_PCPTYPES / HIGHATOMIC
SZ_4G = 1 << 32


class Cma612(EarlyState612):
    """dma_contiguous_reserve(): the default area, if the build and the command line ask."""

    def dma_contiguous_reserve(self, limit: int) -> None:
        # mirrors dma_contiguous_reserve() (kernel/dma/contiguous.c, 6.12) with
        # CONFIG_CMA_SIZE_SEL_MBYTES; "cma=SIZE" replaces the size (cma=SIZE@BASE-LIMIT and
        # the percentage selections are not modelled)
        size = self.mi.cma_size_mbytes << 20 if self.mi.config_dma_cma else 0
        if (v := early_param_last(self.mi.cmdline, "cma")) is not None:
            size, rest = memparse(v)
            if rest:
                raise InspectorError(f"cma={v}: a CMA base or limit is not modelled")
        if size:
            self.cma_declare_contiguous(size, limit)

    def cma_declare_contiguous(self, size: int, limit: int) -> None:
        # mirrors cma_declare_contiguous_nid(0, size, limit, 0, 0, false, ...) (mm/cma.c,
        # 6.12): CMA_MIN_ALIGNMENT_BYTES is a pageblock; bottom-up from 4 GiB first when memory
        # reaches 4 GiB + size; top-down below the limit otherwise (no highmem on 64-bit)
        align = self.page_size << self.m.geo.pageblock_order
        size = -(-size // align) * align
        limit &= ~(align - 1)
        end = max(r.base + r.size for r in self.mb.memory)  # memblock_end_of_DRAM()
        if limit == 0 or limit > end:
            limit = end
        addr = 0
        if end >= SZ_4G + size:
            self.mb.bottom_up = True
            addr = self.mb.alloc_range_nid(size, align, SZ_4G, limit, NUMA_NO_NODE, True)
            self.mb.bottom_up = False
        if not addr:
            addr = self.mb.alloc_range_nid(size, align, 0, limit, NUMA_NO_NODE, True)
        self.mb.calls.append(
            MemblockCall("alloc", "cma_declare_contiguous_nid", size, align, NUMA_NO_NODE, addr)
        )
        if not addr:
            raise InspectorError(
                f"cma: failed to reserve {size >> 20} MiB: the kernel goes on "
                "without CMA, which is not modelled"
            )
        self.m.cma_areas.append((addr, addr + size))


def cma_init_reserved_areas(m: BootState) -> None:
    """cma_init_reserved_areas() (mm/cma.c, 6.12), a core_initcall: each pageblock of each
    area becomes MIGRATE_CMA (init_cma_reserved_pageblock()) and is freed to the buddy
    allocator with its pages added to the zone's managed pages and totalram_pages
    (adjust_managed_page_count()). The counts are the model's; the free lists after the
    hand-off are not compared, so the MIGRATE_CMA lists are not kept."""
    from inspector.model.linux.memmap import page_zone

    ps, order = m.geo.page_shift, m.geo.pageblock_order
    nr = 1 << order
    for start, end in m.cma_areas:
        for pfn in range(start >> ps, end >> ps, nr):
            m.pageblock_mt[pfn >> order] = MIGRATE_CMA
            zone = m.zone(*page_zone(m, pfn))
            zone.managed_pages += nr
            zone.nr_free_pages += nr
            m.totalram_pages += nr
