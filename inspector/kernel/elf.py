"""Just enough ELF64 reading for checks made before a boot (no debugger involved)."""

from __future__ import annotations

import struct
from pathlib import Path

from inspector.errors import InspectorError

PT_LOAD = 1


def load_memsz(path: Path) -> int:
    """Sum of the PT_LOAD segments' in-memory sizes: what the kernel occupies once loaded."""
    with path.open("rb") as f:
        ident = f.read(64)
        if ident[:4] != b"\x7fELF" or ident[4] != 2:
            raise InspectorError(f"{path} is not an ELF64 file")
        endian = "<" if ident[5] == 1 else ">"
        (phoff,) = struct.unpack_from(endian + "Q", ident, 0x20)
        phentsize, phnum = struct.unpack_from(endian + "HH", ident, 0x36)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    total = 0
    for i in range(phnum):
        (p_type,) = struct.unpack_from(endian + "I", table, i * phentsize)
        if p_type == PT_LOAD:
            (p_memsz,) = struct.unpack_from(endian + "Q", table, i * phentsize + 0x28)
            total += p_memsz
    return total


def section(path: Path, name: str) -> bytes | None:
    """The contents of section ``name`` (None when absent)."""
    with path.open("rb") as f:
        ehdr = f.read(64)
        endian = "<" if ehdr[5] == 1 else ">"
        (shoff,) = struct.unpack_from(endian + "Q", ehdr, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from(endian + "HHH", ehdr, 0x3A)
        f.seek(shoff)
        table = f.read(shentsize * shnum)

        def header(i: int) -> tuple[int, int, int]:
            (name_off,) = struct.unpack_from(endian + "I", table, i * shentsize)
            offset, size = struct.unpack_from(endian + "QQ", table, i * shentsize + 0x18)
            return name_off, offset, size

        _, str_off, str_size = header(shstrndx)
        f.seek(str_off)
        names = f.read(str_size)
        for i in range(shnum):
            name_off, offset, size = header(i)
            if names[name_off : names.index(b"\0", name_off)].decode() == name:
                f.seek(offset)
                return f.read(size)
    return None


def dwarf_versions(path: Path) -> dict[int, int]:
    """How many .debug_info units carry each DWARF version (empty: no debug info)."""
    info = section(path, ".debug_info")
    counts: dict[int, int] = {}
    if not info:
        return counts
    pos = 0
    while pos + 6 <= len(info):
        (length,) = struct.unpack_from("<I", info, pos)
        header = 4
        if length == 0xFFFFFFFF:
            (length,) = struct.unpack_from("<Q", info, pos + 4)
            header = 12
        (version,) = struct.unpack_from("<H", info, pos + header)
        counts[version] = counts.get(version, 0) + 1
        pos += header + length
    return counts


def build_id(path: Path) -> str | None:
    """The GNU build-id note (hex), from .notes (the kernel's) or .note.gnu.build-id."""
    for name in (".notes", ".note.gnu.build-id"):
        data = section(path, name)
        off = 0
        while data is not None and off + 12 <= len(data):
            namesz, descsz, ntype = struct.unpack_from("<III", data, off)
            nm = data[off + 12 : off + 12 + namesz]
            desc_off = off + 12 + ((namesz + 3) & ~3)
            if ntype == 3 and nm.rstrip(b"\0") == b"GNU":  # NT_GNU_BUILD_ID
                return data[desc_off : desc_off + descsz].hex()
            off = desc_off + ((descsz + 3) & ~3)
    return None
