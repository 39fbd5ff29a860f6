"""build_all_zonelists() and its helpers (mm/page_alloc.c, 4.7): zonelist order, node order by
distance and load, policy_zone.
"""

from __future__ import annotations

from inspector.model.common import early_param_last
from inspector.model.linux.state import (
    MIGRATE_TYPES,
    PENALTY_FOR_NODE_WITH_CPUS,
    ULONG_MASK,
    ZONELIST_ORDER_DEFAULT,
    ZONELIST_ORDER_NAME,
    ZONELIST_ORDER_NODE,
    ZONELIST_ORDER_ZONE,
    BootState,
    ZoneState,
    to_long,
)
from inspector.schema import Zonelist


def set_zonelist_order(m: BootState) -> None:
    # mirrors set_zonelist_order() and default_zonelist_order() (mm/page_alloc.c, 4.7):
    # NUMA on 64-bit defaults to Node order; !NUMA always says Zone order
    if not m.config_numa:
        m.current_zonelist_order = ZONELIST_ORDER_ZONE
        return
    if m.has("zonelist-zone-order-removed"):  # node order only (c9bff3eebc09, v4.14)
        m.current_zonelist_order = ZONELIST_ORDER_NODE
        return
    user = early_param_last(m.inputs.cmdline, "numa_zonelist_order")
    order = ZONELIST_ORDER_DEFAULT
    if user:
        order = {
            "d": ZONELIST_ORDER_DEFAULT,
            "n": ZONELIST_ORDER_NODE,
            "z": ZONELIST_ORDER_ZONE,
        }.get(user[0].lower(), ZONELIST_ORDER_DEFAULT)
    if order == ZONELIST_ORDER_DEFAULT:
        # default_zonelist_order(), CONFIG_64BIT: Node order since change
        # "zonelist-default-node-order"; before it, a heuristic on the DMA zones' share
        node_first = m.has("zonelist-default-node-order")
        order = ZONELIST_ORDER_NODE if node_first else default_zonelist_order(m)
    m.current_zonelist_order = order


def default_zonelist_order(m: BootState) -> int:
    # mirrors default_zonelist_order() (mm/page_alloc.c, 3.14): Zone order when ZONE_DMA and
    # ZONE_DMA32 are small against the rest, so they are kept for those who need them
    low_kmem = total = 0
    for pgdat in m.pgdats.values():
        for z in pgdat.zones:
            if z.populated():
                if z.idx < m.zone_normal:
                    low_kmem += z.managed_pages
                total += z.managed_pages
            elif z.idx == m.zone_normal:
                return ZONELIST_ORDER_NODE  # a node with only lowmem: allocate locally
    if not low_kmem or low_kmem > total // 2:
        return ZONELIST_ORDER_NODE
    average = total // (len(m.memory_nodes()) + 1)
    for pgdat in m.pgdats.values():
        low = sum(z.present_pages for z in pgdat.zones if z.populated() and z.idx < m.zone_normal)
        size = sum(z.present_pages for z in pgdat.zones if z.populated())
        if low and size > average and low > size * 70 // 100:
            return ZONELIST_ORDER_NODE  # a big node whose memory is mostly DMA/DMA32
    return ZONELIST_ORDER_ZONE


def find_next_best_node(m: BootState, node: int, used: set[int], node_load: dict[int, int]) -> int:
    # mirrors find_next_best_node() (mm/page_alloc.c): the local node first (a memoryless one
    # skipped since change "fallback-skips-memoryless-local"), then the nearest node with
    # memory by distance · nr_online · MAX_NUMNODES + load, the factor nr_online gone since
    # change "node-load-accumulated" (commit 54d032ced983, v5.16)
    local_ok = not m.has("fallback-skips-memoryless-local") or node in m.memory_nodes()
    if node not in used and local_ok:
        used.add(node)
        return node
    min_val = None
    best = -1
    nr_online = len(m.pgdats)
    scale = m.max_numnodes if m.has("node-load-accumulated") else nr_online * m.max_numnodes
    with_cpus = (
        frozenset() if m.has("cpus-not-in-node-masks") else m.arch.nodes_with_cpus_at_zonelists
    )
    for n in m.memory_nodes():
        if n in used:
            continue
        val = m.node_distance(node, n)
        val += int(n < node)
        if n in with_cpus:
            val += PENALTY_FOR_NODE_WITH_CPUS
        val *= scale
        val += node_load.get(n, 0)
        if min_val is None or val < min_val:
            min_val = val
            best = n
    if best >= 0:
        used.add(best)
    return best


def build_zonelists_node(m: BootState, nid: int, out: list[tuple[int, str]]) -> None:
    # mirrors build_zonelists_node() (mm/page_alloc.c, 4.7): populated zones, highest first
    for zone in reversed(m.pgdats[nid].zones):
        if zone.populated():
            out.append((nid, zone.name))
            check_highest_zone(m, zone.idx)


def check_highest_zone(m: BootState, k: int) -> None:
    # mirrors check_highest_zone() (include/linux/mempolicy.h, 4.7)
    if k > m.policy_zone and k != m.zone_movable:
        m.policy_zone = k


def build_zonelists(m: BootState, local_node: int, node_load: dict[int, int]) -> None:
    # mirrors build_zonelists() (mm/page_alloc.c, 4.7; 6.12), CONFIG_NUMA and !CONFIG_NUMA
    # variants; a node further away than the last gets a load that decreases with each node
    # taken, since change "node-load-accumulated" one more each time
    fallback: list[tuple[int, str]] = []
    if not m.config_numa:
        build_zonelists_node(m, local_node, fallback)
        m.zonelists.append(Zonelist(node=local_node, kind="fallback", zones=fallback))
        return
    used: set[int] = set()
    load = len(m.pgdats)
    prev_node = local_node
    node_order: list[int] = []
    taken: list[int] = []
    while (node := find_next_best_node(m, local_node, used, node_load)) >= 0:
        if m.node_distance(local_node, node) != m.node_distance(local_node, prev_node):
            if m.has("node-load-accumulated"):
                node_load[node] = node_load.get(node, 0) + 1
            else:
                node_load[node] = load
        taken.append(node)
        prev_node = node
        load -= 1
        if m.current_zonelist_order == ZONELIST_ORDER_NODE:
            build_zonelists_node(m, node, fallback)  # build_zonelists_in_node_order()
        else:
            node_order.append(node)
    if m.current_zonelist_order == ZONELIST_ORDER_ZONE:
        # build_zonelists_in_zone_order()
        for zone_type in range(m.max_nr_zones - 1, -1, -1):
            for node in node_order:
                z = m.pgdats[node].zones[zone_type]
                if z.populated():
                    fallback.append((node, z.name))
                    check_highest_zone(m, zone_type)
    thisnode: list[tuple[int, str]] = []
    build_zonelists_node(m, local_node, thisnode)  # build_thisnode_zonelists()
    m.zonelists.append(Zonelist(node=local_node, kind="fallback", zones=fallback))
    m.zonelists.append(Zonelist(node=local_node, kind="nofallback", zones=thisnode))
    if m.has("fallback-order-printed"):  # commit 6cf253925df7, v5.16
        m.log.append(f"Fallback order for Node {local_node}: " + "".join(f"{n} " for n in taken))


def nr_free_zone_pages(m: BootState, offset: int, counted: list[ZoneState] | None = None) -> int:
    # mirrors nr_free_zone_pages() (mm/page_alloc.c, 4.7): managed above the high watermark,
    # zones up to ``offset`` in the boot CPU's node fallback zonelist
    cpus = m.inputs.cpu_to_node_at_zonelists
    boot_node = cpus[0] if cpus and cpus[0] >= 0 else 0
    lists = [z for z in m.zonelists if z.kind == "fallback" and z.node == boot_node]
    if not lists:
        lists = [z for z in m.zonelists if z.kind == "fallback"][:1]
    total = 0
    for nid, name in lists[0].zones if lists else []:
        zone = m.zone(nid, m.zone_names.index(name))
        if zone.idx > offset:
            continue
        high = zone.watermark[2]
        if zone.managed_pages > high:
            total = (total + zone.managed_pages - high) & ULONG_MASK  # unsigned long sum
            if counted is not None:
                counted.append(zone)
    return total


def build_all_zonelists(m: BootState) -> None:
    # mirrors build_all_zonelists() and __build_all_zonelists() (mm/page_alloc.c, 4.7; 6.12:
    # every node with a pg_data_t, the possible ones since change "possible-nodes")
    set_zonelist_order(m)
    node_load: dict[int, int] = {}
    for nid in sorted(m.pgdats):
        build_zonelists(m, nid, node_load)
    # nr_free_pagecache_pages(): gfp_zone(GFP_HIGHUSER_MOVABLE) = ZONE_MOVABLE
    m.vm_total_pages = nr_free_zone_pages(m, m.zone_movable)
    m.page_group_by_mobility_disabled = int(
        m.vm_total_pages < m.geo.pageblock_nr_pages * MIGRATE_TYPES
    )
    # "in <Node|Zone> order" is gone from commit c9bff3eebc09 ("mm, page_alloc: rip out
    # ZONELIST_ORDER_ZONE"), v4.14
    order = (
        ""
        if "zonelist-zone-order-removed" in m.changes
        else f" in {ZONELIST_ORDER_NAME[m.current_zonelist_order]} order"
    )
    m.log.append(
        f"Built {len(m.pgdats)} zonelists{order}, mobility grouping "
        f"{'off' if m.page_group_by_mobility_disabled else 'on'}.  "
        f"Total pages: {to_long(m.vm_total_pages)}"
    )
    if m.config_numa:
        m.log.append(f"Policy zone: {m.zone_names[m.policy_zone]}")
