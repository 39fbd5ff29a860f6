"""How long ``mm-inspector dmesg`` takes to size a big machine from its log, per stage.

The log is made here, not taken from a real machine: an x86_64 e820 map of ``--tib`` TiB over
``--nodes`` SRAT nodes (a laptop-like low 4 GiB with holes, the rest in equal nodes), with the
lines the reader needs. Prints the median of ``--repeat`` runs of reading, deriving the inputs,
sizing and judging, and the whole.

    .venv/bin/python bench/dmesg_bench.py --tib 1 --nodes 8
"""

from __future__ import annotations

import argparse
import statistics
import time

from inspector.bootlog.firmware import memory_map
from inspector.bootlog.judge import judge, sizing_inputs
from inspector.bootlog.read import parse
from inspector.model.sizing import size


def synthetic_log(tib: float, nodes: int) -> str:
    total = int(tib * (1 << 40))
    e820 = [
        (0x0, 0x9EFFF, "usable"),
        (0x9F000, 0xFFFFF, "reserved"),
        (0x100000, 0x7FFFFFFF, "usable"),
        (0x80000000, 0xFFFFFFFF, "reserved"),
        (0x100000000, 0x100000000 + total - (2 << 30) - 1, "usable"),
    ]
    out = ["[    0.000000] Linux version 5.4.0-bench (gcc) #1 SMP x86_64"]
    out += [f"[    0.000000] BIOS-e820: [mem {s:#018x}-{e:#018x}] {t}" for s, e, t in e820]
    end = e820[-1][1] + 1
    per = end // nodes
    for n in range(nodes):
        lo, hi = n * per, end if n == nodes - 1 else (n + 1) * per
        out.append(f"[    0.000000] ACPI: SRAT: Node {n} PXM {n} [mem {lo:#010x}-{hi - 1:#010x}]")
    out.append("[    0.000000] Zone ranges:")
    return "\n".join(out) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--tib", type=float, default=1.0)
    p.add_argument("--nodes", type=int, default=8)
    p.add_argument("--repeat", type=int, default=7)
    a = p.parse_args()
    text = synthetic_log(a.tib, a.nodes)
    times: dict[str, list[float]] = {k: [] for k in ("read", "inputs", "size", "whole")}
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        log = parse(text)
        t1 = time.perf_counter()
        inputs, _ = sizing_inputs(log, memory_map(log))
        t2 = time.perf_counter()
        size(inputs)
        t3 = time.perf_counter()
        judge(log)
        t4 = time.perf_counter()
        for k, v in zip(times, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            times[k].append(v)
    print(f"{a.tib:g} TiB, {a.nodes} nodes, median of {a.repeat}:")
    for k, v in times.items():
        print(f"  {k:7} {statistics.median(v) * 1000:8.2f} ms")


if __name__ == "__main__":
    main()
