"""What every reader of guest memory shares: the debugger (gdb, or the RAM file at a stop),
the vmlinux's DWARF layout and the kernel facts; raw access (a whole global in one round trip,
a struct at an address); the constants DWARF gives (MAX_NR_ZONES, the free-area orders, the
migrate types, zone_names[], nr_cpu_ids, __per_cpu_offset[]); the mm globals as they stand; and
the check that the booted kernel is this vmlinux (linux_banner).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import drgn

from inspector import decode
from inspector.capture.facts import KernelFacts
from inspector.debug.gdb import GdbError
from inspector.debug.layout import Layout, View
from inspector.debug.memory import Target
from inspector.errors import InspectorError

_MASK64 = decode.MASK64


@dataclass
class ReaderBase:
    """The debugger and vmlinux one reader is bound to, with raw access and DWARF constants."""

    gdb: Target
    layout: Layout
    facts: KernelFacts

    # -- raw access --------------------------------------------------------------------------
    def var(self, name: str) -> View:
        """The whole global variable ``name``, read in one round trip."""
        addr = self.layout.address(name)
        t = self.layout.variable_type(name)
        size = drgn.sizeof(t)
        return View(t, self.gdb.read(addr, size), 0, addr)

    def var_int(self, name: str) -> int:
        return self.var(name).value()

    def ulong(self, address: int) -> int:
        return int.from_bytes(self.gdb.read(address, 8), "little")

    def struct_at(self, type_name: str, address: int) -> View:
        return self.layout.view(
            type_name, self.gdb.read(address, self.layout.sizeof(type_name)), address
        )

    # -- constants from DWARF ----------------------------------------------------------------
    @functools.cached_property
    def max_nr_zones(self) -> int:
        t = self.layout.type("struct pglist_data")
        return int(t.member("node_zones").type.length)

    @functools.cached_property
    def nr_orders(self) -> int:
        """MAX_ORDER in 4.7, NR_PAGE_ORDERS in 6.12: the length of zone->free_area."""
        return int(self.layout.type("struct zone").member("free_area").type.length)

    @functools.cached_property
    def migrate_types(self) -> int:
        return int(self.layout.type("struct free_area").member("free_list").type.length)

    @functools.cached_property
    def zone_names(self) -> list[str]:
        """zone_names[] from the vmlinux file itself (const data: no round trip)."""
        addr = self.layout.address("zone_names")
        ptrs = self.layout.file_bytes(addr, 8 * self.max_nr_zones)
        names = []
        for i in range(self.max_nr_zones):
            p = int.from_bytes(ptrs[8 * i : 8 * i + 8], "little")
            names.append(self.layout.file_bytes(p, 16).split(b"\0", 1)[0].decode())
        return names

    @property
    def nr_cpu_ids(self) -> int:
        """Read at each use: it shrinks from NR_CPUS once the possible map is known."""
        return self.var_int("nr_cpu_ids")

    @property
    def per_cpu_offset(self) -> list[int]:
        return self.var("__per_cpu_offset").array("")[: self.nr_cpu_ids]

    def constants(self) -> dict[str, int]:
        return {
            "MAX_ORDER": self.nr_orders,  # number of orders (6.12: NR_PAGE_ORDERS)
            "MAX_NR_ZONES": self.max_nr_zones,
            "MIGRATE_TYPES": self.migrate_types,
            "pageblock_order": self.facts.pageblock_order,
            "sizeof_struct_page": self.layout.sizeof("struct page"),
            "nr_cpu_ids": self.nr_cpu_ids,
            "PAGE_SIZE": self.facts.page_size,
            "SECTION_SIZE_BITS": self.facts.section_size_bits,
        }

    def mm_globals(self, names: tuple[str, ...], nodes: list[int]) -> dict[str, int]:
        """The mm globals ``names`` (schema.GLOBALS_*) as they stand: ``x[]`` is an array read
        whole, keyed by zone name (``arch_zone_*``) or by node (``zone_movable_pfn``). A symbol
        this vmlinux lacks (a version difference, or the linker dropped it) is left out."""
        out: dict[str, int] = {}
        for name in names:
            base = name.removesuffix("[]")
            sym = base
            if base == "totalram_pages":  # 6.12: atomic_long_t _totalram_pages
                sym = next((s for s in decode.TOTALRAM_SYMBOLS if self.layout.has_symbol(s)), base)
            if not self.layout.has_symbol(sym):
                continue
            if not name.endswith("[]"):
                out[base] = self.var_int(sym)
                continue
            values = self.var(sym).array("")
            if base.startswith("arch_zone_"):
                for i, zname in enumerate(self.zone_names):
                    out[f"{base}[{zname}]"] = values[i]
            else:
                for nid in nodes:
                    out[f"{base}[{nid}]"] = values[nid]
        return out

    # -- identity ----------------------------------------------------------------------------
    def check_banner(self) -> str:
        """linux_banner in guest memory must equal the vmlinux's, or offsets would be lies."""
        addr = self.layout.address("linux_banner")
        size = self.layout.symbol_size("linux_banner")
        want = self.layout.file_bytes(addr, size)
        try:
            got = self.gdb.read(addr, size)
            seen = repr(got.split(b"\0", 1)[0].decode(errors="replace").strip()[:60])
        except GdbError:
            got, seen = b"", "unreadable"
        if got != want:
            raise InspectorError(
                f"the booted kernel is not {self.layout.vmlinux} (guest linux_banner: {seen}): "
                "boot the image built alongside this vmlinux"
            )
        return want.split(b"\0", 1)[0].decode(errors="replace").strip()
