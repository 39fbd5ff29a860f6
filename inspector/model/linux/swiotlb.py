"""Linux 6.12: the swiotlb bounce buffer (kernel/dma/swiotlb.c): the swiotlb= early_param
(setup_io_tlb_npages()), and swiotlb_init() from mm_core_init() → mem_init() (x86:
arch/x86/mm/init_64.c and arch/x86/kernel/pci-dma.c; arm64: arch/arm64/mm/init.c), with its
slots and areas.
"""

from __future__ import annotations

from inspector.model.common import (
    NUMA_NO_NODE,
    div_round_up,
    early_param_last,
    page_align,
    roundup_pow_of_two,
    simple_strtoull,
)
from inspector.model.linux.early import EarlyState612

# unchanged since 4.7: the swiotlb and x86 constants
from inspector.model.linux.start_kernel_v4 import (
    IO_TLB_DEFAULT_SIZE,
    IO_TLB_SEGSIZE,
    IO_TLB_SHIFT,
    MAX_DMA32_PFN,
)

# kernel/dma/swiotlb.c, include/linux/swiotlb.h (6.12)
IO_TLB_MIN_SLABS = (1 << 20) >> IO_TLB_SHIFT


def is_power_of_2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


class Swiotlb612(EarlyState612):
    """The swiotlb= parameter and swiotlb_init() from mem_init()."""

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
