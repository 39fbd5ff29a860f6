"""A run directory's snapshots: the numbered ``NN-<stop>.json`` files of one inspection, loaded
and merged per stop. compare, report and anything else that reads a run ask this module."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from pathlib import Path
from typing import Any

from inspector.schema import Snapshot


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


def load_run(run_dir: Path) -> dict[str, Snapshot]:
    """The numbered snapshots of a capture run (``NN-<stop>.json``), merged per stop."""
    by_stop: dict[str, list[Snapshot]] = defaultdict(list)
    for path in sorted(run_dir.glob("[0-9]*.json")):
        snap = Snapshot.read(path)
        by_stop[snap.stop].append(snap)
    return {stop: merge(snaps) for stop, snaps in by_stop.items()}
