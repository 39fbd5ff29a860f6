"""A snapshot as flat rows, ``path -> value``, in terms both kernel versions share: zones by
name (arm64 6.12 has a DMA32 zone that 4.7 lacks), pageblocks as counts per migratetype,
memblock.reserved as its count and size, the first block of each free list. ``diff-versions``
diffs two kernels' rows; the walkthrough report shows the capture's rows beside the model's."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from inspector.registry import Role
from inspector.schema import MIGRATETYPES, Memblock, Snapshot, Zone

WMARKS = ("min", "low", "high", "promo")
# The per-zone fields each role contributes to the view (node fields come at ZONELISTS).
ZONE_FIELDS: dict[Role, tuple[str, ...]] = {
    Role.NODE: ("memmap_pages",),
    Role.ZONELISTS: (
        "zone_start_pfn",
        "spanned_pages",
        "present_pages",
        "managed_pages",
    ),
    Role.BUDDY: ("managed_pages", "nr_free_pages"),
    Role.DEFERRED: ("managed_pages",),
    Role.WMARKS: ("managed_pages", "pcp_high_min", "pcp_high_max"),
}


_ASIDE = re.compile(r" ?(\([^)]*\)|\[[^\]]*\]|@\S+)")
_NUMBER = re.compile(r"0x[0-9a-f]+|\d+")


def generic_path(path: str) -> str:
    """A value's path with its indexes dropped, the one spelling compare's tables, the kernel
    functions' table, the walkthrough and explain key a field by:
    ``node[1].zone[DMA32].free_area[3].nr_free`` -> ``zone.free_area.nr_free``,
    ``globals[zone_movable_pfn[1]]`` -> ``globals.zone_movable_pfn``,
    ``globals[cpu_to_node.0]`` -> ``globals.cpu_to_node``."""
    if path.startswith("globals["):
        return "globals." + re.split(r"[\[.]", path[len("globals[") : -1])[0]
    g = re.sub(r"\[[^\]]*\]", "", path)
    return g[len("node.") :] if g.startswith("node.zone") else g


def log_key(line: str) -> str:
    """A boot-log line's one spelling as a row key, ``log:<shape>``: numbers as ``#``, asides
    (``(…)``, ``[…]``, ``@address``) dropped, the ``Memory:`` line up to ``available``, so
    "Dentry cache hash table entries: N (order: …, vmalloc)" pairs across releases. The change
    records' ``log:`` patterns, diff-versions' rows and dmesg's judgement all use it."""
    return "log:" + _NUMBER.sub("#", _ASIDE.sub("", line.split(" available")[0])).strip()


def _reserved(mb: Memblock) -> str:
    return f"{len(mb.reserved)} regions, {sum(r.size for r in mb.reserved)} bytes"


def _memory(mb: Memblock) -> str:
    return " ".join(f"[{r.base:#x}-{r.base + r.size:#x})@{r.nid}" for r in mb.memory)


def _zone_rows(role: Role, path: str, z: Zone) -> Iterator[tuple[str, Any]]:
    for name in ZONE_FIELDS.get(role, ()):
        yield f"{path}.{name}", getattr(z, name)
    if role == Role.MEMMAP and z.pageblock_migratetypes is not None:
        counts = Counter(z.pageblock_migratetypes)
        for i, mt in enumerate(MIGRATETYPES):
            yield f"{path}.pageblocks[{mt}]", counts.get(i, 0)
    if role == Role.BUDDY and z.free_area is not None:
        for fa in z.free_area:
            yield f"{path}.free_area[{fa.order}].nr_free", fa.nr_free
        for fa in z.free_area:  # the first block of each list (list order: head first)
            for mt, pfns in zip(MIGRATETYPES, fa.blocks or [], strict=False):
                if pfns:
                    yield f"{path}.free_area[{fa.order}].head[{mt}]", hex(pfns[0])
    if role == Role.DEFERRED and z.deferred_movable_nr_free is not None:
        for order, n in enumerate(z.deferred_movable_nr_free):
            yield f"{path}.deferred_movable_nr_free[{order}]", n
    if role == Role.WMARKS:
        if z.watermark is not None:
            for i, w in enumerate(z.watermark):
                yield f"{path}.watermark[{WMARKS[i]}]", w
        if z.pageset:
            yield f"{path}.pageset.batch", z.pageset[0].batch
            yield f"{path}.pageset.high", z.pageset[0].high


def _lowmem_rows(path: str, z: Zone, names: dict[int, str]) -> Iterator[tuple[str, Any]]:
    for j, v in enumerate(z.lowmem_reserve or []):
        if j in names:  # by the name of the zone above, so arm64's DMA32 lines up
            yield f"{path}.lowmem_reserve[{names[j]}]", v


NODE_FIELDS = ("node_start_pfn", "node_spanned_pages", "node_present_pages", "nr_zones")


def snapshot_rows(role: Role, snap: Snapshot, *, whole: bool = False) -> Iterator[tuple[str, Any]]:
    """The rows of one stop. ``whole``: every stop shows its node and zone sizes too (the
    walkthrough); otherwise they come once, at build_all_zonelists (the version diff)."""
    if role == Role.INPUTS and snap.inputs is not None:
        i = snap.inputs
        for idx, name in enumerate(i.zone_names):
            if idx < len(i.max_zone_pfn):
                yield f"max_zone_pfn[{name}]", i.max_zone_pfn[idx]
        yield "memblock.memory", _memory(i.memblock)
        yield "memblock.reserved", _reserved(i.memblock)
        for k in sorted(i.constants):
            yield f"constants[{k}]", i.constants[k]
        return
    if role == Role.HANDOFF and snap.memblock is not None:
        yield "memblock.memory", _memory(snap.memblock)
        yield "memblock.reserved", _reserved(snap.memblock)
    if role == Role.NODE and whole:
        for node in snap.nodes:
            for f in NODE_FIELDS:
                yield f"node[{node.node_id}].{f}", getattr(node, f)
            for z in node.zones:
                path = f"node[{node.node_id}].zone[{z.name}]"
                for name in (*ZONE_FIELDS[Role.ZONELISTS], "memmap_pages"):
                    yield f"{path}.{name}", getattr(z, name)
        return
    if role == Role.NODE:  # settled sizes and globals are read at build_all_zonelists
        for node in snap.nodes:
            for z in node.zones:
                yield from _zone_rows(role, f"node[{node.node_id}].zone[{z.name}]", z)
        return
    for node in snap.nodes:
        if role == Role.ZONELISTS:
            for f in NODE_FIELDS:
                yield f"node[{node.node_id}].{f}", getattr(node, f)
            if node.first_deferred_pfn is not None:  # CONFIG_DEFERRED_STRUCT_PAGE_INIT
                yield f"node[{node.node_id}].first_deferred_pfn", node.first_deferred_pfn
        names = {z.idx: z.name for z in node.zones}
        for z in node.zones:
            path = f"node[{node.node_id}].zone[{z.name}]"
            yield from _zone_rows(role, path, z)
            if role == Role.WMARKS:
                yield from _lowmem_rows(path, z, names)
    if role == Role.ZONELISTS:
        for zl in snap.zonelists or []:
            yield f"zonelist[{zl.node},{zl.kind}]", " ".join(f"{n}:{z}" for n, z in zl.zones)
    for k in sorted(snap.globals):
        if not k.startswith("arg.") and k != "return":  # one memmap call's arguments
            yield f"globals[{k}]", snap.globals[k]
