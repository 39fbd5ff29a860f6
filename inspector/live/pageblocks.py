"""Pageblock migratetypes, read from each section's pageblock bitmap in one read per section.

Per section, NR_PAGEBLOCK_BITS bits per pageblock; the migratetype is the low three
(MIGRATETYPE_MASK). Where the bitmap lives and how a word is read differ:

- 4.7: ``mem_section.pageblock_flags``; a block's bits counted from the word's top:
  ``word >> (BITS_PER_LONG - (bitidx + PB_migrate_end) - 1)``.
- 6.12: ``mem_section.usage->pageblock_flags[]`` (f1eca35a0dc7, v5.4), bits from the bottom:
  ``word >> bitidx`` (the pageblock bitmap accessors were simplified in v5.9).
"""

from __future__ import annotations

import drgn

from inspector import decode
from inspector.live.sections import Section


class PageblockReader:
    def __init__(self, prog: drgn.Program, sections: dict[int, Section], pageblock_order: int):
        self.prog = prog
        self.sections = sections
        self.order = pageblock_order
        self.shift = int((prog["SECTION_SIZE_BITS"] - prog["PAGE_SHIFT"]).value_())
        self.bits = int(prog["NR_PAGEBLOCK_BITS"].value_())
        self.end_bitidx = int(prog["PB_migrate_end"].value_())
        ms = prog.type("struct mem_section")
        self.via_usage = ms.has_member("usage")
        self.bitmap_offset = drgn.offsetof(ms, "usage" if self.via_usage else "pageblock_flags")
        if self.via_usage:
            self.flags_offset = drgn.offsetof(
                prog.type("struct mem_section_usage"), "pageblock_flags"
            )
        self.ms_size = drgn.sizeof(ms)
        self._bitmaps: dict[int, bytes | None] = {}

    def _section_address(self, nr: int) -> int:
        per_root = int(self.prog["SECTIONS_PER_ROOT"].value_())
        root = int(self.prog["mem_section"][nr // per_root].value_())
        return root + (nr % per_root) * int(self.ms_size)

    def _bitmap(self, nr: int) -> bytes | None:
        if nr not in self._bitmaps:
            s = self.sections.get(nr)
            data = None
            if s is not None and s.has_mem_map:
                pointer = self.prog.read_u64(self._section_address(nr) + self.bitmap_offset)
                if pointer and self.via_usage:
                    pointer += self.flags_offset
                size = decode.usemap_bytes(self.shift, self.order, self.bits)
                data = self.prog.read(pointer, size) if pointer else None
            self._bitmaps[nr] = data
        return self._bitmaps[nr]

    def migratetype(self, pfn: int) -> int | None:
        """get_pfnblock_migratetype(); None where the section has no memmap (!pfn_valid)."""
        bitmap = self._bitmap(pfn >> self.shift)
        if bitmap is None:
            return None
        return decode.pageblock_migratetype(
            bitmap,
            pfn,
            pfn_section_shift=self.shift,
            pageblock_order=self.order,
            nr_pageblock_bits=self.bits,
            migrate_end_bit=self.end_bitidx,
            msb_first=not self.via_usage,
        )

    def zone(self, start_pfn: int, end_pfn: int) -> list[int]:
        """One migratetype per pageblock step from ``start_pfn`` (as /proc/pagetypeinfo walks
        it); -1 where there is no memmap."""
        out = []
        for pfn in range(start_pfn, end_pfn, 1 << self.order):
            mt = self.migratetype(pfn)
            out.append(-1 if mt is None else mt)
        return out
