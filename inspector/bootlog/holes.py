"""A log's "unavailable ranges" lines, predicted from its memory map and zones at its release
(inspector.model.unavailable) and placed where the kernel prints them among the other judged
lines: per zone after that zone's LIFO line (memmap_init_zone(), called by
free_area_init_core()), else once after the nodes' lines (free_area_init_nodes()'s
zero_resv_unavail() / init_unavailable_mem(); free_area_init()'s memmap_init())."""

from __future__ import annotations

import re
from collections.abc import Callable

from inspector.bootlog.firmware import PAGE_SHIFT, MemoryMap
from inspector.model.sizing import Sizing
from inspector.model.unavailable import Sections, ZoneSpan, per_node_zone, per_zone, zeroed

SECTION_SIZE_BITS = 27  # x86_64 (arch/x86/include/asm/sparsemem.h)
UNAVAILABLE = re.compile(r"pages in unavailable ranges|^Zeroed struct page in unavailable ranges")
_NODE = re.compile(r"^(?:On node|Initmem setup node) (\d+)")
_LIFO = re.compile(r"^  (\w+) zone: \d+ pages, LIFO batch:")
# the classes free_area_init*() prints, node by node
_NODE_CLASSES = (
    "zone ranges",
    "movable zone start",
    "node ranges",
    "initmem setup",
    "node totalpages",
    "zone memmap",
    "zone LIFO batch",
)


def _zones(sizing: Sizing) -> list[ZoneSpan]:
    names = sizing.state.zone_names
    return [
        ZoneSpan(nid, z.idx, names[z.idx], z.zone_start_pfn, z.spanned_pages, z.present_pages)
        for nid, p in sorted(sizing.pgdats.items())
        for z in p.zones
    ]


def place_unavailable(
    predicted: list[str],
    mm: MemoryMap,
    sizing: Sizing,
    changes: frozenset[str],
    class_of: Callable[[str], str | None],
) -> list[str]:
    """``predicted`` with the release's unavailable-ranges lines put in; ``class_of`` gives a
    predicted line's class."""
    memory = [(s >> PAGE_SHIFT, e >> PAGE_SHIFT, n) for s, e, n in mm.memory]
    sections = Sections(memory, 1 << (SECTION_SIZE_BITS - PAGE_SHIFT))
    zones = _zones(sizing)
    if "unavailable-per-zone" in changes and "unavailable-per-node-zone" not in changes:
        return _after_each_zone(predicted, per_zone(memory, zones, sections))
    if "unavailable-per-node-zone" in changes:
        lines = per_node_zone(memory, zones, sections)
    elif "unavailable-zeroed-line" in changes:
        tail = "unavailable-tail-to-section" in changes
        lines = zeroed(memory, mm.max_pfn, sections, tail_to_section=tail)
    else:
        return predicted  # 4.19's "Reserved but unavailable" reads memblock.reserved
    # zero_resv_unavail() / init_unavailable_mem() run in free_area_init_nodes() before the
    # nodes are set up (after the ranges it prints); memmap_init() after all of them
    after = _NODE_CLASSES if "unavailable-per-node-zone" in changes else _NODE_CLASSES[:3]
    # x86's memoryless nodes set up later (init_memory_less_node()) print after it, until
    # free_area_init() sets up every possible node itself (change "possible-nodes")
    late = set(sizing.state.inputs.late_memoryless_nodes)
    if "possible-nodes" in changes:
        late = set()
    nodes = [
        i + 1
        for i, t in enumerate(predicted)
        if class_of(t) in after and not ((m := _NODE.match(t)) and int(m.group(1)) in late)
    ]
    at = max(nodes, default=0)
    return predicted[:at] + lines + predicted[at:]


def _after_each_zone(predicted: list[str], keyed: list[tuple[ZoneSpan, str]]) -> list[str]:
    """Each per-zone line after its zone's LIFO line (or after the node's last line, for a zone
    without present pages, which prints no LIFO line)."""
    left = list(keyed)
    out: list[str] = []
    node = -1
    for t in predicted:
        out.append(t)
        if m := _NODE.match(t):
            node = int(m.group(1))
        elif m := _LIFO.match(t):
            for k in [k for k in left if k[0].nid == node and k[0].name == m.group(1)]:
                out.append(k[1])
                left.remove(k)
    return out + [line for _, line in left]
