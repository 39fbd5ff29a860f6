"""A run directory's snapshots: the numbered ``NN-<stop>.json`` files of one inspection, loaded
and merged per stop, and the picks the pictures draw from (stop 1's inputs, the latest nodes, the
buddy hand-off, memblock.reserved at the hand-off). compare, report and anything else that reads
a run ask this module."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from pathlib import Path
from typing import Any

from inspector.registry import Role, names_of
from inspector.schema import MemblockRegion, Snapshot


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
        if snap.memblock is not None:
            out.memblock = snap.memblock
    out.nodes = [nodes[n] for n in sorted(nodes)]
    return out


# Written by ``inspect`` as its last act: a run without it was interrupted (or is still going).
COMPLETE = "complete.json"


def require_complete(run_dir: Path) -> None:
    """A one-line error unless ``run_dir`` is a finished inspect run, naming what is missing."""
    from inspector.errors import InspectorError

    if not run_dir.is_dir():
        raise InspectorError(f"{run_dir} is not a directory: name an inspect run directory")
    if (run_dir / COMPLETE).exists():
        return
    snaps = sorted(p.name for p in run_dir.glob("[0-9]*.json"))
    if not snaps and not (run_dir / "qemu.argv.json").exists():
        raise InspectorError(
            f"{run_dir} is not an inspect run (no snapshots): name a run directory"
        )
    missing = [f for f in ("summary.txt", "dmesg.txt") if not (run_dir / f).exists()]
    last = f"last snapshot {snaps[-1]}" if snaps else "no snapshot"
    raise InspectorError(
        f"{run_dir} is an incomplete run (interrupted: {last}, missing "
        f"{', '.join(missing) or COMPLETE}): run inspect again"
    )


def load_run(run_dir: Path) -> dict[str, Snapshot]:
    """The numbered snapshots of a capture run (``NN-<stop>.json``), merged per stop."""
    by_stop: dict[str, list[Snapshot]] = defaultdict(list)
    for path in sorted(run_dir.glob("[0-9]*.json")):
        snap = Snapshot.read(path)
        by_stop[snap.stop].append(snap)
    return {stop: merge(snaps) for stop, snaps in by_stop.items()}


# stop 1 in every version, and the stop whose entry captures memblock just before the hand-off
INPUT_STOPS = names_of(Role.INPUTS)
BOOTMEM_STOPS = names_of(Role.HANDOFF)


def input_snapshot(snapshots: dict[str, Snapshot]) -> Snapshot | None:
    """Stop 1 (``free_area_init_nodes`` / ``free_area_init``): its inputs."""
    for name in INPUT_STOPS:
        snap = snapshots.get(name)
        if snap is not None and snap.inputs is not None:
            return snap
    return next(
        (s for k, s in snapshots.items() if s.inputs is not None and k not in BOOTMEM_STOPS),
        None,
    )


def nodes_snapshot(snapshots: dict[str, Snapshot]) -> Snapshot | None:
    """The latest stop that carries nodes (managed pages are final there)."""
    return next((s for s in reversed(list(snapshots.values())) if s.nodes), None)


def buddy_snapshot(snapshots: dict[str, Snapshot]) -> Snapshot | None:
    """The buddy hand-off: the stop whose zones carry ``free_area``."""
    for s in snapshots.values():
        if any(z.free_area for n in s.nodes for z in n.zones):
            return s
    return None


def reserved_regions(snapshots: dict[str, Snapshot]) -> list[MemblockRegion]:
    """memblock.reserved at ``free_all_bootmem`` entry if captured, else at stop 1."""
    for name in BOOTMEM_STOPS:
        snap = snapshots.get(name)
        if snap is not None and snap.memblock is not None:
            return snap.memblock.reserved
    first = input_snapshot(snapshots)
    return first.inputs.memblock.reserved if first and first.inputs else []
