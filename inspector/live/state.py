"""Reading the buddy allocator's live state once, for the dump and the invariant checks alike.

Version differences are handled where they occur (does this member exist?):

- ``zone->managed_pages`` became an ``atomic_long_t`` (9705bea5f833, v5.0).
- per-cpu pages: 4.7 ``zone->pageset`` → ``struct per_cpu_pageset { pcp, vm_stat_diff[] }``;
  6.12 ``zone->per_cpu_pageset`` (``struct per_cpu_pages``) and ``zone->per_cpu_zonestats``
  (28f836b6777b, v5.14). 4.7 has one pcp list per migratetype (order 0); 6.12 one per
  (order ≤ PAGE_ALLOC_COSTLY_ORDER, migratetype), ``pindex = MIGRATE_PCPTYPES * order + mt``
  (44042b449872, v5.14), plus THP lists when CONFIG_TRANSPARENT_HUGEPAGE.
- the global counters ``vm_stat[]`` were renamed ``vm_zone_stat[]`` (75ef71840539, v4.8).
"""

from __future__ import annotations

import contextlib
import gc
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import drgn
from drgn.helpers.linux.cpumask import for_each_online_cpu
from drgn.helpers.linux.mmzone import (
    for_each_online_pgdat,
    high_wmark_pages,
    low_wmark_pages,
    min_wmark_pages,
)
from drgn.helpers.linux.percpu import per_cpu_ptr

from inspector import decode
from inspector.kernel.config import read_config
from inspector.live.lists import Direct, ListWalk, PageCache, walk_list
from inspector.live.sections import sections

PAGE_ALLOC_COSTLY_ORDER = 3


@dataclass
class PcpState:
    cpu: int
    count: int
    high: int
    batch: int
    lists: list[ListWalk]  # by list index
    orders: list[int]  # order of the pages on each list
    migratetypes: list[int]  # migratetype of each list


@dataclass
class ZoneState:
    node: int
    idx: int
    name: str
    address: int
    zone_start_pfn: int
    spanned_pages: int
    present_pages: int
    managed_pages: int
    watermark: list[int]
    lowmem_reserve: list[int]
    nr_free: list[int]  # free_area[order].nr_free
    free_lists: list[list[ListWalk]]  # [order][migratetype]
    vm_stat_free: int  # zone->vm_stat[NR_FREE_PAGES]: what /proc/zoneinfo shows
    vm_stat_diff_free: int  # Σ over online CPUs of the per-cpu vm_stat_diff[NR_FREE_PAGES]
    pcp: list[PcpState] = field(default_factory=list)

    @property
    def zone_end_pfn(self) -> int:
        return self.zone_start_pfn + self.spanned_pages

    @property
    def nr_free_pages_snapshot(self) -> int:
        """zone_page_state_snapshot(zone, NR_FREE_PAGES): the counter with every CPU's diff."""
        return self.vm_stat_free + self.vm_stat_diff_free


@dataclass
class NodeState:
    node_id: int
    node_start_pfn: int
    node_spanned_pages: int
    node_present_pages: int
    nr_zones: int
    zones: list[ZoneState]


@dataclass
class KernelConsts:
    page_size: int
    sizeof_page: int
    vmemmap: int
    lru_offset: int  # offsetof(struct page, lru): where free and pcp lists link pages
    private_offset: int
    mapcount_offset: int  # _mapcount (4.7) / page_type (4.18 on): the same word
    # PageBuddy(): (word & buddy_mask) == buddy_value, the word as a u32: 4.7 _mapcount ==
    # PAGE_BUDDY_MAPCOUNT_VALUE (-128); 4.18 to 6.9 page_type with PG_buddy (0x80) cleared
    # under PAGE_TYPE_BASE (0xf0000000); 6.12 page_type's top byte == PGTY_buddy
    buddy_mask: int
    buddy_value: int
    # __free_one_page() keeps blocks of pageblock order and above of a non-mergeable
    # migratetype (isolate, CMA, highatomic) apart: the kernels with page_type (4.18 on) here
    merge_by_migratetype: bool
    max_order: int  # number of free_area entries (MAX_ORDER / NR_PAGE_ORDERS)
    pageblock_order: int
    migratetypes: list[str]
    migrate_pcptypes: int
    nr_free_pages_item: int


def _value(prog: drgn.Program, name: str, default: int | None = None) -> int:
    try:
        return int(prog[name].value_())
    except (LookupError, drgn.FaultError):
        if default is None:
            raise
        return default


def kernel_consts(prog: drgn.Program, config: Path | None = None) -> KernelConsts:
    page = prog.type("struct page")
    zone = prog.type("struct zone")
    free_area = prog.type("struct free_area")
    # migratetype_names[]: what /proc/pagetypeinfo prints ("Unmovable", …, "HighAtomic")
    names = prog["migratetype_names"]
    migratetypes = [names[i].string_().decode() for i in range(_free_list_len(free_area))]
    if not page.has_member("page_type"):  # 4.7: page->_mapcount == PAGE_BUDDY_MAPCOUNT_VALUE
        mask, value, word = 0xFFFFFFFF, -128 & 0xFFFFFFFF, drgn.offsetof(page, "_mapcount")
    else:
        word = drgn.offsetof(page, "page_type")
        try:  # 6.12: PAGE_TYPE_OPS(Buddy, …) on the top byte, an enum in DWARF
            mask, value = 0xFF000000, _value(prog, "PGTY_buddy") << 24
        except LookupError:  # 4.18–6.9: #define PAGE_TYPE_BASE 0xf0000000, PG_buddy 0x80
            mask, value = 0xF0000080, 0xF0000000
    return KernelConsts(
        page_size=prog["PAGE_SIZE"].value_(),
        sizeof_page=drgn.sizeof(page),
        vmemmap=prog["vmemmap"].value_(),
        lru_offset=drgn.offsetof(page, "lru"),
        private_offset=drgn.offsetof(page, "private"),
        mapcount_offset=word,
        buddy_mask=mask,
        buddy_value=value,
        merge_by_migratetype=page.has_member("page_type"),
        max_order=_array_len(zone, "free_area"),
        pageblock_order=pageblock_order(prog, config),
        migratetypes=migratetypes,
        migrate_pcptypes=_value(prog, "MIGRATE_PCPTYPES"),
        nr_free_pages_item=_value(prog, "NR_FREE_PAGES"),
    )


def _array_len(t: drgn.Type, member: str) -> int:
    length = t.member(member).type.length
    assert length is not None
    return int(length)


def _free_list_len(free_area: drgn.Type) -> int:
    return _array_len(free_area, "free_list")


def pageblock_order(prog: drgn.Program, config: Path | None) -> int:
    """The ``pageblock_order`` variable where it is one; otherwise the macro's value for the
    build's .config (HUGETLB_PAGE or TRANSPARENT_HUGEPAGE: the PMD order; else the largest
    order), and without a .config, the largest order."""
    with contextlib.suppress(LookupError):
        return int(prog["pageblock_order"].value_())
    nr_orders = _array_len(prog.type("struct zone"), "free_area")
    cfg = read_config(config) if config is not None and config.exists() else {}
    # 4.7's struct page has no page_type (6.12 marks buddy pages there)
    version = "6.12" if prog.type("struct page").has_member("page_type") else "4.7"
    return decode.pageblock_order(version, nr_orders, cfg)


def _managed(zone: drgn.Object) -> int:
    managed = zone.managed_pages
    try:
        return int(managed.counter.value_())
    except AttributeError:
        return int(managed.value_())


def _pcp(
    prog: drgn.Program, zone: drgn.Object, cpu: int, k: KernelConsts, cache: PageCache
) -> PcpState:
    try:
        pcp = per_cpu_ptr(zone.per_cpu_pageset, cpu)
    except AttributeError:
        pcp = per_cpu_ptr(zone.pageset, cpu).pcp.address_of_()
    lists = pcp.lists
    n = lists.type_.length or 0
    orders, mts = [], []
    low = k.migrate_pcptypes * (PAGE_ALLOC_COSTLY_ORDER + 1)
    for i in range(n):
        if n == k.migrate_pcptypes:  # 4.7: one order-0 list per migratetype
            orders.append(0)
            mts.append(i)
        elif i < low:
            orders.append(i // k.migrate_pcptypes)
            mts.append(i % k.migrate_pcptypes)
        else:  # THP lists: NR_LOWORDER_PCP_LISTS + (mt == MIGRATE_MOVABLE)
            orders.append(decode.HPAGE_PMD_ORDER)
            mts.append(1 if i - low else 0)
    base = lists.address_
    assert base is not None
    walks = [walk_list(cache.read_u64, base + 16 * i, 1 << 20) for i in range(n)]
    return PcpState(
        cpu, pcp.count.value_(), pcp.high.value_(), pcp.batch.value_(), walks, orders, mts
    )


def _stat_diff(zone: drgn.Object, cpu: int, item: int) -> int:
    try:
        stats = per_cpu_ptr(zone.per_cpu_zonestats, cpu)
    except AttributeError:
        stats = per_cpu_ptr(zone.pageset, cpu)
    return int(stats.vm_stat_diff[item].value_())


def read_zone(
    prog: drgn.Program,
    node: int,
    idx: int,
    zone: drgn.Object,
    k: KernelConsts,
    cpus: list[int],
    cache: PageCache,
    scanned: dict[int, ListWalk] | None = None,
) -> ZoneState:
    address = zone.address_
    assert address is not None
    free_area = zone.free_area
    limit = zone.spanned_pages.value_() + 1
    walks: list[list[ListWalk]] = []
    nr_free: list[int] = []
    for order in range(k.max_order):
        area = free_area[order]
        nr_free.append(area.nr_free.value_())
        base = area.free_list.address_
        assert base is not None
        heads = [base + 16 * mt for mt in range(len(k.migratetypes))]
        if scanned is not None:  # the memmap scan found them (inspector.live.scan)
            walks.append([scanned[h] for h in heads])
        else:
            walks.append([walk_list(cache.read_u64, h, limit) for h in heads])
    return ZoneState(
        node=node,
        idx=idx,
        name=zone.name.string_().decode(),
        address=address,
        zone_start_pfn=zone.zone_start_pfn.value_(),
        spanned_pages=zone.spanned_pages.value_(),
        present_pages=zone.present_pages.value_(),
        managed_pages=_managed(zone),
        watermark=[min_wmark_pages(zone), low_wmark_pages(zone), high_wmark_pages(zone)],
        lowmem_reserve=[x.value_() for x in zone.lowmem_reserve],
        nr_free=nr_free,
        free_lists=walks,
        vm_stat_free=zone.vm_stat[k.nr_free_pages_item].counter.value_(),
        vm_stat_diff_free=sum(_stat_diff(zone, c, k.nr_free_pages_item) for c in cpus),
        pcp=[_pcp(prog, zone, c, k, cache) for c in cpus],
    )


def page_cache(prog: drgn.Program, k: KernelConsts, direct: Direct | None = None) -> PageCache:
    shift = (prog["SECTION_SIZE_BITS"] - prog["PAGE_SHIFT"]).value_()
    return PageCache(prog, k.vmemmap, k.sizeof_page, sections(prog), shift, direct)


def free_list_heads(
    prog: drgn.Program, k: KernelConsts, zones: list[drgn.Object]
) -> list[tuple[int, int, int]]:
    """(address, next, prev) of every free list of ``zones``: one read per zone."""
    fa = prog.type("struct free_area")
    size, off = drgn.sizeof(fa), drgn.offsetof(fa, "free_list")
    out = []
    for zone in zones:
        base = zone.free_area.address_
        assert base is not None
        raw = prog.read(base, size * k.max_order)
        for o in range(k.max_order):
            for mt in range(len(k.migratetypes)):
                at = o * size + off + 16 * mt
                nxt, prv = struct.unpack_from("<QQ", raw, at)
                out.append((base + at, nxt, prv))
    return out


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """Hold the cyclic collector off while a dump builds its hundreds of thousands of objects
    (lists, walks, blocks: no cycles among them); it would otherwise run dozens of times over
    everything alive, for nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_state(
    prog: drgn.Program,
    config: Path | None = None,
    cache: PageCache | None = None,
    *,
    scan: bool = False,
) -> tuple[KernelConsts, list[NodeState]]:
    """Every online node and its populated zones (as /proc/buddyinfo lists them). ``scan``:
    the free lists come from a scan of the memmap (inspector.live.scan), not a list walk."""
    with no_gc():
        return _read_state(prog, config, cache, scan)


def _read_state(
    prog: drgn.Program, config: Path | None, cache: PageCache | None, scan: bool
) -> tuple[KernelConsts, list[NodeState]]:
    k = kernel_consts(prog, config)
    cache = cache or page_cache(prog, k)
    cpus = list(for_each_online_cpu(prog))
    nodes: list[NodeState] = []
    pgdats = list(for_each_online_pgdat(prog))
    scanned = None
    if scan:
        from inspector.live.scan import scan_lists

        present = [z for p in pgdats for z in p.node_zones if z.present_pages.value_()]
        scanned = scan_lists(k, cache, free_list_heads(prog, k, present))
    for pgdat in pgdats:
        nid = pgdat.node_id.value_()
        zones = [
            read_zone(prog, nid, idx, zone, k, cpus, cache, scanned)
            for idx, zone in enumerate(pgdat.node_zones)
            if zone.present_pages.value_()
        ]
        nodes.append(
            NodeState(
                node_id=nid,
                node_start_pfn=pgdat.node_start_pfn.value_(),
                node_spanned_pages=pgdat.node_spanned_pages.value_(),
                node_present_pages=pgdat.node_present_pages.value_(),
                nr_zones=pgdat.nr_zones.value_(),
                zones=zones,
            )
        )
    return k, nodes
