"""Guest RAM read from the host files QEMU keeps it in (``memory-backend-file,share=on``).

QEMU places the RAM of node 0, node 1, … one after another in guest-physical space. On x86
``pc``/``q35`` the part beyond "lowmem" moves above 4 GiB (the PCI hole); on arm64 ``virt`` RAM
starts at 1 GiB. ``ram_map`` turns a topology into (guest-physical start, file, file offset,
size) pieces; ``GuestRam`` maps the files read-only and serves reads by physical address.
"""

from __future__ import annotations

import bisect
import contextlib
import mmap
import os
from dataclasses import dataclass
from pathlib import Path

from inspector.arch import Arch
from inspector.errors import InspectorError
from inspector.resource import Resource
from inspector.vm.qemu import above_4g_start, lowmem, node_ram_file
from inspector.vm.topology import Topology

G = 1 << 30


@dataclass(frozen=True)
class RamPiece:
    phys: int  # guest-physical start
    file: Path
    offset: int  # in the file
    size: int


def ram_files(ram_file: Path, topo: Topology) -> list[Path]:
    """The backing file of each node with memory (the file itself when not NUMA)."""
    if not topo.numa:
        return [ram_file]
    return [node_ram_file(ram_file, n.nodeid) for n in topo.nodes if n.mem]


def ram_map(arch: Arch, machine: str | None, topo: Topology, files: list[Path]) -> list[RamPiece]:
    """Where each node's backing file (``files``, nodes with memory in order) lies in
    guest-physical memory: on x86 the RAM below 4 GiB, then the rest from 4 GiB (from 1 TiB
    where QEMU relocates it: ``above_4g_start``)."""
    sizes = [n.mem for n in topo.nodes if n.mem] if topo.numa else [topo.mem]
    split = lowmem(arch, machine, topo.mem)
    high = above_4g_start(machine or arch.machine, topo.mem) if split is not None else 0
    pieces: list[RamPiece] = []
    offset = 0  # offset in the concatenation of all nodes' RAM
    for file, size in zip(files, sizes, strict=True):
        lo, hi = offset, offset + size
        if split is None:
            pieces.append(RamPiece(arch.ram_base + lo, file, 0, size))
        else:
            if lo < split:
                pieces.append(RamPiece(lo, file, 0, min(hi, split) - lo))
            if hi > split:
                start = max(lo, split)
                pieces.append(RamPiece(high + start - split, file, start - lo, hi - start))
        offset = hi
    return sorted(pieces, key=lambda p: p.phys)


class GuestRam(Resource):
    """``with GuestRam(pieces) as ram: ram.read(phys, n)``; the files are mapped read-only."""

    def __init__(self, pieces: list[RamPiece]) -> None:
        self.pieces = pieces
        self._starts = [p.phys for p in pieces]
        self._maps: list[mmap.mmap] = []
        self._views: list[memoryview] = []

    def __enter__(self) -> GuestRam:
        self.open()
        return self

    def open(self) -> None:
        maps: dict[Path, mmap.mmap] = {}
        for p in self.pieces:
            if p.file not in maps:
                try:
                    with p.file.open("rb") as f:
                        maps[p.file] = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
                except (OSError, ValueError) as e:
                    raise InspectorError(
                        f"cannot map guest RAM file {p.file} ({e}): boot the guest with ram_file"
                    ) from e
            m = maps[p.file]
            if len(m) < p.offset + p.size:
                raise InspectorError(
                    f"guest RAM file {p.file} holds {len(m)} bytes, not {p.offset + p.size}: "
                    "it belongs to another guest"
                )
            self._views.append(memoryview(m)[p.offset : p.offset + p.size])
        self._maps = list(maps.values())

    def close(self) -> None:
        for v in self._views:
            v.release()
        self._views = []
        for m in self._maps:
            with contextlib.suppress(BufferError):
                m.close()
        self._maps = []

    def view(self, phys: int, size: int) -> memoryview:
        """A zero-copy view of [phys, phys+size), which must lie inside one RAM piece."""
        i = bisect.bisect_right(self._starts, phys) - 1
        if i >= 0:
            p = self.pieces[i]
            off = phys - p.phys
            if off + size <= p.size:
                return self._views[i][off : off + size]
        raise InspectorError(f"guest-physical {phys:#x}+{size:#x} is not RAM")

    def read(self, phys: int, size: int) -> bytes:
        return bytes(self.view(phys, size))

    def u64(self, phys: int) -> int:
        return int.from_bytes(self.view(phys, 8), "little")

    def segments(self) -> list[tuple[int, int, memoryview]]:
        """(guest-physical start, size, view) of each piece, for drgn's memory segments."""
        return [(p.phys, p.size, v) for p, v in zip(self.pieces, self._views, strict=True)]

    def data_extents(self, index: int) -> list[tuple[int, int]]:
        """[start, end) of piece ``index`` (offsets in the piece) where its file holds data: the
        guest wrote there. The rest reads as zeros and is never touched: reading a memfd's hole
        through the mapping would allocate it (a 256 GiB guest's RAM, of which it wrote 4 GiB).
        SEEK_DATA/SEEK_HOLE; the whole piece where the file system has neither."""
        piece = self.pieces[index]
        start, end = piece.offset, piece.offset + piece.size
        out: list[tuple[int, int]] = []
        try:
            fd = os.open(piece.file, os.O_RDONLY)
        except OSError:
            return [(0, piece.size)]
        try:
            pos = start
            while pos < end:
                try:
                    data = os.lseek(fd, pos, os.SEEK_DATA)
                except OSError:  # ENXIO: no data past pos
                    break
                if data >= end:
                    break
                hole = min(os.lseek(fd, data, os.SEEK_HOLE), end)
                out.append((data - start, hole - start))
                pos = hole
        except OSError:
            return [(0, piece.size)]
        finally:
            os.close(fd)
        return out


def ram_memfds(topo: Topology, run: str = "") -> list[int]:
    """One memfd per node with memory (one in all without NUMA), sized to it: the guest's RAM,
    shared with QEMU and mapped by us, and in no filesystem. Each is named after its ``run``
    directory (``/proc/PID/fd`` shows ``/memfd:mmi-guest-ram0-RUN``), so what a run left
    behind can be told from another run's."""
    sizes = [n.mem for n in topo.nodes if n.mem] if topo.numa else [topo.mem]
    fds: list[int] = []
    try:
        for i, size in enumerate(sizes):
            fd = os.memfd_create(f"mmi-guest-ram{i}-{run}" if run else f"mmi-guest-ram{i}")
            fds.append(fd)
            os.ftruncate(fd, size)
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    return fds
