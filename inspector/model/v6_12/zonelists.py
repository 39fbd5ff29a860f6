"""build_all_zonelists() in 6.12 (mm/page_alloc.c): node order only, for every possible node,
the 6.12 find_next_best_node() weights, and its boot-log lines."""

from __future__ import annotations

from inspector.model.v4_7.state import MIGRATE_TYPES
from inspector.model.v4_7.zonelists import nr_free_zone_pages
from inspector.model.v6_12.state import Linux612State
from inspector.schema import Zonelist


def find_next_best_node(
    m: Linux612State, node: int, used: set[int], node_load: dict[int, int]
) -> int:
    # mirrors find_next_best_node() (mm/page_alloc.c, 6.12); no node has CPUs in
    # cpumask_of_node() yet at boot (numa_add_cpu() runs later), so no penalty
    # a memoryless local node is skipped since change "fallback-skips-memoryless-local"
    local_ok = node in m.memory_nodes() or not m.has("fallback-skips-memoryless-local")
    if node not in used and local_ok:
        used.add(node)
        return node
    best, min_val = -1, None
    for n in m.memory_nodes():
        if n in used:
            continue
        val = (m.node_distance(node, n) + int(n < node)) * m.max_numnodes + node_load.get(n, 0)
        if min_val is None or val < min_val:
            min_val, best = val, n
    if best >= 0:
        used.add(best)
    return best


def build_zonerefs_node(m: Linux612State, nid: int, out: list[tuple[int, str]]) -> None:
    # mirrors build_zonerefs_node() and check_highest_zone() (mm/page_alloc.c, 6.12)
    for zone in reversed(m.pgdats[nid].zones):
        if zone.present_pages:
            out.append((nid, zone.name))
            if zone.idx > m.policy_zone and zone.idx != m.zone_movable:
                m.policy_zone = zone.idx


def build_zonelists(m: Linux612State, local_node: int, node_load: dict[int, int]) -> None:
    # mirrors build_zonelists() (mm/page_alloc.c, 6.12)
    used: set[int] = set()
    order: list[int] = []
    prev = local_node
    while (node := find_next_best_node(m, local_node, used, node_load)) >= 0:
        if m.node_distance(local_node, node) != m.node_distance(local_node, prev):
            node_load[node] = node_load.get(node, 0) + 1
        order.append(node)
        prev = node
    fallback: list[tuple[int, str]] = []
    for node in order:
        build_zonerefs_node(m, node, fallback)
    thisnode: list[tuple[int, str]] = []
    build_zonerefs_node(m, local_node, thisnode)
    m.zonelists.append(Zonelist(node=local_node, kind="fallback", zones=fallback))
    m.zonelists.append(Zonelist(node=local_node, kind="nofallback", zones=thisnode))
    m.log.append(f"Fallback order for Node {local_node}: " + "".join(f"{n} " for n in order))


def build_all_zonelists(m: Linux612State) -> None:
    # mirrors build_all_zonelists() → __build_all_zonelists() (mm/page_alloc.c, 6.12)
    node_load: dict[int, int] = {}
    for nid in m.possible_nodes:
        build_zonelists(m, nid, node_load)
    # gfp_zone(GFP_HIGHUSER_MOVABLE) is ZONE_MOVABLE
    vm_total_pages = nr_free_zone_pages(m, m.zone_movable)
    m.vm_total_pages = vm_total_pages
    m.page_group_by_mobility_disabled = int(
        vm_total_pages < m.geo.pageblock_nr_pages * MIGRATE_TYPES
    )
    grouping = "off" if m.page_group_by_mobility_disabled else "on"
    m.log.append(
        f"Built {len(m.pgdats)} zonelists, mobility grouping {grouping}.  "
        f"Total pages: {vm_total_pages}"
    )
    m.log.append(f"Policy zone: {m.zone_names[m.policy_zone]}")
