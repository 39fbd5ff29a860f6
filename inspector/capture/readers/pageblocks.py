"""Pageblock flags under SPARSEMEM: mem_section[] (SPARSEMEM_EXTREME roots; 4.7's array, 6.12's
pointer), each valid section's memmap and usemap (4.7 ms->pageblock_flags, 6.12
ms->usage->pageblock_flags), pfn_to_page(), and get_pfnblock_migratetype() of each pageblock.
"""

from __future__ import annotations

import functools

import drgn

from inspector import decode
from inspector.capture.readers.base import ReaderBase
from inspector.debug.layout import View
from inspector.errors import InspectorError

_MASK64 = decode.MASK64


class PageblockReader(ReaderBase):
    """mem_section[], the memmap and usemap of each section, the pageblocks' migratetypes."""

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
        """A mem_section flag: BIT(enumerator) from 6.1 (an enum, in DWARF); before, #defines
        (absent from DWARF: ``default``)."""
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
        """SECTION_MAP_LAST_BIT as a mask: BIT(SECTION_MAP_LAST_BIT) from DWARF, else the
        release's #define (decode.section_map_last_bit: 4.7 (1UL<<2) … 5.17 (1UL<<5))."""
        return self._section_flag(
            "SECTION_MAP_LAST_BIT", decode.section_map_last_bit(self.facts.version)
        )

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
