"""Field-by-field comparison of two snapshots (model against capture), as text or JSON.

Dataclasses are walked recursively; a field that either side left ``None`` (or a ``globals`` key
only one side has) is skipped. Nodes are matched by ``node_id``, zones by (node, idx), zonelists by
(node, kind), free areas by order, pagesets by cpu. Every difference names its path, e.g.
``node[1].zone[DMA32].managed_pages``, both values, and the kernel function that computes the field
in that kernel version.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inspector.schema import MIGRATETYPES, Snapshot

# Fields that are runtime state rather than a prediction: skipped unless asked for.
DEFAULT_IGNORE: frozenset[str] = frozenset({"kernel.release", "zone.pageset.count", "inputs"})

WMARK_NAMES = ("min", "low", "high")

# Which 4.7 function computes a field. Keys are the generic path (indexes dropped); a key of the
# form "stop:path" wins over the plain one at that stop.
FUNCTIONS_4_7: dict[str, str] = {
    "node.node_start_pfn": "free_area_init_node()",
    "node.node_spanned_pages": "calculate_node_totalpages()",
    "node.node_present_pages": "calculate_node_totalpages()",
    "node.nr_zones": "init_currently_empty_zone()",
    "zone.zone_start_pfn": "zone_spanned_pages_in_node()",
    "zone.spanned_pages": "zone_spanned_pages_in_node()",
    "zone.present_pages": "zone_absent_pages_in_node()",
    "zone.memmap_pages": "calc_memmap_size()",
    "zone.managed_pages": "free_area_init_core()",
    "free_all_bootmem.return:zone.managed_pages": "__free_pages_boot_core()",
    "init_per_zone_wmark_min:zone.managed_pages": "__free_pages_boot_core()",
    "zone.pageblock_flags_bytes": "usemap_size()",
    "zone.pageblock_migratetypes": "memmap_init_zone()",
    "zone.nr_free_pages": "__free_one_page()",
    "zone.free_area": "__free_one_page()",
    "zone.free_area.nr_free": "__free_one_page()",
    "zone.free_area.free_list": "__free_one_page()",
    "zone.watermark": "__setup_per_zone_wmarks()",
    "zone.lowmem_reserve": "setup_per_zone_lowmem_reserve()",
    "zone.pageset": "setup_zone_pageset()",
    "zone.pageset.high": "pageset_set_batch()",
    "zone.pageset.batch": "pageset_set_batch()",
    "zone": "free_area_init_core()",
    "node": "free_area_init_nodes()",
    "zonelist": "build_zonelists()",
    "zonelist.zones": "build_zonelists()",
    "globals.vm_total_pages": "build_all_zonelists()",
    "globals.page_group_by_mobility_disabled": "build_all_zonelists()",
    "globals.current_zonelist_order": "set_zonelist_order()",
    "globals.policy_zone": "check_highest_zone()",
    "globals.nr_online_nodes": "free_area_init_nodes()",
    "globals.totalram_pages": "free_all_bootmem()",
    "globals.min_free_kbytes": "init_per_zone_wmark_min()",
    "globals.totalreserve_pages": "calculate_totalreserve_pages()",
    "globals.nr_kernel_pages": "free_area_init_core()",
    "globals.nr_all_pages": "free_area_init_core()",
    "globals.dma_reserve": "memblock_find_dma_reserve()",
    "globals.movable_zone": "find_usable_zone_for_movable()",
    "globals.zone_movable_pfn": "find_zone_movable_pfns_for_nodes()",
    "globals.required_kernelcore": "cmdline_parse_kernelcore()",
    "globals.required_movablecore": "cmdline_parse_movablecore()",
    "globals.arch_zone_lowest_possible_pfn": "free_area_init_nodes()",
    "globals.arch_zone_highest_possible_pfn": "free_area_init_nodes()",
}

FUNCTIONS: dict[str, dict[str, str]] = {"4.7": FUNCTIONS_4_7}


@dataclass
class Difference:
    path: str
    model: Any
    captured: Any
    function: str

    def text(self) -> str:
        return f"{self.path}: model {self.model!r}, captured {self.captured!r}  [{self.function}]"


def generic_path(path: str) -> str:
    """``node[1].zone[DMA32].free_area[3].nr_free`` -> ``zone.free_area.nr_free``.

    ``globals[zone_movable_pfn[1]]`` -> ``globals.zone_movable_pfn``.
    """
    if path.startswith("globals["):
        return "globals." + re.sub(r"\[.*$", "", path[len("globals[") : -1])
    g = re.sub(r"\[[^\]]*\]", "", path)
    return g[len("node.") :] if g.startswith("node.zone") else g


def function_for(path: str, version: str, stop: str) -> str:
    """The kernel function computing ``path``: the longest matching table entry."""
    table = FUNCTIONS.get(version, {})
    parts = generic_path(path).split(".")
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if f"{stop}:{key}" in table:
            return table[f"{stop}:{key}"]
        if key in table:
            return table[key]
    return "?"


class _Walker:
    def __init__(self, version: str, stop: str, ignore: frozenset[str], zone_names: list[str]):
        self.version = version
        self.stop = stop
        self.ignore = ignore
        self.zone_names = zone_names
        self.out: list[Difference] = []

    def ignored(self, path: str) -> bool:
        return generic_path(path) in self.ignore

    def add(self, path: str, model: Any, captured: Any) -> None:
        self.out.append(
            Difference(path, model, captured, function_for(path, self.version, self.stop))
        )

    def value(self, path: str, a: Any, b: Any) -> None:
        """Compare two values of the same declared type, recursing into structure."""
        if a is None or b is None or self.ignored(path):
            return
        if dataclasses.is_dataclass(a) and dataclasses.is_dataclass(b):
            self.dataclass(path, a, b)
        elif isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) & set(b), key=str):
                self.value(f"{path}[{key}]", a[key], b[key])
        elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
            self.sequence(path, list(a), list(b))
        elif a != b:
            self.add(path, a, b)

    def sequence(self, path: str, a: list[Any], b: list[Any]) -> None:
        name = generic_path(path).rsplit(".", 1)[-1]
        if name == "zones" and all(_is_scalar(x) for x in a + b):
            if a != b:  # a zonelist is one value: its order is the point
                self.add(path, a, b)
            return
        if len(a) != len(b):
            self.add(f"{path}.length", len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            self.value(f"{path}[{self.label(name, i)}]", x, y)

    def label(self, name: str, i: int) -> str:
        if name == "free_list" and i < len(MIGRATETYPES):
            return MIGRATETYPES[i]
        if name == "watermark" and i < len(WMARK_NAMES):
            return WMARK_NAMES[i]
        if name == "lowmem_reserve" and i < len(self.zone_names):
            return self.zone_names[i]
        return str(i)

    def keyed(
        self, path: str, a: list[Any], b: list[Any], key: Any, label: Any, report_missing: bool
    ) -> None:
        """Match entries by key; an entry only one side has is reported if ``report_missing``."""
        ka = {key(x): x for x in a}
        kb = {key(x): x for x in b}
        for k in sorted(set(ka) | set(kb)):
            x, y = ka.get(k), kb.get(k)
            sub = f"{path}[{label(x if x is not None else y)}]"
            if x is None or y is None:
                if report_missing and not self.ignored(sub):
                    self.add(sub, "present" if x else "missing", "present" if y else "missing")
                continue
            self.value(sub, x, y)

    def dataclass(self, path: str, a: Any, b: Any) -> None:
        prefix = f"{path}." if path else ""
        for f in dataclasses.fields(a):
            sub = prefix + f.name
            x, y = getattr(a, f.name), getattr(b, f.name, None)
            if x is None or y is None or self.ignored(sub):
                continue
            # a captured stop may hold some zones only (memmap_init_zone: one per hit): zones,
            # orders and cpus that one side lacks are not differences; nodes and zonelists are
            if f.name == "nodes":
                self.keyed("node", x, y, lambda n: n.node_id, lambda n: n.node_id, True)
            elif f.name == "zones" and path.startswith("node["):
                self.keyed(f"{path}.zone", x, y, lambda z: z.idx, lambda z: z.name, False)
            elif f.name == "zonelists":
                self.keyed(
                    "zonelist",
                    x,
                    y,
                    lambda z: (z.node, z.kind),
                    lambda z: f"{z.node},{z.kind}",
                    True,
                )
            elif f.name == "free_area":
                self.keyed(sub, x, y, lambda fa: fa.order, lambda fa: fa.order, False)
            elif f.name == "pageset":
                self.keyed(sub, x, y, lambda p: p.cpu, lambda p: p.cpu, False)
            elif f.name == "globals":
                self.value("globals", x, y)
            else:
                self.value(sub, x, y)


def _is_scalar(x: Any) -> bool:
    return isinstance(x, int | str | tuple)


def diff(
    model: Snapshot, captured: Snapshot, *, ignore: frozenset[str] = DEFAULT_IGNORE
) -> list[Difference]:
    """Every field where ``model`` and ``captured`` disagree (skipping ``None`` on either side)."""
    by_idx: dict[int, str] = {}
    for snap in (model, captured):
        if snap.inputs and snap.inputs.zone_names:
            by_idx.update(enumerate(snap.inputs.zone_names))
        for node in snap.nodes:
            by_idx.update({z.idx: z.name for z in node.zones})
    names = [by_idx.get(i, str(i)) for i in range(max(by_idx, default=-1) + 1)]
    w = _Walker(captured.kernel.version or model.kernel.version, captured.stop, ignore, names)
    w.value("", model, captured)
    return w.out


def merge(snapshots: list[Snapshot]) -> Snapshot:
    """One snapshot from several hits of the same stop (per node or per zone); later hits win.

    Nodes are merged by node_id and zones by idx; globals and zonelists are combined.
    """
    if not snapshots:
        raise ValueError("merge() needs at least one snapshot")
    out = dataclasses.replace(snapshots[0], nodes=[], globals={}, zonelists=None)
    nodes: dict[int, Any] = {}
    for snap in snapshots:
        for node in snap.nodes:
            old = nodes.get(node.node_id)
            zones = {z.idx: z for z in (old.zones if old else [])}
            zones.update({z.idx: z for z in node.zones})
            nodes[node.node_id] = dataclasses.replace(node, zones=[zones[i] for i in sorted(zones)])
        out.globals.update(snap.globals)
        if snap.zonelists is not None:
            out.zonelists = (out.zonelists or []) + snap.zonelists
        if snap.inputs is not None:
            out.inputs = snap.inputs
    out.nodes = [nodes[n] for n in sorted(nodes)]
    return out


def late_frees(bootmem: Snapshot, wmark: Snapshot) -> dict[tuple[int, int], int]:
    """Pages each (node, zone) gained between free_all_bootmem() return and the watermark stop
    (x86 frees its SMP alternatives there); the model cannot know them from the inputs."""
    before = {(z.node, z.idx): z.managed_pages for n in bootmem.nodes for z in n.zones}
    out: dict[tuple[int, int], int] = {}
    for n in wmark.nodes:
        for z in n.zones:
            b = before.get((z.node, z.idx))
            if z.managed_pages is not None and b is not None and z.managed_pages != b:
                out[(z.node, z.idx)] = z.managed_pages - b
    return out


def load_run(run_dir: Path) -> dict[str, Snapshot]:
    """The numbered snapshots of a capture run (``NN-<stop>.json``), merged per stop."""
    by_stop: dict[str, list[Snapshot]] = defaultdict(list)
    for path in sorted(run_dir.glob("[0-9]*.json")):
        snap = Snapshot.read(path)
        by_stop[snap.stop].append(snap)
    return {stop: merge(snaps) for stop, snaps in by_stop.items()}


def compare_run(run_dir: Path) -> dict[str, list[Difference]]:
    """Run the model on a capture run's inputs and diff every stop both sides have.

    The model starts from the ``free_area_init_nodes`` inputs, takes memblock as captured at
    ``free_all_bootmem`` entry, and the late frees seen between the last two stops.
    """
    from inspector.model import v4_7

    captured = load_run(run_dir)
    start = captured.get("free_area_init_nodes")
    if start is None or start.inputs is None:
        raise ValueError(f"{run_dir}: no free_area_init_nodes snapshot with inputs")
    if start.kernel.version != v4_7.VERSION:
        raise ValueError(f"{run_dir}: no model for Linux {start.kernel.version}")
    bootmem = captured.get("free_all_bootmem")
    memblock = bootmem.inputs.memblock if bootmem and bootmem.inputs else None
    delta: dict[tuple[int, int], int] = {}
    if v4_7.BOOTMEM in captured and v4_7.WMARKS in captured:
        delta = late_frees(captured[v4_7.BOOTMEM], captured[v4_7.WMARKS])
    model = v4_7.predict(
        start.inputs,
        start.kernel.arch,
        memblock_at_free_all_bootmem=memblock,
        managed_delta_before_initcalls=delta,
        release=start.kernel.release,
    )
    return {stop: diff(model[stop], captured[stop]) for stop in model if stop in captured}


def report_text(diffs: list[Difference], *, title: str = "") -> str:
    """A plain-text report: one line per difference, or a line saying there are none."""
    head = f"{title}: " if title else ""
    if not diffs:
        return f"{head}no differences\n"
    lines = [f"{head}{len(diffs)} difference{'s' if len(diffs) != 1 else ''}"]
    lines += ["  " + d.text() for d in diffs]
    return "\n".join(lines) + "\n"


def report_json(diffs: list[Difference]) -> str:
    """The differences as a JSON list of {path, model, captured, function}."""
    return json.dumps([dataclasses.asdict(d) for d in diffs], indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m inspector.compare RUN_DIR [--json]``: the model against one capture run."""
    import argparse
    import sys

    p = argparse.ArgumentParser(prog="python -m inspector.compare", description=main.__doc__)
    p.add_argument("run_dir", type=Path, help="a capture run directory (NN-<stop>.json files)")
    p.add_argument("--json", action="store_true", help="print the differences as JSON")
    args = p.parse_args(argv)
    result = compare_run(args.run_dir)
    if args.json:
        sys.stdout.write(
            json.dumps(
                {s: [dataclasses.asdict(d) for d in ds] for s, ds in result.items()}, indent=1
            )
            + "\n"
        )
    else:
        for stop, diffs in result.items():
            sys.stdout.write(report_text(diffs, title=stop))
    return 1 if any(result.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
