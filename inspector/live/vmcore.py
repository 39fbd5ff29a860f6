"""An ELF core of a paused guest, written straight from its RAM files, carrying a VMCOREINFO
note, so ``crash`` and stock drgn can open 4.7 guests too (``crash vmlinux vmcore``,
``drgn -c vmcore -s vmlinux``).

Like QEMU's ``dump-guest-memory`` without paging: one PT_LOAD per guest RAM piece, p_paddr the
guest-physical address, p_vaddr 0. Only what the guest wrote is read (the RAM files' data
extents) and all-zero MiBs are left as holes (a sparse file). The note
is the VMCOREINFO drgn was given (the guest's own, or derived: see ``vmcoreinfo``); on x86_64
``NUMBER(phys_base)`` is added when the guest's lacks it (4.7 exports only the symbol).
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from pathlib import Path

from inspector.errors import InspectorError
from inspector.live.program import LiveKernel
from inspector.live.vmcoreinfo import X86_START_KERNEL_MAP

_EM = {"x86_64": 62, "arm64": 183}
_ET_CORE = 4
_PT_LOAD, _PT_NOTE = 1, 4
_PF_RWX = 7
_EHDR, _PHDR = 64, 56
_CHUNK = 1 << 20
_ZERO = bytes(_CHUNK)


def _note(name: bytes, ntype: int, desc: bytes) -> bytes:
    name += b"\0"
    head = struct.pack("<III", len(name), len(desc), ntype)

    def pad(b: bytes) -> bytes:
        return b + bytes(-len(b) % 4)

    return head + pad(name) + pad(desc)


def note_text(lk: LiveKernel) -> str:
    text = lk.vmcoreinfo.text
    if not text.endswith("\n"):
        text += "\n"
    if lk.arch == "x86_64" and "NUMBER(phys_base)=" not in text:
        text += f"NUMBER(phys_base)={X86_START_KERNEL_MAP - lk.image.voffset}\n"
    return text


@dataclass
class VmcoreStats:
    path: Path
    bytes_of_ram: int
    bytes_written: int
    seconds: float


def write_vmcore(lk: LiveKernel, path: Path) -> VmcoreStats:
    """Write the ELF core of the guest behind ``lk`` (pause it first) to ``path``."""
    start = time.monotonic()
    segments = lk.ram.segments()
    note = _note(b"VMCOREINFO", 0, note_text(lk).encode())
    phnum = 1 + len(segments)
    note_off = _EHDR + phnum * _PHDR
    data_off = -(-(note_off + len(note)) // 4096) * 4096
    ehdr = struct.pack(
        "<4sBBBBB7sHHIQQQIHHHHHH",
        b"\x7fELF",
        2,  # ELFCLASS64
        1,  # ELFDATA2LSB
        1,  # EV_CURRENT
        0,
        0,
        bytes(7),
        _ET_CORE,
        _EM[lk.arch],
        1,
        0,  # e_entry
        _EHDR,  # e_phoff
        0,  # e_shoff
        0,  # e_flags
        _EHDR,
        _PHDR,
        phnum,
        0,
        0,
        0,
    )
    phdrs = [struct.pack("<IIQQQQQQ", _PT_NOTE, 0, note_off, 0, 0, len(note), 0, 0)]
    offset = data_off
    for phys, size, _view in segments:
        phdrs.append(struct.pack("<IIQQQQQQ", _PT_LOAD, _PF_RWX, offset, 0, phys, size, size, 0))
        offset += size
    written = 0
    try:
        with path.open("wb") as f:
            f.write(ehdr + b"".join(phdrs) + note)
            f.seek(data_off)
            base = data_off
            for i, (_phys, size, view) in enumerate(segments):
                # only where the guest wrote (a hole of the RAM file stays a hole of the core)
                for first, last in lk.ram.data_extents(i):
                    for pos in range(first, last, _CHUNK):
                        chunk = view[pos : min(last, pos + _CHUNK)].tobytes()
                        if chunk != _ZERO[: len(chunk)]:
                            f.seek(base + pos)
                            f.write(chunk)
                            written += len(chunk)
                base += size
            f.truncate(offset)
    except OSError as e:
        raise InspectorError(f"cannot write {path}: {e.strerror}; choose another --output") from e
    return VmcoreStats(path, offset - data_off, written, time.monotonic() - start)
