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
import traceback
from collections.abc import Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path

from inspector.arch import get_arch
from inspector.errors import GuestTimeout, InspectorError
from inspector.kernel.source import get_version, makefile_release
from inspector.kernel.versions import KernelVersion, for_tree
from inspector.model import model_for
from inspector.pool import worker_pool
from inspector.resource import die_with_parent
from inspector.signals import HeldSignals
from inspector.validate_results import (
    CRASHED,
    ERROR,
    TIMED_OUT,
    Result,
    never_reported,
    outcome_of,
    write_report,
)
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
    versions: tuple[str, ...] = ("4.7", "6.1", "6.12")


_X86 = ("x86_64",)
_HOLE_MOVABLE = ("memmap=1G$100G", "movablecore=64G")
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
    # nodes: 8 (4.7 arm64 is built with NODES_SHIFT 3 for them: 4.7-arm64.config), odd sizes,
    # zonelist orders over 3 nodes
    Case("8nodes-smp8", numa="256M,256M,128M,128M,256M,256M,384M,384M", smp=8),
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
    # servers: 64 GiB over 4 nodes with 16 CPUs; 256 GiB over 8 uneven nodes with 32 CPUs (one
    # memoryless where the arch boots it); on x86_64 a memmap= hole and movablecore= at that size
    Case("64G-4nodes-16cpus", numa="16G,16G,16G,16G", smp=16),
    Case("256G-8nodes-uneven", numa="48G,24G,32G,40G,24G,32G,24G,32G", smp=32),
    Case("256G-memoryless", numa="64G,32G,0,32G,64G,32G,0,32G", smp=32, arches=_X86),
    Case("256G-memmap-movable", numa="64G,64G,64G,64G", smp=8, append=_HOLE_MOVABLE, arches=_X86),
    # 6.1 and 6.12 arm64 boot a memoryless node with CPUs (4.7 arm64 oopses, see above)
    Case(
        "memoryless-node-a",
        numa="512M,0,512M",
        smp=3,
        arches=("arm64",),
        versions=("6.1", "6.12"),
    ),
)
# Every cell boots with memblock=debug (so the kernel logs each reserve and free with its range,
# held against the model's allocations) except these, which check the plain boot.
NO_TRACE = frozenset({"1G", "4G-crosses-4G", "2nodes-uneven"})


def cells(version: str, arches: Sequence[str], only: str | None = None) -> list[tuple[str, Case]]:
    """The cells the matrix asks for: each (arch, topology) the version runs, only those whose
    name contains one of ``only``'s comma-separated words when it is given."""
    family = version.split(":", 1)[-1]  # "debian:6.12" runs 6.12's matrix
    out = [(a, c) for c in MATRIX for a in arches if a in c.arches and family in c.versions]
    words = [w for w in (only or "").split(",") if w]
    return [(a, c) for a, c in out if not words or any(w in c.name for w in words)]


def tree_version() -> KernelVersion | None:
    """The user's tree (``KERNEL_TREE=``, inherited by every worker) the matrix runs on, at its
    own release, or None for the pinned kernel of ``--kver``."""
    tree = os.environ.get("KERNEL_TREE")
    if not tree:
        return None
    path = Path(tree).expanduser().resolve()
    return for_tree(str(path), makefile_release(path))


def _label(version: str) -> str:
    """A run's name: the version, or ``tree-<release>`` for a user's tree."""
    tree = os.environ.get("KERNEL_TREE")
    if not tree:
        return version.replace(":", "-")
    return "tree-" + makefile_release(Path(tree).expanduser().resolve())


def run_case(version: str, arch: str, case: Case, runs: Path, stop_timeout: float) -> Result:
    """One matrix cell, in a worker process (its own QEMU and gdb). Whatever it raises but an
    interrupt ends in its result: a one-line error as ``error`` or ``timed out``, anything else
    as ``crashed`` with the traceback written beside the cell's run."""
    from inspector.capture.run import inspect
    from inspector.compare import compare

    start = time.monotonic()
    res = Result(arch, case.name)
    try:
        req = BootRequest(
            tree_version() or get_version(version),
            get_arch(arch),
            parse_topology(case.mem, case.smp, case.numa, case.numa_dist),
            append=case.append if case.name in NO_TRACE else (*case.append, "memblock=debug"),
        )
        run_dir = new_run_dir(f"validate-{_label(version)}-{arch}-{case.name}", runs)
        res.run_dir = str(run_dir)
        out = inspect(req, run_dir, stop_timeout=stop_timeout, quiet=True)
        res.stops = len(out.records)
        res.warnings = [f"guest: {what}" for what in out.guest_failures.values()]
        result = compare(run_dir)
        res.compared = dict(result.counts)
        flat = [f"{stop}: {d.text()}" for stop, ds in result.diffs.items() for d in ds]
        res.differences = len(flat)
        res.details = flat[:50]
        res.outcome = outcome_of(res)
    except GuestTimeout as e:
        res.error, res.outcome = str(e), TIMED_OUT
    except (InspectorError, ValueError) as e:
        res.error, res.outcome = str(e), ERROR
    except Exception as e:  # a model KeyError, say: the cell crashed, and says where
        where = Path(res.run_dir) if res.run_dir else runs
        tb = where / (f"{res.key}.traceback.txt" if where == runs else "traceback.txt")
        where.mkdir(parents=True, exist_ok=True)
        tb.write_text(traceback.format_exc())
        res.error = f"{type(e).__name__}: {e} (traceback in {tb})".replace("\n", " ")
        res.outcome, res.traceback = CRASHED, str(tb)
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
    model_for(version.split(":", 1)[-1])  # a one-line error when the version has no model
    runs = new_run_dir(f"validate-{_label(version)}")
    asked = cells(version, arches, only)
    start = time.monotonic()
    results: list[Result] = []
    with worker_pool(jobs or os.cpu_count() or 1) as pool:
        with HeldSignals():  # the pool forks its workers on the first submit
            futures = {
                pool.submit(run_case, version, a, c, runs, stop_timeout): (a, c) for a, c in asked
            }
        for fut in as_completed(futures):
            try:
                r = fut.result()
            except Exception as e:  # the worker died (BrokenProcessPool) or could not send it
                a, c = futures[fut]
                r = never_reported(a, c.name, f"{type(e).__name__}: {e}")
            results.append(r)
            _progress(r)
    wall = time.monotonic() - start
    results = _in_matrix_order(asked, results, "the worker pool returned nothing")
    write_report(runs, version, wall, results)
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
    gateways spread the cells over other hosts). The same report.json, table and JUnit XML
    (RUNS/junit.xml, one testcase per cell asked for) as the pool engine; pytest's own JUnit
    is RUNS/pytest-junit.xml."""
    model_for(version.split(":", 1)[-1])  # a one-line error when the version has no model
    runs = new_run_dir(f"validate-{_label(version)}")
    asked = cells(version, arches, only)
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
        f"--junitxml={runs / 'pytest-junit.xml'}", "-o", "junit_family=xunit2", *xdist_args,
    ]  # fmt: skip
    # the session's own output goes to a log: its workers may still write after an interruption
    # has been reported, and a terminal gets the progress as each cell ends (below)
    log = runs / "pytest.log"
    print(f"the matrix on pytest-xdist: log {log}", file=sys.stderr)
    start = time.monotonic()
    with log.open("w") as out:
        held = HeldSignals()  # an interrupt during the fork is delivered inside the try
        proc = subprocess.Popen(
            cmd,
            env=env,
            start_new_session=True,
            stdout=out,
            stderr=subprocess.STDOUT,
            # SIGKILLed, we take it along
            preexec_fn=held.child(lambda: die_with_parent(signal.SIGTERM)),
        )
        try:
            held.release()
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
    loaded = [_load(p) for p in sorted((runs / "results").glob("*.json"))]
    if proc.returncode not in (0, 1) and not any(loaded):
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise InspectorError(
            f"pytest could not run the matrix (exit {proc.returncode}): {tail[0]} (see {log})"
        )
    why = f"pytest's worker died or the cell never ended (exit {proc.returncode}; see {log})"
    results = _in_matrix_order(asked, [r for r in loaded if r is not None], why)
    write_report(runs, version, wall, results)
    return results, runs, wall


def _load(path: Path) -> Result | None:
    with contextlib.suppress(OSError, ValueError, TypeError):  # half written: never reported
        return Result(**json.loads(path.read_text()))
    return None


def _progress(r: Result) -> None:
    status = r.error or f"{r.differences} differences"
    print(f"  {r.arch:7} {r.case:18} {r.seconds:6.1f} s  {r.outcome}: {status}", file=sys.stderr)


def _in_matrix_order(asked: list[tuple[str, Case]], got: list[Result], why: str) -> list[Result]:
    """One result per cell asked for, in the matrix's order: a cell nobody reported is crashed."""
    by_key = {r.key: r for r in got}
    out = []
    for a, c in sorted(asked, key=lambda ac: (ac[0], MATRIX.index(ac[1]))):
        r = by_key.get(f"{a}-{c.name}")
        if r is None:
            r = never_reported(a, c.name, why)
            _progress(r)
        out.append(r)
    return out


def _follow(proc: subprocess.Popen[bytes], results: Path) -> None:
    """Wait for the session, printing each cell's line as its result lands."""
    seen: set[Path] = set()
    while True:
        done = proc.poll() is not None
        for p in sorted(set(results.glob("*.json")) - seen) if results.exists() else []:
            if (r := _load(p)) is not None:  # half written: later
                seen.add(p)
                _progress(r)
        if done:
            return
        time.sleep(0.5)
