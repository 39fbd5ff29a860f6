"""The memblock allocator of mm/memblock.c and mm/nobootmem.c (Linux 4.7; 6.12's
memblock_alloc_try_nid() path too), region by region.

A :class:`MemblockState` starts from the memblock captured at stop 1 and replays every
reservation, allocation and free the kernel makes before it hands memory to the buddy allocator,
so the hand-off starts from a *predicted* memblock. Each call is recorded (what asked, how much,
where it landed) so a report can show the allocations in order and compare them with the
kernel's own ``memblock=debug`` trace.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass

from inspector.errors import InspectorError
from inspector.model.common import MEMBLOCK_MIRROR, MEMBLOCK_NOMAP, NUMA_NO_NODE, ULLONG_MAX
from inspector.schema import Memblock, MemblockRegion

# include/linux/memblock.h / mm/memblock.c (4.7)
INIT_MEMBLOCK_REGIONS = 128
MEMBLOCK_ALLOC_ACCESSIBLE = 0
MEMBLOCK_ALLOC_ANYWHERE = ULLONG_MAX


class BootPanic(InspectorError):
    """An allocation the kernel cannot do without failed: that boot panics (the layout cannot
    boot, so there is nothing to predict)."""


def round_down(x: int, align: int) -> int:
    """round_down() for a power-of-two ``align`` (include/linux/kernel.h)."""
    return x & ~(align - 1)


@dataclass(frozen=True)
class MemblockCall:
    """One reservation, allocation or free, in the kernel's order."""

    op: str  # "alloc" | "free"
    caller: str  # the kernel function that asked, as memblock=debug names the path
    size: int
    align: int
    nid: int
    base: int  # where it landed (alloc) or what was given back (free); 0 = failed


class MemblockState:
    """``struct memblock`` (mm/memblock.c, 4.7): the memory and reserved arrays, mutable.

    ``reserve_nid`` is what memblock_reserve() stamps on a new reserved region (MAX_NUMNODES
    with CONFIG_HAVE_MEMBLOCK_NODE_MAP, else regions carry no node and read as 0);
    ``current_limit`` is memblock.current_limit; ``smp_cache_bytes`` is SMP_CACHE_BYTES;
    ``low_limit`` is BOOTMEM_LOW_LIMIT (__pa(MAX_DMA_ADDRESS)).
    """

    def __init__(
        self,
        memblock: Memblock,
        *,
        reserve_nid: int,
        current_limit: int,
        smp_cache_bytes: int,
        low_limit: int,
        page_size: int = 4096,
    ) -> None:
        self.memory = [copy.copy(r) for r in memblock.memory]
        self.reserved = [copy.copy(r) for r in memblock.reserved]
        self.reserve_nid = reserve_nid
        self.bottom_up = False  # memblock_set_bottom_up()
        self.current_limit = current_limit
        self.smp_cache_bytes = smp_cache_bytes
        self.low_limit = low_limit
        self.page_size = page_size
        self.calls: list[MemblockCall] = []

    def snapshot(self) -> Memblock:
        return Memblock(
            memory=[copy.copy(r) for r in self.memory],
            reserved=[copy.copy(r) for r in self.reserved],
        )

    # --- region arrays ------------------------------------------------------------------------

    def _check_room(self, regions: list[MemblockRegion], more: int) -> None:
        # memblock_double_array() is not modelled: refuse rather than guess
        if len(regions) + more > INIT_MEMBLOCK_REGIONS:
            raise InspectorError(
                f"memblock would need more than {INIT_MEMBLOCK_REGIONS} regions: a reallocated "
                "array (memblock_double_array) is not modelled"
            )

    def _merge_regions(self, regions: list[MemblockRegion]) -> None:
        # mirrors memblock_merge_regions() (mm/memblock.c, 4.7)
        i = 0
        while i < len(regions) - 1:
            this, nxt = regions[i], regions[i + 1]
            if this.base + this.size != nxt.base or this.nid != nxt.nid or this.flags != nxt.flags:
                i += 1
                continue
            this.size += nxt.size
            del regions[i + 1]

    def add_range(
        self, regions: list[MemblockRegion], base: int, size: int, nid: int, flags: int = 0
    ) -> None:
        # mirrors memblock_add_range() (mm/memblock.c, 4.7): insert the parts of [base, base+size)
        # not yet covered, then merge neighbours of the same node and flags
        if not size:
            return
        end = base + size
        if not regions or (len(regions) == 1 and regions[0].size == 0):
            regions[:] = [MemblockRegion(base=base, size=size, nid=nid, flags=flags)]
            return
        new: list[tuple[int, MemblockRegion]] = []
        idx = 0
        for idx, rgn in enumerate(regions):
            rbase, rend = rgn.base, rgn.base + rgn.size
            if rbase >= end:
                break
            if rend <= base:
                continue
            if rbase > base:
                new.append(
                    (idx, MemblockRegion(base=base, size=rbase - base, nid=nid, flags=flags))
                )
            base = min(rend, end)
        else:
            idx = len(regions)
        if base < end:
            new.append((idx, MemblockRegion(base=base, size=end - base, nid=nid, flags=flags)))
        self._check_room(regions, len(new))
        for shift, (at, rgn) in enumerate(new):
            regions.insert(at + shift, rgn)
        self._merge_regions(regions)

    def isolate_range(self, regions: list[MemblockRegion], base: int, size: int) -> tuple[int, int]:
        # mirrors memblock_isolate_range() (mm/memblock.c, 4.7): split regions at base and
        # base+size; returns [start_rgn, end_rgn) of the regions inside
        if not size:
            return 0, 0
        self._check_room(regions, 2)
        end = base + size
        start_rgn = end_rgn = 0
        idx = 0
        while idx < len(regions):
            rgn = regions[idx]
            rbase, rend = rgn.base, rgn.base + rgn.size
            if rbase >= end:
                break
            if rend <= base:
                idx += 1
                continue
            if rbase < base:
                rgn.base, rgn.size = base, rgn.size - (base - rbase)
                regions.insert(idx, MemblockRegion(rbase, base - rbase, rgn.nid, rgn.flags))
            elif rend > end:
                rgn.base, rgn.size = end, rgn.size - (end - rbase)
                regions.insert(idx, MemblockRegion(rbase, end - rbase, rgn.nid, rgn.flags))
                idx -= 1
            else:
                if not end_rgn:
                    start_rgn = idx
                end_rgn = idx + 1
            idx += 1
        return start_rgn, end_rgn

    def remove_range(self, regions: list[MemblockRegion], base: int, size: int) -> None:
        # mirrors memblock_remove_range() (mm/memblock.c, 4.7)
        start_rgn, end_rgn = self.isolate_range(regions, base, size)
        del regions[start_rgn:end_rgn]
        if not regions:  # memblock_remove_region() leaves one empty region
            regions.append(MemblockRegion(0, 0, self.reserve_nid, 0))

    # --- the free ranges --------------------------------------------------------------------

    def free_ranges_reverse(self, nid: int, flags: int) -> Iterator[tuple[int, int, int]]:
        # mirrors __next_mem_range_rev() over (memory, reserved) (mm/memblock.c, 4.7); movable_node
        # is never enabled on these boots, so hotplug regions are not skipped
        reserved = [r for r in self.reserved if r.size] or []
        for m in reversed(self.memory):
            if nid != NUMA_NO_NODE and nid != m.nid:
                continue
            if (flags & MEMBLOCK_MIRROR) and not (m.flags & MEMBLOCK_MIRROR):
                continue
            if not (flags & MEMBLOCK_NOMAP) and (m.flags & MEMBLOCK_NOMAP):
                continue
            m_start, m_end = m.base, m.base + m.size
            for idx_b in range(len(reserved), -1, -1):
                r_start = reserved[idx_b - 1].base + reserved[idx_b - 1].size if idx_b else 0
                r_end = reserved[idx_b].base if idx_b < len(reserved) else ULLONG_MAX
                if r_end <= m_start:
                    break
                if m_end > r_start:
                    lo, hi = max(m_start, r_start), min(m_end, r_end)
                    if lo < hi:
                        yield lo, hi, m.nid

    def find_in_range_node(
        self, size: int, align: int, start: int, end: int, nid: int, flags: int = 0
    ) -> int:
        # mirrors memblock_find_in_range_node() and __memblock_find_range_top_down()
        # (mm/memblock.c, 4.7); bottom-up only where a caller sets it for one allocation
        # (cma_declare_contiguous_nid() above 4 GiB, 6.12)
        if end == MEMBLOCK_ALLOC_ACCESSIBLE:
            end = self.current_limit
        start = max(start, self.page_size)
        end = max(start, end)
        if self.bottom_up:
            # __memblock_find_range_bottom_up()
            for this_start, this_end, _ in reversed(list(self.free_ranges_reverse(nid, flags))):
                this_start = min(max(this_start, start), end)
                this_end = min(max(this_end, start), end)
                cand = -(-this_start // align) * align
                if cand < this_end and this_end - cand >= size:
                    return cand
            return 0
        for this_start, this_end, _ in self.free_ranges_reverse(nid, flags):
            this_start = min(max(this_start, start), end)
            this_end = min(max(this_end, start), end)
            if this_end < size:
                continue
            cand = round_down(this_end - size, align)
            if cand >= this_start:
                return cand
        return 0

    # --- the allocator entry points ----------------------------------------------------------

    def reserve(self, base: int, size: int) -> None:
        # mirrors memblock_reserve() → memblock_reserve_region() (mm/memblock.c, 4.7)
        self.add_range(self.reserved, base, size, self.reserve_nid, 0)

    def free(self, base: int, size: int, caller: str) -> None:
        # mirrors memblock_free() / memblock_free_early() / free_bootmem() (mm/memblock.c,
        # mm/nobootmem.c, 4.7): drop [base, base+size) from memblock.reserved
        self.calls.append(MemblockCall("free", caller, size, 0, NUMA_NO_NODE, base))
        self.remove_range(self.reserved, base, size)

    def virt_alloc(
        self,
        size: int,
        align: int,
        min_addr: int,
        max_addr: int,
        nid: int,
        caller: str,
        *,
        panic: bool = True,
    ) -> int:
        # mirrors memblock_virt_alloc_internal() (mm/memblock.c, 4.7), and so every
        # memblock_virt_alloc*() wrapper: retry on any node, then from address 0
        if not align:
            align = self.smp_cache_bytes
        if max_addr > self.current_limit:
            max_addr = self.current_limit
        while True:
            alloc = self.find_in_range_node(size, align, min_addr, max_addr, nid)
            if not alloc and nid != NUMA_NO_NODE:
                alloc = self.find_in_range_node(size, align, min_addr, max_addr, NUMA_NO_NODE)
            if alloc or not min_addr:
                break
            min_addr = 0
        self.calls.append(MemblockCall("alloc", caller, size, align, nid, alloc))
        if alloc:
            self.reserve(alloc, size)
        elif panic:
            self._panic(caller, size)
        return alloc

    def _panic(self, caller: str, size: int) -> None:
        raise BootPanic(f"{caller}: memblock cannot find {size} bytes: this layout cannot boot")

    def virt_alloc_default(
        self, size: int, align: int, caller: str, nid: int = NUMA_NO_NODE, *, panic: bool = True
    ) -> int:
        # memblock_virt_alloc{,_nopanic,_node_nopanic}(): from BOOTMEM_LOW_LIMIT, anywhere
        # accessible (include/linux/bootmem.h, 4.7)
        return self.virt_alloc(
            size, align, self.low_limit, MEMBLOCK_ALLOC_ACCESSIBLE, nid, caller, panic=panic
        )

    def alloc_try_nid(
        self,
        size: int,
        align: int,
        min_addr: int,
        max_addr: int,
        nid: int,
        caller: str,
        *,
        exact_nid: bool = False,
        panic: bool = True,
    ) -> int:
        # mirrors memblock_alloc_try_nid() → memblock_alloc_internal() →
        # memblock_alloc_range_nid() (mm/memblock.c, 6.12): clip max_addr to current_limit,
        # try the node then (unless exact_nid) any node, then once more from address 0; the
        # flags are MEMBLOCK_NONE (no mirrored memory on these boots), so NOMAP is skipped
        if not align:
            align = self.smp_cache_bytes  # with a dump_stack()
        if max_addr > self.current_limit:
            max_addr = self.current_limit
        alloc = self.alloc_range_nid(size, align, min_addr, max_addr, nid, exact_nid)
        if not alloc and min_addr:
            alloc = self.alloc_range_nid(size, align, 0, max_addr, nid, exact_nid)
        self.calls.append(MemblockCall("alloc", caller, size, align, nid, alloc))
        if not alloc and panic:
            self._panic(caller, size)
        return alloc

    def alloc_range_nid(
        self, size: int, align: int, start: int, end: int, nid: int, exact_nid: bool
    ) -> int:
        # mirrors memblock_alloc_range_nid() (mm/memblock.c, 6.12), the reservation included
        found = self.find_in_range_node(size, align, start, end, nid)
        if not found and nid != NUMA_NO_NODE and not exact_nid:
            found = self.find_in_range_node(size, align, start, end, NUMA_NO_NODE)
        if found:
            self.reserve(found, size)
        return found

    def alloc_memory_core_early(
        self, nid: int, size: int, align: int, goal: int, limit: int
    ) -> int:
        # mirrors __alloc_memory_core_early() (mm/nobootmem.c, 4.7)
        if limit > self.current_limit:
            limit = self.current_limit
        addr = self.find_in_range_node(size, align, goal, limit, nid)
        if addr:
            self.reserve(addr, size)
        return addr

    def alloc_bootmem(self, size: int, align: int, goal: int, limit: int, caller: str) -> int:
        # mirrors ___alloc_bootmem_nopanic() (mm/nobootmem.c, 4.7): alloc_bootmem(),
        # __alloc_bootmem{,_nopanic}(), alloc_bootmem_low() all end here
        while True:
            addr = self.alloc_memory_core_early(NUMA_NO_NODE, size, align, goal, limit)
            if addr or not goal:
                break
            goal = 0
        self.calls.append(MemblockCall("alloc", caller, size, align, NUMA_NO_NODE, addr))
        if not addr:
            self._panic(caller, size)
        return addr

    def alloc_bootmem_node(
        self, nid: int, size: int, align: int, goal: int, limit: int, caller: str
    ) -> int:
        # mirrors ___alloc_bootmem_node_nopanic() (mm/nobootmem.c, 4.7)
        while True:
            if limit and goal + size > limit:
                limit = 0
            addr = self.alloc_memory_core_early(nid, size, align, goal, limit)
            if not addr:
                addr = self.alloc_memory_core_early(NUMA_NO_NODE, size, align, goal, limit)
            if addr or not goal:
                break
            goal = 0
        self.calls.append(MemblockCall("alloc", caller, size, align, nid, addr))
        if not addr:
            self._panic(caller, size)
        return addr
