"""Guest memory at a stop, read from the RAM file QEMU keeps it in rather than through the stub.

``RamMemory`` stands where the capture's readers expect the gdb session (``read``, ``registers``,
``frame_arguments``): registers and frame arguments still come from gdb; memory is translated
with the guest's page tables (``debug.pagetables``) and read from the file, one page or block at
a time, and any address it cannot translate or that is not RAM is read through gdb as before.
Translations hold for one stop: the Walker calls ``stopped()`` whenever the guest stops.
"""

from __future__ import annotations

from typing import Protocol

from inspector.debug.gdb import GdbSession
from inspector.debug.pagetables import Walker, arm64_walker, x86_64_walker
from inspector.errors import InspectorError
from inspector.live.ram import GuestRam


class Target(Protocol):
    """What the capture's readers use of the debugger: memory, registers, frame arguments."""

    def read(self, address: int, size: int) -> bytes: ...

    def registers(self, names: tuple[str, ...]) -> dict[str, int]: ...

    def frame_arguments(self) -> dict[str, str]: ...


class RamMemory:
    def __init__(self, gdb: GdbSession, ram: GuestRam) -> None:
        self.gdb = gdb
        self.ram = ram
        self._walker: Walker | bool | None = False  # False: not read at this stop yet
        self._pages: dict[int, int] = {}  # virtual page → physical page, this stop
        self.file_bytes = 0  # read from the RAM file
        self.stub_bytes = 0  # read through gdb (untranslatable, or not RAM)

    def stopped(self) -> None:
        """The guest ran and stopped again: page tables may have changed."""
        self._walker = False
        self._pages.clear()

    def registers(self, names: tuple[str, ...]) -> dict[str, int]:
        return self.gdb.registers(names)

    def frame_arguments(self) -> dict[str, str]:
        return self.gdb.frame_arguments()

    def _root(self) -> Walker | None:
        if self._walker is False:
            if self.gdb.arch.link_register is None:
                r = self.gdb.registers(("cr3", "cr4"))
                self._walker = x86_64_walker(r["cr3"], r["cr4"])
            else:
                r = self.gdb.registers(("TTBR1_EL1", "TCR_EL1"))
                self._walker = arm64_walker(r["TTBR1_EL1"], r["TCR_EL1"])
        return self._walker if isinstance(self._walker, Walker) else None

    def _phys(self, walker: Walker, va: int) -> tuple[int, int] | None:
        """(physical address, bytes mapped contiguously from it) of ``va``."""
        page = va >> 12
        if (pa := self._pages.get(page)) is not None:
            off = va & 0xFFF
            return pa + off, 0x1000 - off
        m = walker.translate(self.ram.u64, va)
        if m is None:
            return None
        self._pages[page] = m.phys - (va & 0xFFF)
        return m.phys, m.size

    def read(self, address: int, size: int) -> bytes:
        walker = self._root()
        if walker is None:
            return self._stub(address, size)
        out = bytearray()
        at = address
        try:
            while len(out) < size:
                where = self._phys(walker, at)
                if where is None:
                    return self._stub(address, size)
                pa, run = where
                n = min(run, size - len(out))
                out += self.ram.view(pa, n)
                at += n
        except InspectorError:  # not RAM (a device, a hole): the stub knows
            return self._stub(address, size)
        self.file_bytes += size
        self.gdb.bytes_read += size
        return bytes(out)

    def _stub(self, address: int, size: int) -> bytes:
        self.stub_bytes += size
        return self.gdb.read(address, size)
