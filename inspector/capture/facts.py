"""The facts about one build that DWARF does not carry (page size, section size, pageblock
order and bit layout), read once from the version, the arch and the build's ``.config``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from inspector.errors import InspectorError

# SECTION_SIZE_BITS is a macro, absent from DWARF: arch/x86/include/asm/sparsemem.h (27 on
# x86_64, both versions); arch/arm64/include/asm/sparsemem.h (30 in 4.7; 27 with 4K pages since
# commit f0b13ee23241 "arm64/sparsemem: reduce SECTION_SIZE_BITS", 5.12).
_SECTION_SIZE_BITS = {
    ("4.7", "x86_64"): 27,
    ("6.12", "x86_64"): 27,
    ("4.7", "arm64"): 30,
    ("6.12", "arm64"): 27,
}


@dataclass(frozen=True)
class KernelFacts:
    """What readers need beyond DWARF, from the version, the arch and the build's .config."""

    version: str
    arch: str
    page_size: int
    section_size_bits: int
    pageblock_order: int
    nr_pageblock_bits: int
    # 4.7 numbers pageblock bits from the top of each word (``word >> (BITS_PER_LONG - bitidx
    # - 1)``); 6.12 from the bottom (``word >> bitidx``).
    pageblock_bits_msb_first: bool

    @property
    def page_shift(self) -> int:
        return self.page_size.bit_length() - 1

    @property
    def pfn_section_shift(self) -> int:
        return self.section_size_bits - self.page_shift

    @property
    def usemap_bytes(self) -> int:
        """usemap_size(): BITS_TO_LONGS(SECTION_BLOCKFLAGS_BITS) * sizeof(unsigned long)."""
        bits = (1 << (self.pfn_section_shift - self.pageblock_order)) * self.nr_pageblock_bits
        return -(-bits // 64) * 8


def read_config(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.startswith("CONFIG_") and "=" in line:
            k, _, v = line.partition("=")
            out[k] = v.strip('"')
    return out


def kernel_facts(
    version: str, arch: str, config: Path, nr_orders: int, nr_pageblock_bits: int
) -> KernelFacts:
    """``nr_orders`` is len(zone->free_area) (MAX_ORDER in 4.7, NR_PAGE_ORDERS in 6.12)."""
    cfg = read_config(config)
    if "CONFIG_SPARSEMEM" not in cfg:
        raise InspectorError(f"{config}: captures need CONFIG_SPARSEMEM (pageblock flags)")
    page_size = 4096
    if arch == "arm64":
        for size, opt in ((16384, "CONFIG_ARM64_16K_PAGES"), (65536, "CONFIG_ARM64_64K_PAGES")):
            if opt in cfg:
                page_size = size
    if page_size != 4096:
        raise InspectorError(f"{config}: only 4 KiB pages are supported")
    # include/linux/pageblock-flags.h: HUGETLB_PAGE_ORDER (2 MiB pages: 9) with hugetlb pages,
    # else the largest buddy order (4.7: MAX_ORDER - 1; 6.12: MAX_PAGE_ORDER).
    pageblock_order = min(9, nr_orders - 1) if "CONFIG_HUGETLB_PAGE" in cfg else nr_orders - 1
    return KernelFacts(
        version=version,
        arch=arch,
        page_size=page_size,
        section_size_bits=_SECTION_SIZE_BITS[(version, arch)],
        pageblock_order=pageblock_order,
        nr_pageblock_bits=nr_pageblock_bits,
        pageblock_bits_msb_first=version == "4.7",
    )
