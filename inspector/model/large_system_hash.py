"""alloc_large_system_hash()'s sizing and its boot-log line, one function for every release:
how many buckets a table gets from ``nr_kernel_pages``/``nr_all_pages`` (mm/page_alloc.c, from
6.3 mm/mm_init.c), before the allocation itself (which the models do on their own memblock).

Release branches, each a change record (inspector.kernel_changes):
- ``hash-adaptive-scale``: the scale grows by one for every fourfold of memory past 64 GiB;
- ``hash-alloc-type-printed``: the line ends in ``, linear`` / ``, vmalloc``
  (``, vmalloc hugepage`` with ``hash-vmalloc-huge``);
- ``hash-order-get-order``: the order printed as get_order(size).
"""

from __future__ import annotations

from dataclasses import dataclass

from inspector.model.common import div_round_up, roundup_pow_of_two

# ADAPT_SCALE_BASE (64 GiB) and ADAPT_SCALE_SHIFT (mm/page_alloc.c, 4.13 to 6.12)
ADAPT_SCALE_BASE = 64 << 30
ADAPT_SCALE_SHIFT = 2


def get_order(size: int, page_shift: int) -> int:
    """get_order() (include/asm-generic/getorder.h)."""
    return max(((size - 1) >> page_shift).bit_length(), 0) if size else 0


@dataclass(frozen=True)
class HashSizing:
    """What alloc_large_system_hash() reads besides its arguments."""

    nr_kernel_pages: int
    nr_all_pages: int
    page_shift: int
    adaptive: bool  # change "hash-adaptive-scale"


def hash_log2qty(
    s: HashSizing,
    bucketsize: int,
    numentries: int,
    scale: int,
    *,
    small_shift: int | None = None,
    low_limit: int = 0,
    high_limit: int = 0,
) -> int:
    """ilog2 of the entries alloc_large_system_hash() asks for first (mm/page_alloc.c):
    ``numentries`` 0 sizes the table from memory, ``small_shift`` is HASH_SMALL's
    ``*_hash_shift`` (pidhash_init(), until the PID hash went in 4.15)."""
    ps = s.page_shift
    page_size = 1 << ps
    if not numentries:
        # round applicable memory size up to nearest megabyte
        numentries = s.nr_kernel_pages
        if ps < 20:
            mb_pages = (1 << 20) >> ps
            numentries = div_round_up(numentries, mb_pages) * mb_pages
        if s.adaptive:
            # 9017217b6f45 ("mm: adaptive hash table scaling"): past 64 GiB, one more
            # step of scale for every fourfold of memory
            adapt = ADAPT_SCALE_BASE >> ps
            while adapt < numentries:
                scale += 1
                adapt <<= ADAPT_SCALE_SHIFT
        # limit to 1 bucket per 2^scale bytes of low memory
        if scale > ps:
            numentries >>= scale - ps
        else:
            numentries <<= ps - scale
        if small_shift is not None:  # HASH_SMALL
            if not numentries >> small_shift:
                numentries = 1 << small_shift
        elif numentries * bucketsize < page_size:
            # make sure we've got at least a page's worth of buckets
            numentries = page_size // bucketsize
    numentries = roundup_pow_of_two(numentries)
    mx = high_limit
    if mx == 0:
        # limit allocation size to 1/16 total memory by default
        mx = ((s.nr_all_pages << ps) >> 4) // bucketsize
    mx = min(mx, 0x80000000)
    numentries = max(numentries, low_limit)
    numentries = min(numentries, mx)
    return max(numentries.bit_length() - 1, 0)  # ilog2(); 0 entries only on toy layouts


def hash_line(
    name: str,
    entries: int,
    size: int,
    page_shift: int,
    *,
    how: str | None,
    by_get_order: bool,
) -> str:
    """pr_info() in alloc_large_system_hash(): ``how`` is "linear", "vmalloc" or "vmalloc
    hugepage" where the release prints it (change "hash-alloc-type-printed"), else None; the
    order is get_order(size) with change "hash-order-get-order", before it ilog2(size) -
    PAGE_SHIFT (negative for a table under a page)."""
    order = get_order(size, page_shift) if by_get_order else size.bit_length() - 1 - page_shift
    tail = f", {how}" if how else ""
    return f"{name} hash table entries: {entries} (order: {order}, {size} bytes{tail})"
