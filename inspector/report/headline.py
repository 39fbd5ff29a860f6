"""Each step's headline: the few numbers a learner should look at, for the zones that hold
memory, each marked where it changed since the previous stop and opening its chain; memblock
as a picture where the step is about memblock; and the hash tables' sizes, orders and places
where the step allocates them. The full tables stay on the page, folded."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from inspector.flatten import snapshot_rows
from inspector.registry import Role
from inspector.report.lang import both
from inspector.schema import Memblock, Snapshot

# the zone fields each stop's headline shows, and the globals
ZONE_FIELDS: dict[Role, tuple[str, ...]] = {
    Role.NODE: ("zone_start_pfn", "spanned_pages", "present_pages", "memmap_pages"),
    Role.MEMMAP: ("pageblocks[Movable]", "pageblocks[Unmovable]"),
    Role.ZONELISTS: ("present_pages", "managed_pages"),
    Role.BUDDY: ("managed_pages", "nr_free_pages"),
    Role.DEFERRED: ("managed_pages",),
    Role.WMARKS: ("watermark[min]", "watermark[low]", "watermark[high]", "pageset.batch"),
}
GLOBALS: dict[Role, tuple[str, ...]] = {
    Role.INPUTS: ("max_zone_pfn[",),
    Role.ZONELISTS: ("globals[nr_kernel_pages]", "globals[policy_zone]"),
    Role.BUDDY: ("globals[totalram_pages]",),
    Role.WMARKS: ("globals[min_free_kbytes]", "globals[totalreserve_pages]"),
}
_ZONE_KEY = re.compile(r"^node\[(\d+)\]\.zone\[(\w+)\]\.(.+)$")
HASH_LINE = re.compile(
    r"^(?P<name>PID|Dentry cache|Inode-cache|Mount-cache|Mountpoint-cache) hash table entries: "
    r"(?P<entries>\d+) \(order: (?P<order>-?\d+), (?P<bytes>\d+) bytes(?:, (?P<how>[\w ]+))?\)"
)
# the steps that allocate each table, and the global its address lands in
HASH_STEP = {
    "pidhash_init": ("PID", "pid_hash"),
    "dcache_init_early": ("Dentry cache", "dentry_hashtable"),
    "inode_init_early": ("Inode-cache", "inode_hashtable"),
}


def _e(x: Any) -> str:
    return html.escape(str(x))


def rows_of(role: Role, snap: Snapshot) -> dict[str, Any]:
    return dict(snapshot_rows(role, snap, whole=True))


def zones_with_memory(snaps: list[tuple[Role, Snapshot]]) -> set[tuple[str, str]]:
    """(node, zone) of every zone some stop saw with present pages."""
    out: set[tuple[str, str]] = set()
    for role, snap in snaps:
        for key, value in rows_of(role, snap).items():
            m = _ZONE_KEY.match(key)
            if m and m.group(3) == "present_pages" and value:
                out.add((m.group(1), m.group(2)))
    return out


def headline_html(
    role: Role,
    rows: dict[str, Any],
    previous: tuple[str, dict[str, Any]] | None,
    zones: set[tuple[str, str]],
    cell: Callable[[Any, str], str],
) -> str:
    """The headline table of one stop: a row per zone with memory, its ``ZONE_FIELDS``, then the
    ``GLOBALS``; a value that differs from the previous stop's is marked (the old one on
    hover). ``cell(value, key)`` renders a value (opening its chain where there is one)."""
    fields = ZONE_FIELDS.get(role, ())
    parts: list[str] = []

    def td(key: str) -> str:
        value = rows.get(key)
        if value is None:
            return "<td></td>"
        before = previous[1].get(key) if previous else None
        if previous and before is not None and before != value:
            title = f"was {before} at {previous[0]}"
            return f"<td class='changed' title='{_e(title)}'>{cell(value, key)}</td>"
        return f"<td>{cell(value, key)}</td>"

    present = [f for f in fields if any(k.endswith("." + f) for k in rows)]
    if present:
        head = "".join(f"<th>{_e(f)}</th>" for f in present)
        body = []
        for node, zone in sorted(zones, key=lambda nz: (int(nz[0]), nz[1])):
            prefix = f"node[{node}].zone[{zone}]."
            if not any(k.startswith(prefix) for k in rows):
                continue
            cells = "".join(td(prefix + f) for f in present)
            body.append(f"<tr><th>node {node} {_e(zone)}</th>{cells}</tr>")
        if body:
            parts.append(f"<table class='headline'><tr><th></th>{head}</tr>{''.join(body)}</table>")
    globals_ = [k for k in rows for g in GLOBALS.get(role, ()) if k.startswith(g)]
    if globals_:
        items = "".join(f"<tr><th>{_e(k)}</th>{td(k)}</tr>" for k in globals_)
        parts.append(f"<table class='headline'>{items}</table>")
    return "\n".join(parts)


def memblock_svg(mb: Memblock, width: int = 900) -> str:
    """memblock as a picture: memory regions (by node) as bars along the physical address, the
    reserved regions drawn over them; a reader sees where the holes are and what is taken."""
    if not mb.memory:
        return ""
    top = max(r.base + r.size for r in mb.memory)
    scale = (width - 20) / top if top else 1.0

    def x(addr: int) -> float:
        return 10 + addr * scale

    colours = ("#8c8", "#8ac", "#ca8", "#c8c", "#8cc", "#cc8", "#a8c", "#c88")
    shapes = []
    for r in mb.memory:
        w = max(1.0, r.size * scale)
        colour = colours[max(r.nid, 0) % len(colours)]
        shapes.append(
            f"<rect x='{x(r.base):.1f}' y='18' width='{w:.1f}' height='22' fill='{colour}'>"
            f"<title>memory [{r.base:#x}, {r.base + r.size:#x}) node {r.nid}</title></rect>"
        )
    for r in mb.reserved:
        w = max(1.0, r.size * scale)
        shapes.append(
            f"<rect x='{x(r.base):.1f}' y='44' width='{w:.1f}' height='10' fill='#c33'>"
            f"<title>reserved [{r.base:#x}, {r.base + r.size:#x}) {r.size} bytes</title></rect>"
        )
    label = (
        f"<text x='10' y='12' font-size='11' data-lang='en'>memblock.memory (by node) and, "
        f"below, memblock.reserved ({len(mb.reserved)} regions); 0 to {top:#x}</text>"
        f"<text x='10' y='12' font-size='11' data-lang='zh'>memblock.memory（按节点着色），"
        f"下方为 memblock.reserved（{len(mb.reserved)} 个区域）；0 至 {top:#x}</text>"
    )
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' class='memblock' width='100%' "
        f"viewBox='0 0 {width} 60' role='img'>{label}{''.join(shapes)}</svg>"
    )


def hash_tables_html(function: str, log: list[str], handoff: Snapshot | None) -> str:
    """The hash tables the step allocates: entries, order, bytes and how, from the kernel's own
    line, and where memblock placed it (its pointer at the hand-off; 0 when hashdist defers it
    to vmalloc)."""
    wanted = {HASH_STEP[function][0]} if function in HASH_STEP else set()
    if function == "vfs_caches_init_early":
        wanted = {"Dentry cache", "Inode-cache"}
    rows = []
    for line in log:
        m = HASH_LINE.match(line)
        if not m or m.group("name") not in wanted:
            continue
        where = ""
        pointer = next((g for n, g in HASH_STEP.values() if n == m.group("name")), None)
        if handoff is not None and pointer and pointer in handoff.globals:
            address = handoff.globals[pointer]
            where = f"{address:#x}" if address else "not yet (hashdist: vmalloc later)"
        rows.append(
            f"<tr><td>{_e(m.group('name'))}</td><td>{_e(m.group('entries'))}</td>"
            f"<td>{_e(m.group('order'))}</td><td>{_e(m.group('bytes'))}</td>"
            f"<td>{_e(m.group('how') or 'memblock')}</td><td>{_e(where)}</td></tr>"
        )
    if not rows:
        return ""
    names = (
        ("table", "哈希表"),
        ("entries", "表项数"),
        ("order", "阶"),
        ("bytes", "字节"),
        ("allocated", "分配方式"),
        ("address at the hand-off", "交接时的地址"),
    )
    head = "<tr>" + "".join(f"<th>{both(en, zh)}</th>" for en, zh in names) + "</tr>"
    return f"<table class='headline'>{head}{''.join(rows)}</table>"
