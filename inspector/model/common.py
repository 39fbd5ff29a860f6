"""Arithmetic shared by the per-version models: pfns, memblock walks, pageblocks, the command line.

Every helper is named after the kernel symbol it re-expresses (Linux 4.7 and 6.12 agree on all of
them) and cites where that symbol lives. Nothing here knows about zones or nodes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from inspector.schema import Memblock, MemblockRegion

# include/linux/memblock.h: enum memblock_flags
MEMBLOCK_NONE = 0x0
MEMBLOCK_HOTPLUG = 0x1
MEMBLOCK_MIRROR = 0x2
MEMBLOCK_NOMAP = 0x4

NUMA_NO_NODE = -1
ULLONG_MAX = (1 << 64) - 1


@dataclass(frozen=True)
class PageGeometry:
    """The compile-time constants of one kernel build that the arithmetic needs."""

    page_shift: int = 12
    max_order: int = 11
    pageblock_order: int = 10
    sizeof_struct_page: int = 64

    @property
    def page_size(self) -> int:
        return 1 << self.page_shift

    @property
    def max_order_nr_pages(self) -> int:
        # MAX_ORDER_NR_PAGES (include/linux/mmzone.h)
        return 1 << (self.max_order - 1)

    @property
    def pageblock_nr_pages(self) -> int:
        # pageblock_nr_pages (include/linux/pageblock-flags.h)
        return 1 << self.pageblock_order


# --- pfn and size helpers (include/linux/pfn.h, include/linux/kernel.h) -------------------------


def pfn_up(addr: int, page_shift: int = 12) -> int:
    """PFN_UP(): the first whole page at or above ``addr``."""
    return (addr + (1 << page_shift) - 1) >> page_shift


def pfn_down(addr: int, page_shift: int = 12) -> int:
    """PFN_DOWN(): the page containing ``addr``."""
    return addr >> page_shift


def pfn_phys(pfn: int, page_shift: int = 12) -> int:
    """PFN_PHYS()."""
    return pfn << page_shift


def page_align(size: int, page_shift: int = 12) -> int:
    """PAGE_ALIGN()."""
    mask = (1 << page_shift) - 1
    return (size + mask) & ~mask


def roundup(x: int, y: int) -> int:
    """roundup() (include/linux/kernel.h): the next multiple of ``y`` (any ``y``)."""
    return ((x + y - 1) // y) * y


def clamp(val: int, lo: int, hi: int) -> int:
    """clamp() (include/linux/kernel.h)."""
    return min(max(val, lo), hi)


def ffs0(x: int) -> int:
    """__ffs(): index of the lowest set bit; the kernel leaves __ffs(0) undefined, we say 64."""
    if x == 0:
        return 64
    return (x & -x).bit_length() - 1


def fls(x: int) -> int:
    """fls(): the 1-based index of the highest set bit, 0 for 0."""
    return x.bit_length()


def roundup_pow_of_two(n: int) -> int:
    return 1 << (n - 1).bit_length() if n > 1 else 1


def div_round_up(n: int, d: int) -> int:
    return (n + d - 1) // d


def rounddown_pow_of_two(n: int) -> int:
    """rounddown_pow_of_two() (include/linux/log2.h); n must be > 0."""
    return 1 << (n.bit_length() - 1)


def int_sqrt(x: int) -> int:
    """int_sqrt() (lib/int_sqrt.c): floor of the square root."""
    return math.isqrt(x) if x > 0 else 0


def mult_frac(x: int, numer: int, denom: int) -> int:
    """mult_frac() (include/linux/kernel.h): x * numer / denom without overflowing."""
    quot = x // denom
    rem = x % denom
    return quot * numer + (rem * numer) // denom


# --- the command line (lib/cmdline.c, init/main.c) ----------------------------------------------


def simple_strtoull(s: str, base: int = 0) -> tuple[int, str]:
    """simple_strtoull() (lib/vsprintf.c): parse a leading number, return it and the rest."""
    i = 0
    if base == 0:
        if s[:2].lower() == "0x" and len(s) > 2 and s[2] in "0123456789abcdefABCDEF":
            base, i = 16, 2
        elif s[:1] == "0":
            base = 8
        else:
            base = 10
    value = 0
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"[:base]
    while i < len(s) and s[i].lower() in digits:
        value = value * base + digits.index(s[i].lower())
        i += 1
    return value, s[i:]


def memparse(s: str) -> tuple[int, str]:
    """memparse() (lib/cmdline.c): a number with an optional K/M/G/T/P/E suffix."""
    value, rest = simple_strtoull(s, 0)
    shifts = {"k": 10, "m": 20, "g": 30, "t": 40, "p": 50, "e": 60}
    if rest[:1].lower() in shifts:
        value <<= shifts[rest[0].lower()]
        rest = rest[1:]
    return value & ULLONG_MAX, rest


def early_params(cmdline: str) -> list[tuple[str, str | None]]:
    """The ``name[=value]`` words of a command line in order (parse_args(), kernel/params.c).

    Quoting is honoured the way next_arg() does it: double quotes group a value with spaces.
    """
    out: list[tuple[str, str | None]] = []
    word = ""
    in_quote = False
    words: list[str] = []
    for ch in cmdline:
        if ch == '"':
            in_quote = not in_quote
            continue
        if ch.isspace() and not in_quote:
            if word:
                words.append(word)
            word = ""
            continue
        word += ch
    if word:
        words.append(word)
    for w in words:
        if w == "--":
            break
        name, eq, value = w.partition("=")
        out.append((name, value if eq else None))
    return out


def early_param_last(cmdline: str, name: str) -> str | None:
    """The value of the last ``name=`` on the command line: each early_param() call overwrites."""
    value: str | None = None
    for n, v in early_params(cmdline):
        if n.replace("-", "_") == name.replace("-", "_") and v is not None:
            value = v
    return value


# --- memblock walks (mm/memblock.c) --------------------------------------------------------------


def region_end(r: MemblockRegion) -> int:
    return r.base + r.size


def for_each_mem_pfn_range(
    memblock: Memblock, nid: int | None = None, page_shift: int = 12
) -> Iterator[tuple[int, int, int]]:
    """for_each_mem_pfn_range(): (start_pfn, end_pfn, nid) per memory region (__next_mem_pfn_range).

    ``nid=None`` stands for MAX_NUMNODES (every node). Regions with no whole page are skipped.
    """
    for r in memblock.memory:
        start = pfn_up(r.base, page_shift)
        end = pfn_down(region_end(r), page_shift)
        if start >= end:
            continue
        if nid is None or nid == r.nid:
            yield start, end, r.nid


def for_each_free_mem_range(
    memblock: Memblock, nid: int = NUMA_NO_NODE, flags: int = MEMBLOCK_NONE
) -> Iterator[tuple[int, int, int]]:
    """for_each_free_mem_range() (__next_mem_range()): memory minus reserved, in bytes.

    Like the kernel, each memory region is walked against the gaps between reserved regions, so a
    free range never crosses a memory-region boundary; NOMAP regions are skipped unless asked for.
    """
    reserved = sorted(memblock.reserved, key=lambda r: r.base)
    # gaps between reserved regions: [prev_end, next_base) with a final one up to ULLONG_MAX
    gaps: list[tuple[int, int]] = []
    prev_end = 0
    for r in reserved:
        gaps.append((prev_end, r.base))
        prev_end = r.base + r.size
    gaps.append((prev_end, ULLONG_MAX))
    for m in memblock.memory:
        if nid != NUMA_NO_NODE and nid != m.nid:
            continue
        if flags & MEMBLOCK_MIRROR and not m.flags & MEMBLOCK_MIRROR:
            continue
        if not flags & MEMBLOCK_NOMAP and m.flags & MEMBLOCK_NOMAP:
            continue
        m_start, m_end = m.base, region_end(m)
        for r_start, r_end in gaps:
            if r_start >= m_end:
                break
            if m_start < r_end:
                yield max(m_start, r_start), min(m_end, r_end), m.nid


def memblock_find_dma_reserve(memblock: Memblock, max_dma_pfn: int, page_shift: int = 12) -> int:
    """memblock_find_dma_reserve() (arch/x86/kernel/e820.c, 4.7): pages below MAX_DMA_PFN that
    are memory but not free in ``memblock``."""
    nr_pages = 0
    for start, end, _ in for_each_mem_pfn_range(memblock, None, page_shift):
        nr_pages += min(end, max_dma_pfn) - min(start, max_dma_pfn)
    nr_free = 0
    for start, end, _ in for_each_free_mem_range(memblock):
        s = min(pfn_up(start, page_shift), max_dma_pfn)
        e = min(pfn_down(end, page_shift), max_dma_pfn)
        if s < e:
            nr_free += e - s
    return nr_pages - nr_free


def memblock_start_of_dram(memblock: Memblock) -> int:
    """memblock_start_of_DRAM() (mm/memblock.c)."""
    return min(r.base for r in memblock.memory)


def memblock_end_of_dram(memblock: Memblock) -> int:
    """memblock_end_of_DRAM() (mm/memblock.c)."""
    return max(region_end(r) for r in memblock.memory)


def memblock_search_pfn_nid(memblock: Memblock, pfn: int, page_shift: int = 12) -> int:
    """memblock_search_pfn_nid() (mm/memblock.c): the nid of the region holding ``pfn``, or -1."""
    addr = pfn_phys(pfn, page_shift)
    for r in memblock.memory:
        if r.base <= addr < region_end(r):
            return r.nid
    return -1


def memblock_is_map_memory(memblock: Memblock, addr: int) -> bool:
    """memblock_is_map_memory() (mm/memblock.c): in a memory region that is not NOMAP."""
    for r in memblock.memory:
        if r.base <= addr < region_end(r):
            return not r.flags & MEMBLOCK_NOMAP
    return False


# --- pageblocks (include/linux/pageblock-flags.h, mm/page_alloc.c) --------------------------------


def pageblock_range(zone_start_pfn: int, spanned_pages: int, pageblock_order: int) -> range:
    """The indexes (pfn >> pageblock_order) of every pageblock a zone's span touches."""
    if spanned_pages == 0:
        return range(0)
    first = zone_start_pfn >> pageblock_order
    last = (zone_start_pfn + spanned_pages - 1) >> pageblock_order
    return range(first, last + 1)


def find_buddy_index(page_idx: int, order: int) -> int:
    """__find_buddy_index() (mm/internal.h)."""
    return page_idx ^ (1 << order)


NR_PAGEBLOCK_BITS = 4  # enum pageblock_bits (include/linux/pageblock-flags.h): 3 migrate + skip


def usemap_size(zone_start_pfn: int, zonesize: int, pageblock_order: int) -> int:
    """usemap_size() for !CONFIG_SPARSEMEM (mm/page_alloc.c): bytes of zone->pageblock_flags.

    With SPARSEMEM (both builds here) the zone has no such bitmap: the flags live per section,
    see sparse_usemap_size().
    """
    nr = 1 << pageblock_order
    zonesize += zone_start_pfn & (nr - 1)
    bits = (roundup(zonesize, nr) >> pageblock_order) * NR_PAGEBLOCK_BITS
    return roundup(bits, 64) // 8


def sparse_usemap_size(section_size_bits: int, page_shift: int, pageblock_order: int) -> int:
    """usemap_size() of mm/sparse.c: BITS_TO_LONGS(SECTION_BLOCKFLAGS_BITS) * sizeof(long)."""
    bits = (1 << (section_size_bits - page_shift - pageblock_order)) * NR_PAGEBLOCK_BITS
    return roundup(bits, 64) // 8
