"""``make validate`` on pytest-xdist against the same cells run one at a time (a benchmark, not a
test), measured side by side in one run: wall clock, the CPU time the cells used, the ratio,
and the ceiling the host's cores allow (serial wall ÷ (parallel CPU ÷ cores)): when the cells
are CPU-bound (TCG, gdb, the model) no scheduler beats it.

    .venv/bin/python bench/validate_bench.py [--kver 6.12] [--arch x86_64] [--only nodes]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time


def run(args: argparse.Namespace, jobs: str) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the children, the report's last line)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    cmd = [sys.executable, "-m", "inspector.cli", "validate", "--kver", args.kver]
    cmd += ["--arch", args.arch, "--only", args.only, "--jobs", jobs]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    last = [line for line in out.stdout.splitlines() if "topologies" in line]
    return wall, cpu, last[-1] if last else out.stderr.strip()[-200:]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--kver", default="6.12")
    p.add_argument("--arch", default="x86_64")
    p.add_argument("--only", default="nodes", help="the cells whose name contains this")
    args = p.parse_args()
    cores = os.cpu_count() or 1
    s_wall, s_cpu, s_line = run(args, "1")
    x_wall, x_cpu, x_line = run(args, str(cores))
    print(f"Linux {args.kver} {args.arch}, cells matching {args.only!r}, {cores} cores")
    print(f"one at a time (xdist -n 1):  wall {s_wall:6.1f} s  CPU {s_cpu:6.1f} s  {s_line}")
    print(f"xdist -n {cores} (make validate): wall {x_wall:6.1f} s  CPU {x_cpu:6.1f} s  {x_line}")
    ceiling = s_wall / max(x_cpu / cores, 1e-9)
    print(f"ratio {s_wall / x_wall:.2f}x; the cores allow at most {ceiling:.2f}x at this CPU cost")
    return 0


if __name__ == "__main__":
    sys.exit(main())
