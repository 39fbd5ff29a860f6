"""Catching a hot function's return off its pages (inspector.debug.returns), and guest memory
read through the guest's own page tables (inspector.debug.pagetables): pure functions on
synthetic instruction words and page tables (no guest; the real-guest checks are in
test_capture.py)."""

from __future__ import annotations

import struct

import pytest

from inspector.debug.pagetables import Mapping, arm64_walker, x86_64_walker
from inspector.debug.returns import PAGE, arm64_lr_offset, arm64_site, pages, x86_64_site
from inspector.kernel.build import build
from inspector.pytest_plugin import Target, mmi_targets

NOP, PACIASP, BTI_C = 0xD503201F, 0xD503233F, 0xD503245F
MOV_X29_SP = 0x910003FD


def stp(rt: int, rt2: int, imm: int, *, pre: bool) -> int:
    """STP Xt, Xt2, [sp, #imm](!) (64-bit): the encoding GCC's prologues use."""
    base = 0xA9800000 if pre else 0xA9000000
    return base | (((imm // 8) & 0x7F) << 15) | (rt2 << 10) | (31 << 5) | rt


def sub_sp(imm: int, shift: bool = False) -> int:
    return 0xD10003FF | (int(shift) << 22) | (imm << 10)


def code(*words: int) -> bytes:
    return struct.pack(f"<{len(words)}I", *words)


@pytest.mark.parametrize(
    ("words", "offset"),
    [
        ((stp(29, 30, -64, pre=True), MOV_X29_SP), -56),
        ((PACIASP, stp(29, 30, -96, pre=True), MOV_X29_SP), -88),
        ((BTI_C, NOP, NOP, stp(29, 30, -16, pre=True)), -8),
        ((sub_sp(0x40), stp(29, 30, 0x30, pre=False)), -0x40 + 0x30 + 8),
        ((sub_sp(1, shift=True), stp(29, 30, 16, pre=False)), -4096 + 24),
        # a pair of callee-saved registers first (offset store, sp unchanged), then the record
        ((sub_sp(0x50), stp(19, 20, 0x10, pre=False), stp(29, 30, 0x40, pre=False)), -0x50 + 0x48),
        ((stp(30, 29, -32, pre=True),), -32),  # x30 as the first register of the pair
    ],
)
def test_arm64_prologue_gives_the_link_register_slot(words: tuple[int, ...], offset: int) -> None:
    assert arm64_lr_offset(code(*words)) == offset
    site = arm64_site(0xFFFF_0000_0800_4000, 0xFFFF_0000_0810_0000, code(*words))
    assert site is not None and site.slot == 0xFFFF_0000_0800_4000 + offset
    assert site.address == 0xFFFF_0000_0810_0000


@pytest.mark.parametrize(
    "words",
    [
        (0xAA0303F3,),  # mov x19, x3: no frame record before other work
        (NOP,) * 8 + (stp(29, 30, -64, pre=True),),  # beyond the instructions looked at
        (0xF81F0FFE,),  # str x30, [sp, #-16]!: not a pair store, not recognised
        (),
    ],
)
def test_arm64_unknown_prologue_is_none(words: tuple[int, ...]) -> None:
    """None sends the walker back to gdb's finish: slower, never wrong."""
    assert arm64_lr_offset(code(*words)) is None
    assert arm64_site(0x1000, 0x2000, code(*words)) is None


def test_x86_64_site_is_the_stack_top() -> None:
    site = x86_64_site(0xFFFF_C900_0000_3E48, 0xFFFF_FFFF_8148_7A10)
    assert (site.slot, site.address) == (0xFFFF_C900_0000_3E48, 0xFFFF_FFFF_8148_7A10)


def test_pages_cover_every_byte() -> None:
    assert list(pages(0x1000, 0x2000)) == [1]
    assert list(pages(0x1FFF, 0x2001)) == [1, 2]
    assert list(pages(0x1234, 0x1234)) == [1]
    assert PAGE == 4096


TARGETS = mmi_targets(arches=("arm64",))


@pytest.mark.parametrize("target", TARGETS)
def test_arm64_memmap_prologue_is_recognised(target: Target) -> None:
    """The functions the plan marks hot have a prologue the decoder knows, in the real vmlinux
    (else every return would fall back to gdb's finish, on their pages)."""
    from inspector.capture.plan import plan_for
    from inspector.debug.layout import layout_for

    b = build(target.version, target.arch, quiet=True)
    layout = layout_for(b.vmlinux, target.arch)
    for spec in plan_for(target.version.name).stops:
        if spec.hot:
            entry = layout.function_address(spec.function)
            assert entry is not None
            off = arm64_lr_offset(layout.file_bytes(entry, 32))
            assert off is not None and off < 0 and off % 8 == 0


# -- page tables -------------------------------------------------------------------------------


class Phys(dict[int, int]):
    """Guest-physical memory as u64 words; absent words read 0 (not present)."""

    def u64(self, addr: int) -> int:
        assert addr % 8 == 0
        return self.get(addr, 0)


def idx(va: int, shift: int, bits: int = 9) -> int:
    return (va >> shift) & ((1 << bits) - 1)


def test_x86_64_walk_4k_2m_1g() -> None:
    mem = Phys()
    pgd, pud, pmd, pte = 0x1000, 0x2000, 0x3000, 0x4000
    va4k = 0xFFFF_EA00_0000_5123  # a 4 KiB page
    mem[pgd + idx(va4k, 39) * 8] = pud | 0x63
    mem[pud + idx(va4k, 30) * 8] = pmd | 0x63
    mem[pmd + idx(va4k, 21) * 8] = pte | 0x63
    mem[pte + idx(va4k, 12) * 8] = 0x7654_3000 | 0x63 | (1 << 63)  # NX bit ignored
    va2m = 0xFFFF_8880_0234_5678  # a 2 MiB page (PS in the PMD)
    pud2, pmd2 = 0x5000, 0x6000
    mem[pgd + idx(va2m, 39) * 8] = pud2 | 0x63
    mem[pud2 + idx(va2m, 30) * 8] = pmd2 | 0x63
    mem[pmd2 + idx(va2m, 21) * 8] = 0x4000_0000 | 0xE3
    va1g = 0xFFFF_8881_4000_0010  # a 1 GiB page (PS in the PUD)
    mem[pud2 + idx(va1g, 30) * 8] = 0x1_0000_0000 | 0xE3
    w = x86_64_walker(pgd | 0x18, 0x6B0)  # PCD/PWT bits in CR3 are not address bits
    assert w is not None
    assert w.translate(mem.u64, va4k) == Mapping(0x7654_3123, 0x1000 - 0x123)
    assert w.translate(mem.u64, va2m) == Mapping(0x4000_0000 + 0x14_5678, 0x20_0000 - 0x14_5678)
    assert w.translate(mem.u64, va1g) == Mapping(0x1_0000_0010, (1 << 30) - 0x10)
    assert w.translate(mem.u64, 0xFFFF_C900_0000_0000) is None  # not present
    assert x86_64_walker(pgd, 0x6B0 | (1 << 12)) is None  # 5-level paging: not walked


@pytest.mark.parametrize("va_bits", [39, 48])
def test_arm64_walk_pages_and_blocks(va_bits: int) -> None:
    mem = Phys()
    tcr = ((64 - va_bits) << 16) | (2 << 30)  # T1SZ, TG1 = 4 KiB
    root = 0x4000_1000
    shifts = [39, 30, 21, 12] if va_bits == 48 else [30, 21, 12]
    top = va_bits - shifts[0]
    va = ((~0 << va_bits) | (0x1234_5678_9ABC & ((1 << va_bits) - 1))) & ((1 << 64) - 1)
    tables = [root] + [0x4001_0000 + 0x1000 * k for k in range(len(shifts) - 1)]
    for level, shift in enumerate(shifts[:-1]):
        bits = top if level == 0 else 9
        mem[tables[level] + idx(va, shift, bits) * 8] = tables[level + 1] | 3
    mem[tables[-1] + idx(va, 12) * 8] = 0x4567_8000 | 3 | (1 << 10) | (1 << 54)  # AF, UXN
    w = arm64_walker(root | (5 << 48), tcr)  # an ASID in TTBR1's top bits
    assert w is not None
    assert w.translate(mem.u64, va) == Mapping(0x4567_8ABC, 0x1000 - 0xABC)
    # a 2 MiB block at the last table level but one
    mem[tables[-2] + idx(va, 21) * 8] = 0x8020_0000 | 1 | (1 << 10)
    off = va & 0x1F_FFFF
    assert w.translate(mem.u64, va) == Mapping(0x8020_0000 + off, 0x20_0000 - off)
    mem[tables[-2] + idx(va, 21) * 8] = 0  # invalid
    assert w.translate(mem.u64, va) is None
    assert arm64_walker(root, ((64 - va_bits) << 16) | (1 << 30)) is None  # 16 KiB granule
