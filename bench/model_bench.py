"""How the reference model's cost grows with the machine: a whole 6.12 (or 4.7) replay, and
compare's field walk over its snapshots, for synthetic x86_64 machines of ``--gib`` GiB over
``--nodes`` equal nodes (a low hole, one reserved block for the image), each figure printed
beside the issue's target. Every size runs in a fresh interpreter so its peak memory
(``ru_maxrss``) is its own.

    .venv/bin/python bench/model_bench.py --gib 64 256 1024 --nodes 8

The sizing stage alone (no memmap, no hand-off) is ``bench/dmesg_bench.py``'s ``size``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import replace

# the targets of "Server scale" (seconds, MiB), printed beside each measurement
TARGETS = {"replay@256": 1.0, "compare@1024": 3.0, "peak_mib@1024": 500.0}


def synthetic(gib: int, nodes: int, version: str) -> object:
    from inspector.model.inputs import synthetic_inputs
    from inspector.schema import Inputs, Memblock, MemblockRegion

    total, per = gib << 30, (gib << 30) // nodes
    memory = [
        MemblockRegion(max(n * per, 1 << 20), (n + 1) * per - max(n * per, 1 << 20), n)
        for n in range(nodes)
    ]
    end = total >> 12
    inp = Inputs(
        max_zone_pfn=[4096, 1 << 20, end, 0],
        zone_names=["DMA", "DMA32", "Normal", "Movable"],
        memblock=Memblock(memory=memory, reserved=[MemblockRegion(16 << 20, 64 << 20, 0)]),
        node_distance=[[10 if a == b else 20 for b in range(nodes)] for a in range(nodes)],
        cpu_to_node=[i % nodes for i in range(4 * nodes)],
        online_nodes=list(range(nodes)),
        constants={"memblock.current_limit": end << 12},
    )
    return replace(synthetic_inputs(inp, "x86_64", version=version), release=version)


def one(gib: int, nodes: int, version: str, repeat: int) -> dict[str, float]:
    """Run in a child: the medians of ``repeat`` replays and walks, and the peak RSS."""
    from inspector.compare.fields import _walk
    from inspector.model import model_for

    inputs = synthetic(gib, nodes, version)
    replays, walks = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        rep = model_for(version).replay(inputs)  # type: ignore[arg-type]
        t1 = time.perf_counter()
        for snap in rep.snapshots.values():  # the model's snapshots as their own capture
            _walk(snap, snap)
        t2 = time.perf_counter()
        replays.append(t1 - t0)
        walks.append(t2 - t1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "replay": statistics.median(replays),
        "compare": statistics.median(walks),
        "peak_mib": peak,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--gib", type=int, nargs="+", default=[64, 256, 1024])
    p.add_argument("--nodes", type=int, default=8)
    p.add_argument("--version", default="6.12", choices=("4.7", "6.1", "6.12"))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        print(json.dumps(one(a.child, a.nodes, a.version, a.repeat)))
        return
    print(f"Linux {a.version} model, {a.nodes} nodes, median of {a.repeat} (target in brackets):")
    for gib in a.gib:
        argv = [sys.executable, __file__, "--child", str(gib), "--nodes", str(a.nodes)]
        argv += ["--version", a.version, "--repeat", str(a.repeat)]
        out = json.loads(subprocess.run(argv, check=True, capture_output=True).stdout)
        cells = []
        for key, unit in (("replay", "s"), ("compare", "s"), ("peak_mib", "MiB")):
            target = TARGETS.get(f"{key}@{gib}")
            mark = f" [< {target:g}]" if target is not None else ""
            cells.append(f"{key} {out[key]:.2f} {unit}{mark}")
        print(f"  {gib:5d} GiB: " + ", ".join(cells))


if __name__ == "__main__":
    main()
