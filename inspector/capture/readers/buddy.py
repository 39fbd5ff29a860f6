"""Buddy state: each zone's free_area[] (nr_free, the free lists walked to the pfn of each
block), its free-page count, watermarks and lowmem_reserve, and its per-cpu pagesets (4.7
zone->pageset, 6.12 zone->per_cpu_pageset) with pcp->high and ->batch.
"""

from __future__ import annotations

import contextlib

from inspector import decode
from inspector.capture.readers.nodes import NodeReader
from inspector.capture.readers.pageblocks import PageblockReader
from inspector.debug.layout import View
from inspector.errors import InspectorError
from inspector.schema import MIGRATETYPES, FreeArea, PerCpuPages, Zone

# walking a free list longer than this means we are reading garbage
_MAX_LIST = 1 << 22
_MASK64 = decode.MASK64


class BuddyReader(NodeReader, PageblockReader):
    """The free lists, the zone's buddy and watermark state, the per-cpu pagesets."""

    # pfn 0's struct page under SPARSEMEM_VMEMMAP, once a zone's start pfn has found it
    _vmemmap_base: int | None = None

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
                # pfn_to_page(zone_start_pfn) - zone_start_pfn: the vmemmap base, one for every
                # section (SPARSEMEM_VMEMMAP), so a zone that starts in a hole takes another's
                size = self.layout.sizeof("struct page")
                with contextlib.suppress(InspectorError):
                    first = self.pfn_to_page(zone.zone_start_pfn)
                    self._vmemmap_base = (first - zone.zone_start_pfn * size) & _MASK64
                mem_map = self._vmemmap_base
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
