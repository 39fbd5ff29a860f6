"""Where a running function's return address is, so that its return can be caught without a
breakpoint on its own pages.

QEMU's TCG runs any guest page that holds a breakpoint one instruction per translation block,
each back through its main loop (``check_for_breakpoints`` in accel/tcg/cpu-exec.c), and flushes
its translations whenever one is inserted or removed. A breakpoint at a function's entry, or
gdb's ``finish`` breakpoint in a caller that lies on the same page, therefore makes a loop over
every page of RAM (``memmap_init_zone``, ``memmap_init_range``) run an order of magnitude slower.
A read watchpoint on the stack slot that holds the return address fires when the epilogue loads
it, and costs nothing on the code pages.

Pure functions: the caller reads the registers and the code bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# TCG's breakpoint granularity (TARGET_PAGE_SIZE) for both guests: 4 KiB pages
PAGE = 4096


def pages(start: int, end: int) -> range:
    """Page numbers the bytes [start, end) touch."""
    return range(start // PAGE, (max(end, start + 1) - 1) // PAGE + 1)


@dataclass(frozen=True)
class ReturnSite:
    slot: int  # stack address the function's epilogue reads the return address from
    address: int  # where it returns to


def x86_64_site(rsp: int, slot_value: int) -> ReturnSite:
    """At the first instruction ``call`` has just pushed the return address at rsp; ``ret``
    reads it from there (the slot is never moved by the prologue)."""
    return ReturnSite(rsp, slot_value)


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value & (1 << (bits - 1)) else value


def arm64_lr_offset(code: bytes, limit: int = 8) -> int | None:
    """Offset from the entry sp of the slot where the prologue in ``code`` (the function's
    first bytes) saves x30, or None when no such prologue is recognised (then use ``finish``).

    Recognised, in order, within ``limit`` instructions: hints (nop, ``paciasp``, ``bti c``),
    ``sub sp, sp, #imm``, ``stp x29, x30, [sp, #imm]!`` (pre-index) or ``stp x29, x30,
    [sp, #imm]`` (offset), other stores of register pairs at an offset from sp, and
    ``mov x29, sp``: GCC's frame-record prologue (arch/arm64 builds keep frame pointers)."""
    sp = 0
    for (ins,) in struct.iter_unpack("<I", code[: 4 * limit]):
        if ins & 0xFFFFF01F == 0xD503201F:  # HINT #n: nop, paciasp, bti c, …
            continue
        if ins & 0xFF8003FF == 0xD10003FF:  # SUB (immediate), 64-bit, sp = sp - imm
            imm = (ins >> 10) & 0xFFF
            sp -= imm << 12 if ins & (1 << 22) else imm
            continue
        if ins == 0x910003FD:  # mov x29, sp
            continue
        rt, rn, rt2 = ins & 31, (ins >> 5) & 31, (ins >> 10) & 31
        imm = _signed((ins >> 15) & 0x7F, 7) * 8
        kind = ins & 0xFFC00000
        if rn == 31 and kind in (0xA9800000, 0xA9000000):  # STP (64-bit), pre-index / offset
            at = sp + imm
            if kind == 0xA9800000:
                sp = at
            if rt2 == 30:
                return at + 8
            if rt == 30:
                return at
            continue
        return None
    return None


def arm64_site(sp: int, lr: int, code: bytes) -> ReturnSite | None:
    """At the first instruction the return address is in x30; the prologue saves it where
    ``arm64_lr_offset`` says and the epilogue loads it from there."""
    off = arm64_lr_offset(code)
    return None if off is None else ReturnSite(sp + off, lr)
