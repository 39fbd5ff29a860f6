"""Where the kernel image sits in guest RAM, and the VMCOREINFO drgn needs to read the guest.

The image: its virtual-minus-physical offset (x86: ``__START_KERNEL_map - phys_base``, arm64:
``kimage_voffset``) is tried at the place the boot protocol puts it, and otherwise found by
searching guest RAM for the vmlinux's own ``linux_banner``; either way the banner and the first
bytes of ``_text`` must match the vmlinux, or the vmlinux is not the booted kernel.

VMCOREINFO: the guest's own ``vmcoreinfo_data`` when the kernel has one (4.7 x86_64 through
KEXEC; 6.12 on both arches), otherwise derived from the vmlinux and guest memory (4.7 arm64:
no KEXEC before 4.8). ``Vmcoreinfo.source`` records which.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from inspector.errors import InspectorError
from inspector.live.ram import GuestRam
from inspector.live.vmlinux import Vmlinux

X86_START_KERNEL_MAP = 0xFFFF_FFFF_8000_0000
# QEMU virt loads an arm64 Image at RAM + text_offset, moved up 2 MiB when the offset would
# overlap its boot stub: 4.7's header says 0x80000, 6.12's 0 (→ 2 MiB). The search covers others.
ARM64_LOAD_OFFSETS = (0x80000, 0x200000)
VMCOREINFO_MAX = 4096


@dataclass(frozen=True)
class Image:
    """The kernel image in guest RAM: physical = virtual - ``voffset``."""

    voffset: int
    how: str  # "boot protocol" or "banner search"

    def phys(self, vaddr: int) -> int:
        return vaddr - self.voffset


def search(ram: GuestRam, needle: bytes, chunk: int = 64 << 20) -> Iterator[int]:
    """Guest-physical addresses where ``needle`` occurs, in address order."""
    for phys, size, view in ram.segments():
        start = 0
        while start < size:
            piece = view[start : min(size, start + chunk + len(needle) - 1)]
            data = bytes(piece)
            at = data.find(needle)
            while at >= 0:
                yield phys + start + at
                at = data.find(needle, at + 1)
            start += chunk


def _matches(ram: GuestRam, vmlinux: Vmlinux, voffset: int) -> bool:
    # two read-only strings the kernel never rewrites (the first bytes of _text, the anchor
    # before, differ from the file in an arm64 6.1 guest's RAM: code is no anchor)
    for name, size in (("linux_banner", len(vmlinux.banner)), ("linux_proc_banner", 16)):
        addr = vmlinux.symbol(name)
        try:
            if ram.read(addr - voffset, size) != vmlinux.file_bytes(addr, size):
                return False
        except InspectorError:
            return False
    return True


def _expected_voffsets(ram: GuestRam, vmlinux: Vmlinux) -> list[int]:
    if vmlinux.arch == "x86_64":
        return [s.vaddr - s.paddr for s in vmlinux.segments[:1]]
    base = ram.pieces[0].phys
    return [vmlinux.symbol("_text") - (base + off) for off in ARM64_LOAD_OFFSETS]


def locate_image(ram: GuestRam, vmlinux: Vmlinux) -> Image:
    for k in _expected_voffsets(ram, vmlinux):
        if _matches(ram, vmlinux, k):
            return Image(k, "boot protocol")
    for hit in search(ram, vmlinux.banner):
        k = vmlinux.symbol("linux_banner") - hit
        if _matches(ram, vmlinux, k):
            return Image(k, "banner search")
    raise InspectorError(
        f"{vmlinux.path} is not the kernel this guest booted (its linux_banner is not in guest "
        "RAM): pass the vmlinux of the booted kernel"
    )


@dataclass(frozen=True)
class Vmcoreinfo:
    text: str
    source: str  # "guest vmcoreinfo_data" or "derived from vmlinux and guest memory"

    def fields(self) -> dict[str, str]:
        return dict(line.split("=", 1) for line in self.text.splitlines() if "=" in line)

    def get(self, key: str) -> str | None:
        return self.fields().get(key)


def _guest_vmcoreinfo(ram: GuestRam, vmlinux: Vmlinux, image: Image) -> str | None:
    """The guest's ``vmcoreinfo_data``: an array (4.7) or a pointer to a page (6.12)."""
    if not vmlinux.has("vmcoreinfo_data"):
        return None
    addr = vmlinux.symbol("vmcoreinfo_data")
    size = ram.u64(image.phys(vmlinux.symbol("vmcoreinfo_size")))
    if vmlinux.symbol_size("vmcoreinfo_data") == 8:  # a pointer: 6.12
        pointer = ram.u64(image.phys(addr))
        if pointer == 0:
            return None
        raw = _find_vmcoreinfo_page(ram, vmlinux, image, pointer, size)
    else:
        raw = ram.read(image.phys(addr), min(size, VMCOREINFO_MAX))
    if raw is None or not raw.startswith(b"OSRELEASE="):
        return None
    return raw[: min(size, VMCOREINFO_MAX)].split(b"\0", 1)[0].decode(errors="replace")


def _linear_map_guesses(ram: GuestRam, vmlinux: Vmlinux, image: Image, pointer: int) -> list[int]:
    """Physical addresses a direct-map ``pointer`` may stand for, cheapest first: x86_64
    ``page_offset_base`` (or the 4-level PAGE_OFFSETs of 4.20+ and older), arm64
    ``PAGE_OFFSET`` of 5.4+ (-2^VA_BITS) and older (-2^(VA_BITS-1)) over ``memstart_addr``."""
    if vmlinux.arch == "x86_64":
        bases = [0xFFFF_8880_0000_0000, 0xFFFF_8800_0000_0000]
        if vmlinux.has("page_offset_base"):
            bases.insert(0, ram.u64(image.phys(vmlinux.symbol("page_offset_base"))))
        return [pointer - b for b in bases]
    va_bits = _va_bits(vmlinux.symbol("_text"))
    memstart = ram.u64(image.phys(vmlinux.symbol("memstart_addr")))
    top = 1 << 64
    return [pointer - (top - (1 << bits)) + memstart for bits in (va_bits, va_bits - 1)]


def _find_vmcoreinfo_page(
    ram: GuestRam, vmlinux: Vmlinux, image: Image, pointer: int, size: int
) -> bytes | None:
    """The page behind the pointer: try the linear-map guesses, then search RAM for the copy
    that starts with our OSRELEASE at the pointer's offset in its page."""
    needle = f"OSRELEASE={vmlinux.release}\n".encode()
    for phys in _linear_map_guesses(ram, vmlinux, image, pointer):
        try:
            if ram.read(phys, len(needle)) == needle:
                return ram.read(phys, min(size, VMCOREINFO_MAX))
        except InspectorError:
            continue
    for hit in search(ram, needle):
        if hit & 0xFFF == pointer & 0xFFF:
            return ram.read(hit, min(size, VMCOREINFO_MAX))
    return None


def _va_bits(text: int) -> int:
    """arm64 VA_BITS from the kernel image's address: its leading one bits are 64 - VA_BITS."""
    ones = 64 - (~text & (1 << 64) - 1).bit_length()
    return 64 - ones


def _derived(ram: GuestRam, vmlinux: Vmlinux, image: Image) -> str:
    lines = [f"OSRELEASE={vmlinux.release}", "PAGESIZE=4096"]
    pgd = "swapper_pg_dir" if vmlinux.has("swapper_pg_dir") else "init_level4_pgt"
    if vmlinux.has("init_top_pgt"):
        pgd = "init_top_pgt"
    lines.append(f"SYMBOL(swapper_pg_dir)={vmlinux.symbol(pgd):x}")
    size = vmlinux.symbol_size("mem_section")
    if size <= 8:
        # 83e3c48729d9 (v4.15) made mem_section a pointer to roots allocated at boot: the
        # root count then comes from arch constants we do not guess; such kernels all export
        # VMCOREINFO (CONFIG_VMCORE_INFO / CRASH_CORE), so read the guest's.
        raise InspectorError(
            f"{vmlinux.path}: cannot derive VMCOREINFO for a kernel whose mem_section is a "
            "pointer (Linux >= 4.15): build it with CONFIG_VMCORE_INFO and use the guest's"
        )
    lines.append(f"LENGTH(mem_section)={size // 8}")
    if vmlinux.arch == "x86_64":
        lines.append(f"NUMBER(phys_base)={X86_START_KERNEL_MAP - image.voffset}")
        lines.append("KERNELOFFSET=0")
    else:
        memstart = ram.u64(image.phys(vmlinux.symbol("memstart_addr")))
        voff = ram.u64(image.phys(vmlinux.symbol("kimage_voffset")))
        if voff != image.voffset:
            raise InspectorError(
                f"guest kimage_voffset {voff:#x} is not {image.voffset:#x}: is the guest "
                "still booting? read it at its shell"
            )
        lines += [
            f"NUMBER(VA_BITS)={_va_bits(vmlinux.symbol('_text'))}",
            f"NUMBER(kimage_voffset)={voff:#x}",
            f"NUMBER(PHYS_OFFSET)={memstart:#x}",
            "KERNELOFFSET=0",
        ]
    return "\n".join(lines) + "\n"


def vmcoreinfo(
    ram: GuestRam, vmlinux: Vmlinux, image: Image, *, derive: bool = False
) -> Vmcoreinfo:
    """The guest's VMCOREINFO, or (``derive`` or none in the guest) one made from the vmlinux."""
    text = None if derive else _guest_vmcoreinfo(ram, vmlinux, image)
    if text is not None:
        release = re.search(r"^OSRELEASE=(.*)$", text, re.M)
        if release is None or release.group(1) != vmlinux.release:
            raise InspectorError(
                f"guest runs {release.group(1) if release else '?'}, {vmlinux.path} is "
                f"{vmlinux.release}: pass the vmlinux of the booted kernel"
            )
        return Vmcoreinfo(text, "guest vmcoreinfo_data")
    return Vmcoreinfo(_derived(ram, vmlinux, image), "derived from vmlinux and guest memory")
