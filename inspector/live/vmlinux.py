"""What a live session needs from a vmlinux before any debug info is loaded: its ELF symbol table
(``st_value``, ``st_size``) and the initialised bytes of its loadable segments, read with plain
``struct`` (the symbol table of a 6.12 vmlinux has ~100 k entries: a fraction of a second)."""

from __future__ import annotations

import functools
import re
import struct
from dataclasses import dataclass
from pathlib import Path

from inspector.errors import InspectorError

_SHT_SYMTAB = 2
_PT_LOAD = 1
_EM = {62: "x86_64", 183: "arm64"}


@dataclass(frozen=True)
class Segment:
    vaddr: int
    paddr: int
    offset: int
    filesz: int


class Vmlinux:
    """One vmlinux: ``symbol(name)`` → (address, size); ``file_bytes(address, size)``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._data = path.read_bytes()
        except OSError as e:
            raise InspectorError(f"cannot read {path}: {e.strerror}; build the kernel first") from e
        if self._data[:4] != b"\x7fELF" or self._data[4] != 2 or self._data[5] != 1:
            raise InspectorError(f"{path} is not a little-endian ELF64 vmlinux: pass the vmlinux")
        (machine,) = struct.unpack_from("<H", self._data, 0x12)
        if machine not in _EM:
            raise InspectorError(
                f"{path} is for ELF machine {machine}: pass an x86_64/arm64 vmlinux"
            )
        self.arch = _EM[machine]
        self.segments = self._segments()

    def _segments(self) -> list[Segment]:
        (phoff,) = struct.unpack_from("<Q", self._data, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", self._data, 0x36)
        out: list[Segment] = []
        for i in range(phnum):
            base = phoff + i * phentsize
            (p_type,) = struct.unpack_from("<I", self._data, base)
            if p_type == _PT_LOAD:
                offset, vaddr, paddr, filesz = struct.unpack_from("<QQQQ", self._data, base + 8)
                out.append(Segment(vaddr, paddr, offset, filesz))
        return out

    @functools.cached_property
    def symbols(self) -> dict[str, tuple[int, int]]:
        data = self._data
        (shoff,) = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
        out: dict[str, tuple[int, int]] = {}
        for i in range(shnum):
            base = shoff + i * shentsize
            (sh_type,) = struct.unpack_from("<I", data, base + 4)
            if sh_type != _SHT_SYMTAB:
                continue
            offset, size, link = struct.unpack_from("<QQI", data, base + 0x18)
            (str_off,) = struct.unpack_from("<Q", data, shoff + link * shentsize + 0x18)
            for name_off, _info, _other, _shndx, value, sym_size in struct.iter_unpack(
                "<IBBHQQ", data[offset : offset + size]
            ):
                if name_off:
                    end = data.index(b"\0", str_off + name_off)
                    out.setdefault(data[str_off + name_off : end].decode(), (value, sym_size))
        if not out:
            raise InspectorError(f"{self.path} has no symbol table: pass an unstripped vmlinux")
        return out

    def has(self, name: str) -> bool:
        return name in self.symbols

    def symbol(self, name: str) -> int:
        try:
            return self.symbols[name][0]
        except KeyError:
            raise InspectorError(
                f"{self.path} has no symbol {name!r}: is it the vmlinux of this kernel?"
            ) from None

    def symbol_size(self, name: str) -> int:
        self.symbol(name)
        return self.symbols[name][1]

    def file_bytes(self, address: int, size: int) -> bytes:
        """Bytes the image holds at virtual ``address`` (initialised data only)."""
        for s in self.segments:
            if s.vaddr <= address and address + size <= s.vaddr + s.filesz:
                start = s.offset + address - s.vaddr
                return self._data[start : start + size]
        raise InspectorError(f"{address:#x} is not initialised data of {self.path}")

    @functools.cached_property
    def banner(self) -> bytes:
        """``linux_banner``: "Linux version <release> (<builder>) … #<n> <date>\\n"."""
        addr = self.symbol("linux_banner")
        raw = self.file_bytes(addr, self.symbol_size("linux_banner") or 256)
        return raw.split(b"\0", 1)[0]

    @functools.cached_property
    def release(self) -> str:
        m = re.match(rb"Linux version (\S+)", self.banner)
        if m is None:
            raise InspectorError(f"{self.path}: linux_banner is not a Linux banner")
        return m.group(1).decode()
