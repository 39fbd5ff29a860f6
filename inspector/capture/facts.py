"""The facts about one build that DWARF does not carry (page size, section size, pageblock
order and bit layout), read once from the version, the arch and the build's ``.config``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from inspector import decode
from inspector.arch import get_arch
from inspector.errors import InspectorError
from inspector.kernel.config import read_config
from inspector.kernel_changes import landed


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
        return decode.usemap_bytes(
            self.pfn_section_shift, self.pageblock_order, self.nr_pageblock_bits
        )


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
    pageblock_order = decode.pageblock_order(version, nr_orders, cfg)
    return KernelFacts(
        version=version,
        arch=arch,
        page_size=page_size,
        section_size_bits=get_arch(arch).section_size_bits(version),
        pageblock_order=pageblock_order,
        nr_pageblock_bits=nr_pageblock_bits,
        pageblock_bits_msb_first="pageblock-bits-lsb-first" not in landed(version),
    )
