"""Kernel virtual → guest-physical, by walking the guest's own page tables in its RAM.

At a stop the guest is paused, so its RAM file holds exactly what the stub would return; reading
it directly spares one gdb round trip per object. The walk starts where the CPU's does: x86_64
CR3 (4-level paging; 5-level is refused), arm64 TTBR1_EL1 with TCR_EL1's T1SZ and TG1 (4 KiB
granule). Pure functions over a ``read_u64(phys)``; the caller reads the registers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

ReadU64 = Callable[[int], int]

_ADDR_MASK = 0x000F_FFFF_FFFF_F000  # x86_64: bits 51:12 of an entry
_ARM64_OA = 0x0000_FFFF_FFFF_F000  # arm64, 48-bit output address: bits 47:12
X86_CR4_LA57 = 1 << 12


@dataclass(frozen=True)
class Mapping:
    phys: int  # guest-physical address of the virtual address asked for
    size: int  # bytes from there to the end of the page or block that maps it


@dataclass(frozen=True)
class Walker:
    """One translation regime: the root table and its shape."""

    root: int  # guest-physical address of the top-level table
    shifts: tuple[int, ...]  # VA bit each level indexes from, top level first
    top_bits: int  # index bits of the top level (9 below it)
    arm64: bool

    def translate(self, read_u64: ReadU64, va: int) -> Mapping | None:
        """Where ``va`` maps, or None when a level is not present."""
        table = self.root
        for level, shift in enumerate(self.shifts):
            bits = self.top_bits if level == 0 else 9
            entry = read_u64(table + ((va >> shift) & ((1 << bits) - 1)) * 8)
            last = level == len(self.shifts) - 1
            if self.arm64:
                kind = entry & 3
                if kind == 0 or kind == 2:  # invalid / reserved
                    return None
                out = entry & _ARM64_OA
                if kind == 1 and not last:  # block (level 1: 1 GiB, level 2: 2 MiB)
                    return _leaf(out, shift, va)
                if last:  # page
                    return _leaf(out, shift, va)
                table = out
            else:
                if not entry & 1:
                    return None
                out = entry & _ADDR_MASK
                if last or (entry & 0x80 and shift in (21, 30)):  # PTE, or PS: 2 MiB / 1 GiB
                    return _leaf(out, shift, va)
                table = out
        return None


def _leaf(out: int, shift: int, va: int) -> Mapping:
    size = 1 << shift
    off = va & (size - 1)
    return Mapping((out & ~(size - 1)) + off, size - off)


def x86_64_walker(cr3: int, cr4: int) -> Walker | None:
    """4-level paging from CR3 (None with CR4.LA57: 5-level is not walked here)."""
    if cr4 & X86_CR4_LA57:
        return None
    return Walker(cr3 & _ADDR_MASK, (39, 30, 21, 12), 9, arm64=False)


def arm64_walker(ttbr1: int, tcr: int) -> Walker | None:
    """The kernel half (TTBR1) with a 4 KiB granule; None for another granule or a VA size
    that does not start at a level boundary this walker knows (39 and 48 bits do)."""
    t1sz = (tcr >> 16) & 0x3F
    tg1 = (tcr >> 30) & 3
    if tg1 != 2:  # TG1: 0b10 = 4 KiB
        return None
    va_bits = 64 - t1sz
    levels = -(-(va_bits - 12) // 9)  # each level resolves 9 bits above the 12-bit page offset
    if not 2 <= levels <= 4:
        return None
    shifts = tuple(12 + 9 * k for k in range(levels - 1, -1, -1))
    top_bits = va_bits - shifts[0]
    return Walker(ttbr1 & 0x0000_FFFF_FFFF_FFFE, shifts, top_bits, arm64=True)  # BADDR
