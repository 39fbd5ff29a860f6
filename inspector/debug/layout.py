"""Struct sizes, member offsets and symbol addresses from a vmlinux's DWARF, without a kernel.

drgn reads the debug info (``Program(Platform)`` plus the vmlinux as an extra module: drgn 0.3.0
ignores a file that matches no loaded module, and a program with no kernel has none). Nothing
here reads guest memory: readers get bytes from gdb in bulk and decode them with a ``View``::

    layout = layout_for(build.vmlinux, arch)
    zone = layout.view("struct zone", gdb.read(addr, layout.sizeof("struct zone")))
    zone["free_area[3].nr_free"], zone.array("watermark")
"""

from __future__ import annotations

import bisect
import functools
import re
import struct
from collections.abc import Iterator
from pathlib import Path

import drgn

from inspector.arch import Arch
from inspector.errors import InspectorError

_STEP = re.compile(r"\.?([A-Za-z_]\w*)|\[(\d+)\]")
_PT_LOAD = 1


def _unalias(t: drgn.Type) -> drgn.Type:
    while t.kind == drgn.TypeKind.TYPEDEF:
        t = t.type
    return t


def _steps(path: str) -> Iterator[str | int]:
    pos = 0
    while pos < len(path):
        m = _STEP.match(path, pos)
        if m is None:
            raise InspectorError(f"bad member designator {path!r}")
        yield m.group(1) if m.group(1) is not None else int(m.group(2))
        pos = m.end()


# (id(type), path) -> (type, offset, member type); the type is kept so its id stays unique
_RESOLVED: dict[tuple[int, str], tuple[drgn.Type, int, drgn.Type]] = {}


def resolve(t: drgn.Type, path: str) -> tuple[int, drgn.Type]:
    """(byte offset, type) of member designator ``path`` ("a.b[3].c") inside type ``t``."""
    key = (id(t), path)
    hit = _RESOLVED.get(key)
    if hit is not None and hit[0] is t:
        return hit[1], hit[2]
    offset, member = _resolve(t, path)
    _RESOLVED[key] = (t, offset, member)
    return offset, member


def _resolve(t: drgn.Type, path: str) -> tuple[int, drgn.Type]:
    offset = 0
    t = _unalias(t)
    for step in _steps(path):
        if isinstance(step, int):
            if t.kind != drgn.TypeKind.ARRAY:
                raise InspectorError(f"{t.type_name()} is not an array (in {path!r})")
            t = _unalias(t.type)
            offset += step * drgn.sizeof(t)
        else:
            try:
                m = t.member(step)
            except LookupError:
                name = t.type_name()
                raise InspectorError(f"{name} has no member {step!r} (in {path!r})") from None
            offset += m.bit_offset // 8
            t = _unalias(m.type)
    return offset, t


_SIZES: dict[int, tuple[drgn.Type, int]] = {}


def _sizeof(t: drgn.Type) -> int:
    hit = _SIZES.get(id(t))
    if hit is None or hit[0] is not t:
        hit = _SIZES[id(t)] = (t, drgn.sizeof(t))
    return hit[1]


# (id(type), path) -> (type, offset, size, signed) of an integer member
_INT_AT: dict[tuple[int, str], tuple[drgn.Type, int, int, bool]] = {}


def _int_spec(t: drgn.Type) -> tuple[int, int, bool]:
    """(extra offset, size, signed) to read an integer-like type: int, bool, enum, pointer,
    or a struct of one integer (atomic_t, atomic_long_t)."""
    if t.kind == drgn.TypeKind.ENUM:
        t = t.type if t.type is not None else t
    if t.kind == drgn.TypeKind.STRUCT and len(t.members or ()) == 1:
        m = t.members[0]
        extra, n, signed = _int_spec(_unalias(m.type))
        return m.bit_offset // 8 + extra, n, signed
    if t.kind not in (drgn.TypeKind.INT, drgn.TypeKind.BOOL, drgn.TypeKind.POINTER):
        raise InspectorError(f"{t.type_name()} is not an integer")
    return 0, drgn.sizeof(t), bool(t.kind == drgn.TypeKind.INT and t.is_signed)


class View:
    """Bytes of one C object, decoded by member designator with offsets from DWARF."""

    def __init__(self, t: drgn.Type, data: bytes, offset: int = 0, address: int = 0) -> None:
        self.type = t if t.kind != drgn.TypeKind.TYPEDEF else _unalias(t)
        self.data = data
        self.offset = offset
        self.address = address  # guest address of this object (0: unknown)
        size = _sizeof(self.type)
        if offset + size > len(data):
            name = self.type.type_name()
            raise InspectorError(f"{size} bytes of {name} needed, {len(data) - offset} read")

    def _int(self, off: int, t: drgn.Type) -> int:
        extra, n, signed = _int_spec(t)
        start = self.offset + off + extra
        return int.from_bytes(self.data[start : start + n], "little", signed=signed)

    def value(self) -> int:
        """The whole object as an integer (an int, enum, pointer or atomic_t variable)."""
        return self._int(0, self.type)

    def __getitem__(self, path: str) -> int:
        key = (id(self.type), path)
        spec = _INT_AT.get(key)
        if spec is None or spec[0] is not self.type:
            off, t = resolve(self.type, path)
            extra, n, signed = _int_spec(t)
            spec = _INT_AT[key] = (self.type, off + extra, n, signed)
        start = self.offset + spec[1]
        return int.from_bytes(self.data[start : start + spec[2]], "little", signed=spec[3])

    def addr_of(self, path: str) -> int:
        return self.address + resolve(self.type, path)[0]

    def sub(self, path: str) -> View:
        off, t = resolve(self.type, path)
        return View(t, self.data, self.offset + off, self.address + off if self.address else 0)

    def array(self, path: str) -> list[int]:
        off, t = resolve(self.type, path)
        if t.kind != drgn.TypeKind.ARRAY or t.length is None:
            raise InspectorError(f"{path!r} of {self.type.type_name()} is not a sized array")
        elt = _unalias(t.type)
        n = drgn.sizeof(elt)
        return [self._int(off + i * n, elt) for i in range(t.length)]

    def views(self, path: str, count: int | None = None) -> list[View]:
        off, t = resolve(self.type, path)
        if t.kind != drgn.TypeKind.ARRAY:
            raise InspectorError(f"{path!r} of {self.type.type_name()} is not an array")
        elt = _unalias(t.type)
        n = drgn.sizeof(elt)
        length = count if count is not None else (t.length or 0)
        base = self.address + off if self.address else 0
        return [
            View(elt, self.data, self.offset + off + i * n, base + i * n if base else 0)
            for i in range(length)
        ]


R_AARCH64_RELATIVE = 1027


class Layout:
    """Types and symbols of one vmlinux (see ``layout_for`` for the cached instance)."""

    def __init__(self, vmlinux: Path, arch: Arch) -> None:
        self.vmlinux = vmlinux
        self.arch = arch
        flags = drgn.PlatformFlags.IS_64_BIT | drgn.PlatformFlags.IS_LITTLE_ENDIAN
        self.prog = drgn.Program(drgn.Platform(drgn.Architecture[arch.drgn_arch], flags))
        module = self.prog.extra_module(str(vmlinux), create=True)
        module.try_file(str(vmlinux), force=True)
        if module.debug_file_status != drgn.ModuleFileStatus.HAVE:
            raise InspectorError(f"{vmlinux} has no usable debug info: rebuild with DEBUG_INFO")
        self._types: dict[str, drgn.Type] = {}

    def type(self, name: str) -> drgn.Type:
        if name not in self._types:
            try:
                self._types[name] = _unalias(self.prog.type(name))
            except LookupError:
                raise InspectorError(f"{self.vmlinux} has no type {name!r}") from None
        return self._types[name]

    def sizeof(self, name: str) -> int:
        return int(drgn.sizeof(self.type(name)))

    def offsetof(self, name: str, member: str) -> int:
        return resolve(self.type(name), member)[0]

    def has_member(self, name: str, member: str) -> bool:
        try:
            resolve(self.type(name), member)
        except InspectorError:
            return False
        return True

    def has_symbol(self, name: str) -> bool:
        try:
            self.prog.object(name)
        except LookupError:
            return False
        return True

    def variable_type(self, name: str) -> drgn.Type:
        try:
            return _unalias(self.prog.object(name).type_)
        except LookupError:
            raise InspectorError(f"{self.vmlinux} has no variable {name!r}") from None

    def address(self, name: str) -> int:
        addr: int | None
        try:
            addr = self.prog.object(name).address_
        except LookupError:
            addr = None
        if addr is None:
            try:
                addr = int(self.prog.symbol(name).address)
            except LookupError:
                raise InspectorError(f"{self.vmlinux} has no symbol {name!r}") from None
        return addr

    def has_function(self, name: str) -> bool:
        """A function of the vmlinux, out of line or only inlined."""
        return self.function_address(name) is not None or self.has_symbol(name)

    def function_address(self, name: str) -> int | None:
        """Entry address of an out-of-line function (None: no such symbol, e.g. inlined)."""
        try:
            sym = self.prog.symbol(name)
        except LookupError:
            return None
        return sym.address if sym.kind == drgn.SymbolKind.FUNC else None

    def parameters(self, name: str) -> list[tuple[str, int, bool]]:
        """(name, size in bytes, signed) of each parameter of function ``name``, in order."""
        try:
            params = self.prog.function(name).type_.parameters
        except LookupError:
            raise InspectorError(f"{self.vmlinux} has no function {name!r}") from None
        out = []
        for p in params:
            t = _unalias(p.type)
            if t.kind == drgn.TypeKind.ENUM and t.type is not None:
                t = t.type
            signed = t.kind == drgn.TypeKind.INT and t.is_signed
            out.append((str(p.name), drgn.sizeof(t), bool(signed)))
        return out

    def returns_value(self, function: str) -> bool:
        """Does ``function`` return a value (its DWARF type's return type is not void)?"""
        try:
            t = self.prog.function(function).type_
        except LookupError:
            return False
        return t.type is not None and t.type.kind != drgn.TypeKind.VOID

    def symbol_size(self, name: str) -> int:
        return int(self.prog.symbol(name).size)

    def enumerators(self, name: str) -> dict[str, int]:
        t = self.type(name)
        return {e.name: e.value for e in t.enumerators or ()}

    def view(self, name: str, data: bytes, address: int = 0) -> View:
        return View(self.type(name), data, 0, address)

    def variable_view(self, name: str, data: bytes, address: int = 0) -> View:
        return View(self.variable_type(name), data, 0, address)

    def file_bytes(self, address: int, size: int) -> bytes:
        """Bytes of the vmlinux file that load at ``address`` (initialised data only), with a
        relocatable arm64 image's R_AARCH64_RELATIVE relocations applied (its pointers are
        zero in the file and written at boot from ``.rela.dyn``; at the link address, as
        with nokaslr)."""
        for vaddr, offset, filesz in _load_segments(self.vmlinux):
            if vaddr <= address and address + size <= vaddr + filesz:
                with self.vmlinux.open("rb") as f:
                    f.seek(offset + address - vaddr)
                    data = bytearray(f.read(size))
                offsets, addends = self._relative_relocations
                at = bisect.bisect_left(offsets, address - 7)
                while at < len(offsets) and offsets[at] < address + size:
                    o = offsets[at] - address
                    if o >= 0 and o + 8 <= size:
                        data[o : o + 8] = addends[at].to_bytes(8, "little")
                    at += 1
                return bytes(data)
        raise InspectorError(f"{address:#x} is not in a loaded segment of {self.vmlinux}")

    @functools.cached_property
    def _relative_relocations(self) -> tuple[list[int], list[int]]:
        """``.rela.dyn``'s R_AARCH64_RELATIVE entries, (offsets, addends) sorted by offset."""
        from inspector.kernel.elf import section

        rela = section(self.vmlinux, ".rela.dyn") or b""
        pairs = sorted(
            (off, addend)
            for off, info, addend in struct.iter_unpack("<QQq", rela)
            if info & 0xFFFFFFFF == R_AARCH64_RELATIVE
        )
        return [o for o, _ in pairs], [a & 0xFFFFFFFFFFFFFFFF for _, a in pairs]


def _load_segments(path: Path) -> list[tuple[int, int, int]]:
    """(p_vaddr, p_offset, p_filesz) of each PT_LOAD segment of an ELF64 little-endian file."""
    with path.open("rb") as f:
        ehdr = f.read(64)
        (phoff,) = struct.unpack_from("<Q", ehdr, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", ehdr, 0x36)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    out = []
    for i in range(phnum):
        p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(
            "<IIQQQQ", table, i * phentsize
        )
        if p_type == _PT_LOAD:
            out.append((p_vaddr, p_offset, p_filesz))
    return out


@functools.cache
def _cached(vmlinux: Path, mtime_ns: int, arch: Arch) -> Layout:
    return Layout(vmlinux, arch)


def layout_for(vmlinux: Path, arch: Arch) -> Layout:
    """The Layout of ``vmlinux``, loaded once per process (and again if the file changes)."""
    return _cached(vmlinux.resolve(), vmlinux.stat().st_mtime_ns, arch)
