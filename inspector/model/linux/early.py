"""Linux 6.12: what the early allocations between free_area_init() and memblock_free_all()
share: the state they leave (the hash tables, the first per-cpu chunk, the swiotlb buffer, the
log lines), memblock_alloc() (include/linux/memblock.h) on the model's ``m.mb``, the model input
sizeof(), and the linear map (x86_64 __va(), arm64 __phys_to_virt()). Each piece of kernel code
that allocates is a module of its own, a subclass of :class:`EarlyState612`; ``start_kernel``
runs them in start_kernel()'s order.
"""

from __future__ import annotations

from dataclasses import dataclass

from inspector.errors import InspectorError
from inspector.model.common import NUMA_NO_NODE
from inspector.model.large_system_hash import hash_line

# unchanged since 4.7: the percpu layout record
from inspector.model.linux.start_kernel_v4 import PercpuLayout
from inspector.model.linux.state import BootState
from inspector.model.memblock import MEMBLOCK_ALLOC_ACCESSIBLE

# x86_64, 4-level paging without KASLR: PAGE_OFFSET (__PAGE_OFFSET_BASE_L4), PMD_SIZE
X86_PAGE_OFFSET = 0xFFFF888000000000
PMD_SHIFT = 21


@dataclass
class HashTable:
    """One alloc_large_system_hash() call, as its boot-log line reports it."""

    name: str
    entries: int
    size: int
    base: int  # physical address from memblock; 0 when not allocated from memblock
    how: str  # "linear", "vmalloc" or "vmalloc hugepage"

    def log_line(self, page_shift: int, *, by_get_order: bool = True) -> str:
        # pr_info() in alloc_large_system_hash() (mm/mm_init.c, 6.12): the order as
        # get_order(size) since change "hash-order-get-order", before as ilog2(size) -
        # PAGE_SHIFT (negative for a table under a page)
        return hash_line(
            self.name,
            self.entries,
            self.size,
            page_shift,
            how=self.how,
            by_get_order=by_get_order,
        )


class EarlyState612:
    """The memblock allocations of one 6.12 boot between free_area_init() and
    memblock_free_all(), on ``m.mb``: the state every step shares."""

    def __init__(self, m: BootState) -> None:
        self.m = m
        self.mi = m.full_inputs()
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
