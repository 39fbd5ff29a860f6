"""Guest memory (bulk reads through gdb) decoded into ``inspector.schema`` objects.

Each reader reads whole objects (a ``pglist_data``, the ``memblock`` struct, a region array) in
one round trip and decodes them with offsets from the vmlinux's DWARF (``debug.layout``). Names
follow the kernel: ``read_pgdat`` reads ``NODE_DATA(nid)``, ``zone_free_area`` ``zone->free_area``.
Differences between 4.7 and 6.12 are handled where they occur (does the member exist?).
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass

import drgn

from inspector import decode
from inspector.capture.facts import KernelFacts
from inspector.debug.gdb import GdbError
from inspector.debug.layout import Layout, View
from inspector.debug.memory import Target
from inspector.errors import InspectorError
from inspector.schema import (
    MIGRATETYPES,
    FirmwareRange,
    FreeArea,
    Inputs,
    Memblock,
    MemblockRegion,
    Node,
    PerCpuPages,
    Zone,
    Zonelist,
)

# arch/x86/include/uapi/asm/e820.h (4.7) and arch/x86/include/asm/e820/types.h (6.12)
E820_TYPES = {
    1: "usable",
    2: "reserved",
    3: "ACPI data",
    4: "ACPI NVS",
    5: "unusable",
    7: "persistent (legacy)",
    12: "persistent",
    13: "soft reserved",
}
# walking a free list longer than this means we are reading garbage
_MAX_LIST = 1 << 22
_MASK64 = decode.MASK64


@dataclass
class Reader:
    """Decoders bound to one debugger (gdb, or the RAM file at a stop) and one vmlinux."""

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

    # -- stop 1: inputs ----------------------------------------------------------------------
    def memblock(self, mb: View | None = None) -> Memblock:
        """memblock.memory and .reserved (``mb``: the ``memblock`` struct if already read)."""
        mb = mb or self.var("memblock")
        return Memblock(self._regions(mb.sub("memory")), self._regions(mb.sub("reserved")))

    def _regions(self, mtype: View) -> list[MemblockRegion]:
        cnt, ptr = mtype["cnt"], mtype["regions"]
        size = self.layout.sizeof("struct memblock_region")
        data = self.gdb.read(ptr, cnt * size)
        out = []
        for i in range(cnt):
            r = View(self.layout.type("struct memblock_region"), data, i * size)
            nid = r["nid"] if self.layout.has_member("struct memblock_region", "nid") else 0
            out.append(MemblockRegion(r["base"], r["size"], nid, r["flags"]))
        # memblock keeps one empty region in an empty type
        return [r for r in out if r.size]

    def numa_meminfo(self) -> list[MemblockRegion]:
        if not self.layout.has_symbol("numa_meminfo"):  # x86 only
            return []
        mi = self.var("numa_meminfo")
        return [
            MemblockRegion(b["start"], b["end"] - b["start"], b["nid"])
            for b in mi.views("blk", mi["nr_blks"])
        ]

    def node_distance(self, nodes: list[int]) -> list[list[int]]:
        """numa_distance[from * cnt + to]; LOCAL/REMOTE defaults when the table is not set."""
        cnt = self.var_int("numa_distance_cnt") if self.layout.has_symbol("numa_distance") else 0
        n = max(nodes, default=0) + 1
        if cnt == 0:
            return [[10 if a == b else 20 for b in range(n)] for a in range(n)]
        table = self.gdb.read(self.var_int("numa_distance"), cnt * cnt)
        return [[table[a * cnt + b] for b in range(cnt)] for a in range(cnt)]

    def cpu_to_node(self) -> list[int]:
        """The arch's cpu→node map as it stands (-1: not assigned yet)."""
        n = self.nr_cpu_ids
        if self.layout.has_symbol("x86_cpu_to_node_map_early_ptr"):
            if self.var_int("x86_cpu_to_node_map_early_ptr"):
                return self.var("x86_cpu_to_node_map_early_map").array("")[:n]
            addr = self.layout.address("x86_cpu_to_node_map")
            return [
                int.from_bytes(self.gdb.read((addr + off) & _MASK64, 4), "little", signed=True)
                for off in self.per_cpu_offset
            ]
        if self.layout.has_symbol("cpu_to_node_map"):  # arm64
            return self.var("cpu_to_node_map").array("")[:n]
        return []

    def firmware_map(self, memblock: Memblock) -> list[FirmwareRange]:
        """x86_64: the e820 table; elsewhere the DT memory, as memblock.memory holds it."""
        if self.layout.has_symbol("e820"):  # 4.7: struct e820map e820
            t = self.var("e820")
            entries = t.views("map", t["nr_map"])
        elif self.layout.has_symbol("e820_table"):  # 6.12: struct e820_table *e820_table
            t = self.struct_at("struct e820_table", self.var_int("e820_table"))
            entries = t.views("entries", t["nr_entries"])
        else:
            return [FirmwareRange(r.base, r.base + r.size, "memory") for r in memblock.memory]
        return [
            FirmwareRange(
                e["addr"], e["addr"] + e["size"], E820_TYPES.get(e["type"], str(e["type"]))
            )
            for e in entries
        ]

    def inputs(self, max_zone_pfn_addr: int) -> Inputs:
        max_zone_pfn = [
            int.from_bytes(b, "little")
            for b in _chunks(self.gdb.read(max_zone_pfn_addr, 8 * self.max_nr_zones), 8)
        ]
        mb_view = self.var("memblock")
        mb = self.memblock(mb_view)
        nodes = self.online_nodes()
        return Inputs(
            max_zone_pfn=max_zone_pfn,
            zone_names=self.zone_names,
            memblock=mb,
            numa_meminfo=self.numa_meminfo(),
            node_distance=self.node_distance(nodes),
            cpu_to_node=_trim_unassigned(self.cpu_to_node()),
            firmware_map=self.firmware_map(mb),
            cmdline=self.var("boot_command_line").data.split(b"\0", 1)[0].decode(errors="replace"),
            constants=self.constants() | self.stop1_variables(mb_view),
            online_nodes=nodes,
            possible_nodes=self.nodes_in("N_POSSIBLE"),
        )

    def stop1_variables(self, mb: View) -> dict[str, int]:
        """Kernel variables the model starts from, as they stand at stop 1: max_low_pfn (the
        clamp of nobootmem's __free_memory_core), memblock.current_limit (the top of early
        allocations), x86's phys_base (__pa_symbol() of the kernel image)."""
        out = {
            "max_low_pfn": self.var_int("max_low_pfn"),
            "memblock.current_limit": mb["current_limit"],
        }
        if self.layout.arch.name == "x86_64":  # an asm symbol (head_64.S): no DWARF type
            out["phys_base"] = self.ulong(self.layout.address("phys_base"))
        for name in ("max_pfn", "max_possible_pfn", "memstart_addr", "dma_reserve"):
            # the top of RAM (x86's pci_swiotlb_detect_4gb()), arm64's PHYS_OFFSET, and x86's
            # memblock_find_dma_reserve() result (computed in setup_arch(), before stop 1)
            if self.layout.has_symbol(name):
                out[name] = self.var_int(name)
        return out

    def handoff_variables(self) -> dict[str, int]:
        """What ACPI's MADT and HPET tables set after stop 1 (x86_64): the IOAPIC count and
        the HPET base, which size ioapic_setup_resources() and acpi_parse_hpet()."""
        return {
            n: self.var_int(n) for n in ("nr_ioapics", "hpet_address") if self.layout.has_symbol(n)
        }

    # -- nodes and zones ---------------------------------------------------------------------
    def nodes_in(self, state: str) -> list[int]:
        """node_states[state] (``N_ONLINE``, ``N_POSSIBLE`` …) as a list of node ids."""
        index = self.layout.enumerators("enum node_states")[state]
        bits = self.var("node_states").sub(f"[{index}]").array("bits")
        return [w * 64 + b for w, word in enumerate(bits) for b in range(64) if word >> b & 1]

    def online_nodes(self) -> list[int]:
        return self.nodes_in("N_ONLINE")

    def pgdat_address(self, nid: int) -> int:
        if self.layout.has_symbol("node_data"):
            addr = self.ulong(self.layout.address("node_data") + 8 * nid)
            if not addr:
                raise InspectorError(f"NODE_DATA({nid}) is NULL: node {nid} is not set up")
            return addr
        return self.layout.address("contig_page_data")

    def read_pgdat(self, nid: int) -> View:
        addr = self.pgdat_address(nid)
        return self.struct_at("struct pglist_data", addr)

    def node(self, pgdat: View, zones: list[Zone]) -> Node:
        return Node(
            node_id=pgdat["node_id"],
            node_start_pfn=pgdat["node_start_pfn"],
            node_spanned_pages=pgdat["node_spanned_pages"],
            node_present_pages=pgdat["node_present_pages"],
            nr_zones=pgdat["nr_zones"],
            zones=zones,
        )

    def zone(self, pgdat: View, idx: int, *, managed: bool = True) -> Zone:
        """The sizes of NODE_DATA(nid)->node_zones[idx] (managed_pages once it is set)."""
        z = pgdat.sub(f"node_zones[{idx}]")
        return Zone(
            node=pgdat["node_id"],
            idx=idx,
            name=self.zone_names[idx],
            zone_start_pfn=z["zone_start_pfn"],
            spanned_pages=z["spanned_pages"],
            present_pages=z["present_pages"],
            managed_pages=z["managed_pages"] if managed else None,
        )

    def zones(self, pgdat: View, *, managed: bool = True) -> list[Zone]:
        return [self.zone(pgdat, i, managed=managed) for i in range(self.max_nr_zones)]

    # -- pageblock flags (SPARSEMEM: the usemap lives in mem_section) -------------------------
    def _section_root(self, index: int) -> int:
        """mem_section[index]: SPARSEMEM_EXTREME's root of SECTIONS_PER_ROOT sections."""
        ms = self.layout.variable_type("mem_section")
        if ms.kind == drgn.TypeKind.ARRAY:  # 4.7: struct mem_section *mem_section[ROOTS]
            return self.ulong(self.layout.address("mem_section") + 8 * index)
        # 6.12: struct mem_section **mem_section, allocated at boot (commit 83e3c48729d9, 4.15)
        base = self.var_int("mem_section")
        return self.ulong(base + 8 * index) if base else 0

    @functools.cached_property
    def _sections(self) -> dict[int, tuple[int, int] | None]:
        """Section number -> (section_mem_map, pageblock bitmap address), None for a section
        with no memmap; set by sparse_init() (before stop 1 in 4.7, inside free_area_init in
        6.12) and fixed after."""
        return {}

    @functools.cached_property
    def _per_root(self) -> int:
        return self.facts.page_size // self.layout.sizeof("struct mem_section")

    def _section_flag(self, enumerator: str, default: int) -> int:
        """A mem_section flag: BIT(enumerator) in 6.12 (an enum, in DWARF); 4.7 #defines the
        flags (absent from DWARF: ``default``)."""
        try:
            return 1 << int(self.layout.prog.constant(enumerator).value_())
        except LookupError:
            return default

    @functools.cached_property
    def _section_has_mem_map(self) -> int:
        """SECTION_HAS_MEM_MAP (4.7: (1UL<<1))."""
        return self._section_flag("SECTION_HAS_MEM_MAP_BIT", 1 << 1)

    @functools.cached_property
    def _section_map_last_bit(self) -> int:
        """SECTION_MAP_LAST_BIT as a mask (4.7: (1UL<<2); 6.12: BIT(SECTION_MAP_LAST_BIT))."""
        return self._section_flag("SECTION_MAP_LAST_BIT", 1 << 2)

    def _read_root(self, r: int, nrs: list[int]) -> None:
        """Sections ``nrs`` (sorted) of SPARSEMEM_EXTREME root ``r`` into ``_sections``; a
        NULL root holds no present section (__nr_to_section() is NULL)."""
        root = self._section_root(r)
        if not root:
            self._sections.update(dict.fromkeys(nrs))
            return
        size = self.layout.sizeof("struct mem_section")
        lo, hi = nrs[0] % self._per_root, nrs[-1] % self._per_root
        data = self.gdb.read(root + lo * size, (hi - lo + 1) * size)
        t = self.layout.type("struct mem_section")
        for nr in nrs:
            ms = View(t, data, (nr % self._per_root - lo) * size)
            self._sections[nr] = self._section(nr, ms)

    def _section(self, nr: int, ms: View) -> tuple[int, int] | None:
        """(section_mem_map, usemap) of one section; None unless valid_section()."""
        if not ms["section_mem_map"] & self._section_has_mem_map:
            return None  # valid_section(): e.g. a section in the PCI hole below 4 GiB
        if self.layout.has_member("struct mem_section", "pageblock_flags"):
            bitmap = ms["pageblock_flags"]  # 4.7
        else:  # 6.12: ms->usage->pageblock_flags (commit f1eca35a0dc7, 5.3)
            usage = ms["usage"]
            off = self.layout.offsetof("struct mem_section_usage", "pageblock_flags")
            bitmap = usage + off if usage else 0
        if not bitmap:
            raise InspectorError(f"mem_section {nr} has a memmap but no usemap")
        return ms["section_mem_map"], bitmap

    def mem_sections(self, numbers: set[int]) -> dict[int, tuple[int, int] | None]:
        """(section_mem_map, pageblock bitmap) of each section, None where the section has no
        memmap: one read per root's run."""
        want = sorted(n for n in numbers if n not in self._sections)
        by_root: dict[int, list[int]] = {}
        for nr in want:
            by_root.setdefault(nr // self._per_root, []).append(nr)
        for r, nrs in by_root.items():
            self._read_root(r, nrs)
        return {n: self._sections[n] for n in numbers}

    def pfn_to_page(self, pfn: int) -> int:
        """Address of the struct page of ``pfn`` (SPARSEMEM: __section_mem_map_addr() + pfn)."""
        nr = pfn >> self.facts.pfn_section_shift
        section = self.mem_sections({nr})[nr]
        if section is None:
            raise InspectorError(f"pfn {pfn:#x} has no memmap (mem_section {nr} is not valid)")
        mem_map = decode.section_mem_map_addr(section[0], self._section_map_last_bit)
        return (mem_map + pfn * self.layout.sizeof("struct page")) & _MASK64

    def _usemaps(self, sections: dict[int, tuple[int, int]]) -> dict[int, bytes]:
        """Each section's pageblock bitmap; one read when they sit together (they are allocated
        per node in one block)."""
        n = self.facts.usemap_bytes
        if not sections:
            return {}
        addrs = [bitmap for _, bitmap in sections.values()]
        lo, hi = min(addrs), max(addrs) + n
        if hi - lo <= 64 << 10:
            block = self.gdb.read(lo, hi - lo)
            return {nr: block[b - lo : b - lo + n] for nr, (_, b) in sections.items()}
        return {nr: self.gdb.read(b, n) for nr, (_, b) in sections.items()}

    def pageblock_migratetypes(self, start_pfn: int, nr_pages: int) -> list[int]:
        """get_pfnblock_migratetype() of each pageblock in [start_pfn, start_pfn + nr_pages).

        A pageblock in a section without a memmap (a hole: memmap_init_zone() skips it, as
        early_pfn_valid() is false there) has no usemap either: reported as 0 (MIGRATE_UNMOVABLE),
        the value of a pageblock nothing ever set."""
        f = self.facts
        order = f.pageblock_order
        first = start_pfn >> order
        last = (start_pfn + nr_pages - 1) >> order if nr_pages else first - 1
        if last < first:
            return []
        numbers = {(b << order) >> f.pfn_section_shift for b in range(first, last + 1)}
        sections = self.mem_sections(numbers)
        usemaps = self._usemaps({nr: s for nr, s in sections.items() if s is not None})
        out = []
        for b in range(first, last + 1):
            words = usemaps.get((b << order) >> f.pfn_section_shift)
            out.append(0 if words is None else self._migratetype(words, b << order))
        return out

    @functools.cached_property
    def _pageblock_bits(self) -> tuple[int, int]:
        """(PB_migrate_end, NR_PAGEBLOCK_BITS) of enum pageblock_bits."""
        bits = self.layout.enumerators("enum pageblock_bits")
        return bits["PB_migrate_end"], bits["NR_PAGEBLOCK_BITS"]

    def _migratetype(self, words: bytes, pfn: int) -> int:
        """get_pfnblock_flags_mask(page, pfn, PB_migrate_end, MIGRATETYPE_MASK) on the usemap
        ``words`` of pfn's section."""
        f = self.facts
        end_bit, nbits = self._pageblock_bits
        return decode.pageblock_migratetype(
            words,
            pfn,
            pfn_section_shift=f.pfn_section_shift,
            pageblock_order=f.pageblock_order,
            nr_pageblock_bits=nbits,
            migrate_end_bit=end_bit,
            msb_first=f.pageblock_bits_msb_first,
        )

    # -- zonelists ---------------------------------------------------------------------------
    def zonelists(self, pgdats: dict[int, View]) -> list[Zonelist]:
        zone_size = self.layout.sizeof("struct zone")
        zones_off = self.layout.offsetof("struct pglist_data", "node_zones")
        where = {pg.address: nid for nid, pg in pgdats.items()}

        def name(ptr: int) -> tuple[int, str]:
            for base, nid in where.items():
                off = ptr - base - zones_off
                if 0 <= off < zone_size * self.max_nr_zones:
                    return nid, self.zone_names[off // zone_size]
            raise InspectorError(f"zonelist entry {ptr:#x} is not a zone of any online node")

        kinds = ("fallback", "nofallback")
        out = []
        for nid, pg in pgdats.items():
            for i, zl in enumerate(pg.views("node_zonelists")):
                entries = []
                for ref in zl.views("_zonerefs"):
                    if not ref["zone"]:
                        break
                    entries.append(name(ref["zone"]))
                out.append(Zonelist(nid, kinds[i] if i < len(kinds) else str(i), entries))
        return out

    # -- buddy state -------------------------------------------------------------------------
    def list_entries(self, head: int) -> list[int]:
        """The entries on the list_head at ``head``, head first (one 8-byte read each: ->next)."""
        out: list[int] = []
        pos = self.ulong(head)
        while pos != head:
            out.append(pos)
            if len(out) > _MAX_LIST or not pos:
                raise InspectorError(f"free list at {head:#x} does not come back to its head")
            pos = self.ulong(pos)
        return out

    def list_length(self, head: int) -> int:
        """Entries on the list_head at ``head``."""
        return len(self.list_entries(head))

    def lru_to_pfn(self, entry: int, mem_map: int) -> int:
        """page_to_pfn() of the page whose ->lru is ``entry``; ``mem_map`` is the address of
        pfn 0's struct page (SPARSEMEM_VMEMMAP: one base for every section)."""
        return decode.lru_to_pfn(
            entry,
            mem_map,
            self.layout.offsetof("struct page", "lru"),
            self.layout.sizeof("struct page"),
        )

    def zone_is_initialized(self, zone: View) -> bool:
        """zone_is_initialized() (include/linux/mmzone.h): 4.7 ``!!zone->wait_table``, 6.12
        ``zone->initialized``; both set by init_currently_empty_zone(), which also
        initialises the free lists (zone_init_free_lists())."""
        if self.layout.has_member("struct zone", "wait_table"):  # 4.7
            return bool(zone["wait_table"])
        return bool(zone["initialized"])

    def zone_free_area(
        self, zone: View, walk: bool = True, mem_map: int | None = None
    ) -> list[FreeArea]:
        """zone->free_area: nr_free, and with ``walk`` the length of each free list and the pfn
        of each block on it, head first (``mem_map``: pfn 0's struct page). The lists of a zone
        that free_area_init_core() never initialised (no spanned pages: its list heads are
        still zeroed) hold nothing: their lengths are 0, as the model has them."""
        initialized = self.zone_is_initialized(zone)
        out = []
        for order, fa in enumerate(zone.views("free_area")):
            if not walk:
                out.append(FreeArea(order, fa["nr_free"]))
                continue
            lengths = [0] * len(MIGRATETYPES)
            blocks: list[list[int]] = [[] for _ in MIGRATETYPES]
            for mt, lh in enumerate(fa.views("free_list")):
                # an empty list points at itself: no round trip needed
                if initialized and lh["next"] != lh.address:
                    entries = self.list_entries(lh.address)
                    lengths[mt] = len(entries)
                    if mem_map is None:
                        raise InspectorError("a free list holds pages of a zone with no memmap")
                    blocks[mt] = [self.lru_to_pfn(e, mem_map) for e in entries]
            out.append(FreeArea(order, fa["nr_free"], lengths, blocks))
        return out

    def zone_state(
        self,
        pgdat: View,
        idx: int,
        *,
        buddy: bool = False,
        wmarks: bool = False,
        walk: bool = True,
        pageblocks: bool = False,
    ) -> Zone:
        z = pgdat.sub(f"node_zones[{idx}]")
        zone = self.zone(pgdat, idx)
        nr_free = self.layout.enumerators("enum zone_stat_item")["NR_FREE_PAGES"]
        if pageblocks:
            zone.pageblock_migratetypes = self.pageblock_migratetypes(
                zone.zone_start_pfn, zone.spanned_pages
            )
        if buddy:
            zone.nr_free_pages = z[f"vm_stat[{nr_free}]"]
            mem_map = None
            if walk and zone.present_pages:
                # pfn_to_page(zone_start_pfn) - zone_start_pfn: the vmemmap base
                size = self.layout.sizeof("struct page")
                with contextlib.suppress(InspectorError):  # a zone that starts in a hole
                    first = self.pfn_to_page(zone.zone_start_pfn)
                    mem_map = (first - zone.zone_start_pfn * size) & _MASK64
            zone.free_area = self.zone_free_area(z, walk=walk, mem_map=mem_map)
        if wmarks:
            member = (
                "watermark"
                if self.layout.has_member("struct zone", "watermark")
                else ("_watermark")
            )  # 6.12: _watermark[] (commit 1c30844d2dfe, 5.0)
            zone.watermark = z.array(member)
            zone.lowmem_reserve = z.array("lowmem_reserve")
            zone.nr_free_pages = z[f"vm_stat[{nr_free}]"]
            zone.pageset = self.pagesets(z) if zone.present_pages else None
            if self.layout.has_member("struct zone", "pageset_high_min"):  # 6.12
                zone.pcp_high_min = z["pageset_high_min"]
                zone.pcp_high_max = z["pageset_high_max"]
        return zone

    def pagesets(self, zone: View) -> list[PerCpuPages]:
        """zone->pageset (4.7; per_cpu_pageset in 6.12) for each possible CPU."""
        if self.layout.has_member("struct zone", "pageset"):  # 4.7: struct per_cpu_pageset
            base, pcp_type, pcp_off = (
                zone["pageset"],
                "struct per_cpu_pages",
                self.layout.offsetof("struct per_cpu_pageset", "pcp"),
            )
        else:  # 6.12: struct per_cpu_pages __percpu *per_cpu_pageset (commit 28f836b6777b, 5.14)
            base, pcp_type, pcp_off = zone["per_cpu_pageset"], "struct per_cpu_pages", 0
        out = []
        for cpu, off in enumerate(self.per_cpu_offset):
            # per_cpu_ptr(): the sum wraps (arm64 offsets are "negative")
            p = self.struct_at(pcp_type, (base + off + pcp_off) & _MASK64)
            out.append(PerCpuPages(cpu, p["count"], p["high"], p["batch"]))
        return out


def _trim_unassigned(cpu_to_node: list[int]) -> list[int]:
    """Drop the trailing CPUs not assigned a node yet (-1): at free_area_init(_nodes) entry
    nr_cpu_ids is still NR_CPUS on both arches."""
    while cpu_to_node and cpu_to_node[-1] < 0:
        cpu_to_node.pop()
    return cpu_to_node


def _chunks(data: bytes, n: int) -> list[bytes]:
    return [data[i : i + n] for i in range(0, len(data), n)]
