"""``make validate``: the model against real kernels over a matrix of topologies.

Each case boots a real guest paused, captures every stop (``capture.run.inspect``), runs the
model on the captured inputs (``compare.compare_run``) and counts the differences. Cases run in
parallel, one per core; the matrix, its wall time and every difference go to a report.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from inspector.arch import get_arch
from inspector.errors import InspectorError
from inspector.kernel.versions import get_version
from inspector.model import model_for
from inspector.pool import worker_pool
from inspector.resource import die_with_parent
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
    versions: tuple[str, ...] = ("4.7", "6.12")


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
    # CPUs: 8 of them, odd counts per node, maxcpus=, noreplace-smp (the per-cpu chunk, the
    # SMP-alternatives free, nr_cpu_ids in the pcp arithmetic)
    Case("8cpus", mem="2G", smp=8),
    Case("maxcpus-1", mem="1G", smp=4, append=("maxcpus=1",)),
    Case("noreplace-smp", mem="1G", smp=2, append=("noreplace-smp",)),
    Case("odd-smp-per-node", numa="1G@0-2,512M@3,512M@4-6", smp=7),
    # nodes: 8 (x86_64; arm64's NODES_SHIFT is 2), odd sizes, zonelist orders over 3 nodes
    Case(
        "8nodes-smp8",
        numa="256M,256M,128M,128M,256M,256M,384M,384M",
        smp=8,
        arches=("x86_64",),
    ),
    Case("4nodes-smp7", numa="256M@0-2,256M@3,512M@4-5,256M@6", smp=7, arches=("arm64",)),
    Case("odd-node-sizes", numa="333M,555M,111M", smp=3),
    Case(
        "zone-order-3nodes",
        numa="512M,512M,512M",
        smp=3,
        numa_dist="0-1=20,0-2=40,1-2=20",
        append=("numa_zonelist_order=zone",),
    ),
    Case(
        "node-order-3nodes",
        numa="256M,768M,512M",
        smp=3,
        numa_dist="0-1=30,0-2=20,1-2=25",
        append=("numa_zonelist_order=node",),
    ),
    # limits that fall inside a pageblock, and the other memmap= types (x86_64 parameters)
    Case("mem-inside-pageblock", mem="1G", append=("mem=777M",)),
    Case("memmap-inside-pageblock", mem="1G", append=("memmap=3M$301M",), arches=("x86_64",)),
    Case("memmap-acpi", mem="1G", append=("memmap=16M#512M",), arches=("x86_64",)),
    Case("memmap-pmem", mem="2G", append=("memmap=16M!512M",), arches=("x86_64",)),
    Case("tiny-160M", mem="160M"),
    # a node boundary one pageblock (2 MiB) above and below a zone boundary: DMA/DMA32 at 16 MiB
    # on x86_64, DMA/Normal at 4 GiB on arm64 (RAM from 1 GiB)
    Case("node-pageblock-above-zone", numa="18M,1006M", smp=2, arches=("x86_64",)),
    Case("node-pageblock-below-zone", numa="14M,1010M", smp=2, arches=("x86_64",)),
    Case("node-pageblock-above-zone-a", numa="3074M,1022M", smp=2, arches=("arm64",)),
    Case("node-pageblock-below-zone-a", numa="3070M,1026M", smp=2, arches=("arm64",)),
    # ZONE_MOVABLE on several nodes
    Case("numa-movablecore", numa="1G,1G", smp=2, append=("movablecore=768M",)),
    Case("numa-kernelcore", numa="512M,1G,512M", smp=3, append=("kernelcore=1G",)),
    # the early hash tables: from memblock without hashdist, sized by the command line
    Case("hashdist-0", numa="512M,512M", smp=2, append=("hashdist=0",)),
    Case(
        "hash-entries",
        mem="1G",
        append=("hashdist=0", "dhash_entries=4096", "ihash_entries=1024", "mhash_entries=64"),
    ),
    # the swiotlb bounce buffer: x86_64 above 4 GiB, arm64 always; sized by swiotlb=
    Case("6G-2nodes", numa="3G,3G", smp=2),
    Case("swiotlb-small", mem="6G", append=("swiotlb=4096",)),
    # kernelcore=/movablecore= as a share of memory (6.12's cmdline_parse_core(); 4.7 reads
    # "25%" as 25 bytes, which is no ZONE_MOVABLE at all)
    Case("movablecore-25pct", mem="2G", append=("movablecore=25%",)),
    Case("kernelcore-50pct-numa", numa="1G,1G", smp=2, append=("kernelcore=50%",)),
    # 6.12 arm64 boots a memoryless node with CPUs (4.7 arm64 oopses, see above)
    Case("memoryless-node-a", numa="512M,0,512M", smp=3, arches=("arm64",), versions=("6.12",)),
)
# Every cell boots with memblock=debug (so the kernel logs each reserve and free with its range,
# held against the model's allocations) except these, which check the plain boot.
NO_TRACE = frozenset({"1G", "4G-crosses-4G", "2nodes-uneven"})


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
    compared: dict[str, int] = field(default_factory=dict)  # compared values per class


def run_case(version: str, arch: str, case: Case, runs: Path, stop_timeout: float) -> Result:
    """One matrix cell, in a worker process (its own QEMU and gdb)."""
    from inspector.capture.run import inspect
    from inspector.compare import compare

    start = time.monotonic()
    res = Result(arch, case.name)
    try:
        req = BootRequest(
            get_version(version),
            get_arch(arch),
            parse_topology(case.mem, case.smp, case.numa, case.numa_dist),
            append=case.append if case.name in NO_TRACE else (*case.append, "memblock=debug"),
        )
        run_dir = new_run_dir(f"validate-{version}-{arch}-{case.name}", runs)
        res.run_dir = str(run_dir)
        out = inspect(req, run_dir, stop_timeout=stop_timeout, quiet=True)
        res.stops = len(out.records)
        res.warnings = [f"guest: {what}" for what in out.guest_failures.values()]
        result = compare(run_dir)
        res.compared = dict(result.counts)
        flat = [f"{stop}: {d.text()}" for stop, ds in result.diffs.items() for d in ds]
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
    model_for(version)  # a one-line error when the version has no model
    runs = new_run_dir(f"validate-{version}")
    cells = [(a, c) for c in MATRIX for a in arches if a in c.arches and version in c.versions]
    if only:
        cells = [(a, c) for a, c in cells if only in c.name]
    start = time.monotonic()
    results: list[Result] = []
    with worker_pool(jobs or os.cpu_count() or 1) as pool:
        futures = [pool.submit(run_case, version, a, c, runs, stop_timeout) for a, c in cells]
        for fut in as_completed(futures):
            r = fut.result()
            results.append(r)
            status = r.error or f"{r.differences} differences"
            print(f"  {r.arch:7} {r.case:18} {r.seconds:6.1f} s  {status}", file=sys.stderr)
    wall = time.monotonic() - start
    results.sort(key=lambda r: (r.arch, [c.name for c in MATRIX].index(r.case)))
    _write_report(runs, version, wall, results)
    return results, runs, wall


def run_xdist(
    version: str,
    arches: list[str],
    *,
    jobs: int | None = None,
    only: str | None = None,
    stop_timeout: float = 120.0,
    xdist_args: Sequence[str] = (),
) -> tuple[list[Result], Path, float]:
    """The matrix as pytest tests (inspector/validate_matrix.py) on pytest-xdist: ``-n auto``
    (one worker per core) unless ``jobs``; ``xdist_args`` go to pytest as they are (``--tx``
    gateways spread the cells over other hosts). JUnit XML in RUNS/junit.xml, the same
    report.json and table as the pool engine."""
    model_for(version)  # a one-line error when the version has no model
    runs = new_run_dir(f"validate-{version}")
    env = {
        **os.environ,
        "MMI_VALIDATE_KVER": version,
        "MMI_VALIDATE_ARCHES": ",".join(arches),
        "MMI_VALIDATE_ONLY": only or "",
        "MMI_VALIDATE_RUNS": str(runs.resolve()),
        "MMI_VALIDATE_STOP_TIMEOUT": str(stop_timeout),
    }
    # --tx gateways name the workers themselves (2*popen, ssh=host//python=…): no -n then
    workers = [] if any(a.startswith("--tx") for a in xdist_args) else ["-n", str(jobs or "auto")]
    cmd = [
        sys.executable, "-m", "pytest", str(Path(__file__).with_name("validate_matrix.py")),
        *workers, "-q", "-p", "no:cacheprovider", "--rootdir", str(runs),
        f"--junitxml={runs / 'junit.xml'}", "-o", "junit_family=xunit2", *xdist_args,
    ]  # fmt: skip
    # the session's own output goes to a log: its workers may still write after an interruption
    # has been reported, and a terminal gets the progress as each cell ends (below)
    log = runs / "pytest.log"
    print(f"the matrix on pytest-xdist: log {log}, JUnit {runs / 'junit.xml'}", file=sys.stderr)
    start = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd,
            env=env,
            start_new_session=True,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: die_with_parent(signal.SIGTERM),  # SIGKILLed, we take it along
        )
        try:
            _follow(proc, runs / "results")
        finally:  # interrupted: the pytest session, its workers and their guests go with it
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
    wall = time.monotonic() - start
    results = [
        Result(**json.loads(p.read_text())) for p in sorted((runs / "results").glob("*.json"))
    ]
    if proc.returncode not in (0, 1) and not results:
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise InspectorError(
            f"pytest could not run the matrix (exit {proc.returncode}): {tail[0]} (see {log})"
        )
    names = [c.name for c in MATRIX]
    results.sort(key=lambda r: (r.arch, names.index(r.case)))
    _write_report(runs, version, wall, results)
    return results, runs, wall


def _follow(proc: subprocess.Popen[bytes], results: Path) -> None:
    """Wait for the session, printing each cell's line as its result lands."""
    seen: set[Path] = set()
    while True:
        done = proc.poll() is not None
        for p in sorted(set(results.glob("*.json")) - seen) if results.exists() else []:
            with contextlib.suppress(OSError, ValueError, TypeError):  # half written: later
                r = Result(**json.loads(p.read_text()))
                seen.add(p)
                status = r.error or f"{r.differences} differences"
                print(f"  {r.arch:7} {r.case:18} {r.seconds:6.1f} s  {status}", file=sys.stderr)
        if done:
            return
        time.sleep(0.5)


def _write_report(runs: Path, version: str, wall: float, results: list[Result]) -> None:
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


def report(results: list[Result], wall: float) -> str:
    lines = [f"{'arch':7} {'topology':18} {'stops':>5} {'diffs':>5} {'secs':>6}  note"]
    for r in results:
        diffs = "-" if r.differences < 0 else str(r.differences)
        note = r.error or (r.details[0] if r.details else "; ".join(r.warnings))
        lines.append(f"{r.arch:7} {r.case:18} {r.stops:5} {diffs:>5} {r.seconds:6.1f}  {note}")
    ok = sum(1 for r in results if r.differences == 0)
    totals: dict[str, int] = {}
    for r in results:
        for k, v in r.compared.items():
            totals[k] = totals.get(k, 0) + v
    if totals:
        lines.append(
            "compared values: "
            + ", ".join(f"{k} {v}" for k, v in sorted(totals.items(), key=lambda kv: -kv[1]))
            + f"; total {sum(totals.values())}"
        )
    lines.append(f"{ok}/{len(results)} topologies with 0 differences; wall time {wall:.0f} s")
    return "\n".join(lines)
