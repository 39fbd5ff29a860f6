"""``make validate``: the model against real kernels over a matrix of topologies.

Each case boots a real guest paused, captures every stop (``capture.run.inspect``), runs the
model on the captured inputs (``compare.compare_run``) and counts the differences. Cases run in
parallel, one per core; the matrix, its wall time and every difference go to a report.
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from inspector.arch import get_arch
from inspector.errors import InspectorError
from inspector.kernel.versions import get_version
from inspector.vm.guest import BootRequest
from inspector.vm.machine import new_run_dir
from inspector.vm.topology import parse_topology


@dataclass(frozen=True)
class Case:
    name: str
    mem: str | None = None
    smp: int = 1
    numa: str | None = None
    numa_dist: str | None = None
    append: tuple[str, ...] = ()
    arches: tuple[str, ...] = ("x86_64", "arm64")


# Sizes that cross each zone limit, odd sizes, holes, mem=, movablecore=/kernelcore=, 2–4 nodes
# with uneven memory and explicit distances, a memoryless node, 1–4 CPUs.
MATRIX: tuple[Case, ...] = (
    Case("1G", mem="1G"),
    Case("odd-300M", mem="300M"),
    Case("odd-1234M-smp3", mem="1234M", smp=3),
    Case("3G-below-hole", mem="3G"),
    Case("4G-crosses-4G", mem="4G", smp=2),
    Case("5G-normal", mem="5G"),
    Case("memmap-hole", mem="1G", append=("memmap=64M$256M",)),
    Case("mem-768M", mem="1G", append=("mem=768M",)),
    Case("movablecore-512M", mem="2G", append=("movablecore=512M",)),
    Case("kernelcore-1G", mem="2G", append=("kernelcore=1G",)),
    Case("2nodes-uneven", numa="768M,256M", smp=2),
    Case("2nodes-dist30", numa="1G,512M", smp=2, numa_dist="0-1=30"),
    Case("3nodes-dist", numa="512M,256M,256M", smp=3, numa_dist="0-1=20,0-2=30,1-2=40"),
    Case("4nodes-smp4", numa="256M,512M,256M,512M", smp=4),
    Case("zone-order", numa="768M,256M", smp=2, append=("numa_zonelist_order=zone",)),
    # 4.7 arm64 oopses with a memoryless node (seen at ~1.4 s of boot): x86_64 only
    Case("memoryless-node", numa="512M,0,512M", smp=3, arches=("x86_64",)),
)


@dataclass
class Result:
    arch: str
    case: str
    differences: int = -1  # -1: the case did not run to the end
    stops: int = 0
    seconds: float = 0.0
    run_dir: str = ""
    error: str = ""
    details: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. a guest command the kernel oopsed


def run_case(version: str, arch: str, case: Case, runs: Path, stop_timeout: float) -> Result:
    """One matrix cell, in a worker process (its own QEMU and gdb)."""
    from inspector.capture.run import inspect
    from inspector.compare import compare_run

    start = time.monotonic()
    res = Result(arch, case.name)
    try:
        req = BootRequest(
            get_version(version),
            get_arch(arch),
            parse_topology(case.mem, case.smp, case.numa, case.numa_dist),
            append=case.append,
        )
        run_dir = new_run_dir(f"validate-{version}-{arch}-{case.name}", runs)
        res.run_dir = str(run_dir)
        out = inspect(req, run_dir, stop_timeout=stop_timeout, quiet=True)
        res.stops = len(out.records)
        res.warnings = [f"guest: {what}" for what in out.guest_failures.values()]
        diffs = compare_run(run_dir)
        flat = [f"{stop}: {d}" for stop, ds in diffs.items() for d in ds]
        res.differences = len(flat)
        res.details = flat[:50]
    except (InspectorError, ValueError) as e:
        res.error = str(e)
    res.seconds = round(time.monotonic() - start, 1)
    return res


def validate(
    version: str,
    arches: list[str],
    *,
    jobs: int | None = None,
    only: str | None = None,
    stop_timeout: float = 120.0,
) -> tuple[list[Result], Path, float]:
    if version != "4.7":
        raise InspectorError(f"no reference model for Linux {version} yet: use KVER=4.7")
    runs = new_run_dir(f"validate-{version}")
    cells = [(a, c) for c in MATRIX for a in arches if a in c.arches]
    if only:
        cells = [(a, c) for a, c in cells if only in c.name]
    start = time.monotonic()
    results: list[Result] = []
    with ProcessPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        futures = [pool.submit(run_case, version, a, c, runs, stop_timeout) for a, c in cells]
        for fut in as_completed(futures):
            r = fut.result()
            results.append(r)
            status = r.error or f"{r.differences} differences"
            print(f"  {r.arch:7} {r.case:18} {r.seconds:6.1f} s  {status}", file=sys.stderr)
    wall = time.monotonic() - start
    results.sort(key=lambda r: (r.arch, [c.name for c in MATRIX].index(r.case)))
    (runs / "report.json").write_text(
        json.dumps(
            {
                "version": version,
                "wall_seconds": round(wall, 1),
                "results": [asdict(r) for r in results],
            },
            indent=1,
        )
        + "\n"
    )
    return results, runs, wall


def report(results: list[Result], wall: float) -> str:
    lines = [f"{'arch':7} {'topology':18} {'stops':>5} {'diffs':>5} {'secs':>6}  note"]
    for r in results:
        diffs = "-" if r.differences < 0 else str(r.differences)
        note = r.error or (r.details[0] if r.details else "; ".join(r.warnings))
        lines.append(f"{r.arch:7} {r.case:18} {r.stops:5} {diffs:>5} {r.seconds:6.1f}  {note}")
    ok = sum(1 for r in results if r.differences == 0)
    lines.append(f"{ok}/{len(results)} topologies with 0 differences; wall time {wall:.0f} s")
    return "\n".join(lines)
