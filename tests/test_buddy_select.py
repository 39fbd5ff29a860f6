"""``buddy`` filters and ``--find`` (after pwndbg's buddydump) on a real paused 6.12 guest: every
filter keeps exactly what it names, and ``find`` places a free block's page, a per-cpu list's
page, an allocated page and an address outside RAM."""

from __future__ import annotations

import pytest

from inspector.arch import get_arch
from inspector.errors import InspectorError
from inspector.kernel.versions import V6_12
from inspector.live.buddy import dump
from inspector.live.select import Filter, find, select
from inspector.live.session import live_guest
from inspector.live.state import read_state
from inspector.vm.guest import BootRequest
from inspector.vm.topology import parse_topology


@pytest.mark.vm
@pytest.mark.parametrize("arch", ["x86_64", "arm64"])
def test_filters_and_find_on_a_real_guest(arch, tmp_path):
    req = BootRequest(V6_12, get_arch(arch), parse_topology(None, 2, "768M,256M"))
    with live_guest(req, tmp_path, quiet=True) as lg:
        lg.pause()
        try:
            d = dump(lg.lk, blocks=True, state=read_state(lg.lk.prog, lg.lk.config))
        finally:
            lg.resume()
    assert d.blocks and d.pcp_lists
    # filters keep exactly what they name
    pick = next(b for b in d.blocks if b.node == 1)  # a node, order and type that has blocks
    one = select(d, Filter(node=1, order=pick.order, mtype=pick.migratetype[:3]))
    assert {n.node_id for n in one.snapshot.nodes} == {1}
    areas = [fa for n in one.snapshot.nodes for z in n.zones for fa in z.free_area or []]
    assert areas and all(fa.order == pick.order for fa in areas)
    assert one.blocks and all(
        (b.node, b.order, b.migratetype) == (1, pick.order, pick.migratetype) for b in one.blocks
    )
    mt = d.migratetypes.index(pick.migratetype)
    assert len(one.blocks) == sum((fa.free_list or [])[mt] for fa in areas)
    cpu1 = select(d, Filter(cpu=1, pcp_only=True))
    assert cpu1.pcp_lists and {p.cpu for p in cpu1.pcp_lists} == {1} and cpu1.pcp_only
    with pytest.raises(InspectorError, match="no zone"):
        select(d, Filter(zone="HighMem"))
    with pytest.raises(InspectorError, match="no migratetype"):
        select(d, Filter(mtype="Isolate"))
    # find: inside a free block (its last page), on a per-cpu list, allocated, outside RAM
    b = max(d.blocks, key=lambda b: b.order)
    assert "is free: in the order-" in find(d, b.pfn + (1 << b.order) - 1, "x")
    p = next(p for p in d.pcp_lists if p.pfns)
    assert f"cpu {p.cpu}'s per-cpu list" in find(d, p.pfns[0], "x")
    free = {b.pfn + i for b in d.blocks for i in range(1 << b.order)}
    free |= {h + i for p in d.pcp_lists for h in p.pfns for i in range(1 << p.order)}
    spans = [
        (z.zone_start_pfn, z.zone_start_pfn + z.spanned_pages)
        for n in d.snapshot.nodes
        for z in n.zones
        if z.spanned_pages
    ]
    taken = next(pfn for lo, hi in spans for pfn in range(lo, hi) if pfn not in free)
    assert "is allocated" in find(d, taken, "x")
    with pytest.raises(InspectorError, match="outside the guest's RAM"):
        find(d, max(hi for _, hi in spans) + 12345, "x")
