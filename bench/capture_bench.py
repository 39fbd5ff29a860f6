"""What the gdb captures cost (a benchmark, not a test). Prints, side by side:

1. ``inspect`` to the guest's shell (every stop, every capture) against a bare boot to the
   shell, wall clock, and their ratio; QEMU start → last stop with the breakpoints only vs.
   with every capture; then where inspect's time goes (gdb's load with and without the index
   cache, stop 1, the captures, running between stops, after the last stop, outside the guest).
2. One zone's memmap (its struct pages' flags and refcount): one bulk read decoded with DWARF
   offsets vs. one gdb expression per field (measured on a sample, extrapolated to the zone),
   and the same bytes read from the RAM file through the guest's page tables (what stops do).

    .venv/bin/python bench/capture_bench.py --arch x86_64 --kver 4.7 [--numa 768M,256M --smp 2]
    .venv/bin/python bench/capture_bench.py --kver 6.12 --mem 1G 16G 64G 256G --nodes 4  # sizes
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from inspector.arch import get_arch
from inspector.capture.inspection import Inspection
from inspector.capture.run import inspect, paused_session
from inspector.debug.layout import View
from inspector.errors import InspectorError
from inspector.kernel.source import get_version
from inspector.vm.guest import BootRequest, booted
from inspector.vm.topology import format_size, parse_topology


def _median(values: list[float]) -> float:
    return statistics.median(values)


def gdb_load(vmlinux: Path) -> tuple[float, float]:
    """Seconds for gdb to load ``vmlinux`` and resolve a breakpoint and a struct: without and
    with the index cache mm-inspector keeps (inspector.debug.gdb.index_cache_args)."""
    from inspector.debug.gdb import GDB, ensure_index, index_cache_args

    ensure_index(vmlinux)
    out = []
    for extra in ([], index_cache_args()):
        argv = [GDB, "--nx", "--batch", *extra, "-ex", "break free_area_init_core"]
        argv += ["-ex", "ptype struct zone", str(vmlinux)]
        t0 = time.monotonic()
        subprocess.run(argv, capture_output=True, check=False)
        out.append(time.monotonic() - t0)
    return out[0], out[1]


def stops(req: BootRequest, repeat: int, tmp: Path) -> None:
    """inspect (every stop, every capture, to the guest's shell) against a bare boot to the
    shell of the same topology, wall clock from the call, side by side; then where inspect's
    extra time goes."""
    shell, inspect_wall, to_shell, bare_wall, bare, full = [], [], [], [], [], []
    last: Inspection | None = None
    for i in range(repeat):
        t0 = time.monotonic()
        # the bare boot with inspect's command line: no early console (inspect has none)
        plain = dataclasses.replace(req, early_console=False)
        with booted(plain, _mk(tmp / f"shell-{i}"), quiet=True) as guest:
            shell.append(guest.boot_seconds)
            bare_wall.append(time.monotonic() - t0)
        bare.append(
            inspect(req, _mk(tmp / f"bare-{i}"), quiet=True, capture=False).last_stop_seconds
        )
        t0 = time.monotonic()
        last = inspect(req, _mk(tmp / f"full-{i}"), quiet=True)
        inspect_wall.append(time.monotonic() - t0)
        to_shell.append(last.shell_monotonic - t0)
        full.append(last.last_stop_seconds)
    assert last is not None
    b, f = _median(bare), _median(full)
    iw, bw, sw = _median(inspect_wall), _median(bare_wall), _median(to_shell)
    print(f"bare boot to the shell (call to shell):        {bw:6.2f} s   (median of {repeat})")
    print(f"inspect to the shell (all stops, captures):    {sw:6.2f} s   ratio {sw / bw:.2f}")
    print(
        f"  QEMU start to the shell: bare {_median(shell):.2f} s, "
        f"inspect {last.shell_seconds:.2f} s"
    )
    print(f"inspect to the end (guest files, JSON, exit):  {iw:6.2f} s")
    print(f"QEMU start to the last stop, breakpoints only: {b:6.2f} s")
    print(f"QEMU start to the last stop, all captures:     {f:6.2f} s   ratio {f / b:.2f}")
    # where inspect's time goes (the last run), and gdb's load with and without the index
    cold, warm = gdb_load(last.build.vmlinux)
    recs = last.records
    capture = sum(r.capture_seconds for r in recs)
    rts = sum(r.round_trips for r in recs)
    first = recs[0].at_seconds - recs[0].capture_seconds if recs else 0.0
    print("where inspect's time goes (last run):")
    print(f"  gdb loads vmlinux + resolves a symbol:  {warm:6.2f} s indexed ({cold:.2f} s without)")
    print(f"  QEMU start to stop 1 (TCG, gdb on):     {first:6.2f} s")
    print(
        f"  captures at {len(recs)} stops:                {capture:6.2f} s, {rts} gdb round trips"
    )
    print(
        f"  guest memory at stops: {last.ram_bytes} bytes from the RAM file, "
        f"{last.stub_bytes} through the stub"
    )
    routes = ", ".join(f"{k} {v}" for k, v in sorted(last.returns.items()))
    print(f"  returns caught by: {routes}")
    between = last.last_stop_seconds - first - capture
    print(f"  running between stops (finish, TCG):    {between:6.2f} s")
    after = last.shell_seconds - last.last_stop_seconds
    print(f"  last stop to the shell:                 {after:6.2f} s")
    before = to_shell[-1] - last.shell_seconds  # the last run's own wall clock
    print(f"  before QEMU starts (build check, DWARF, gdb): {before:6.2f} s")
    after_shell = inspect_wall[-1] - to_shell[-1]
    print(f"  after the shell (guest's /proc files, dmesg, JSON): {after_shell:6.2f} s")


def memmap(req: BootRequest, sample: int, tmp: Path) -> None:
    """At build_all_zonelists (every memmap initialised): node 0's largest zone."""
    with paused_session(req, _mk(tmp / "memmap"), quiet=True) as ses:
        gdb, layout = ses.gdb, ses.layout
        addr = layout.function_address("build_all_zonelists")
        gdb.breakpoint(f"*{addr:#x}", hardware=True)
        gdb.cont(120, "build_all_zonelists")
        reader = ses.reader()
        pgdat = reader.read_pgdat(reader.online_nodes()[0])
        zone = max(reader.zones(pgdat), key=lambda z: z.present_pages)
        start, n = zone.zone_start_pfn, zone.spanned_pages
        first = reader.pfn_to_page(start)
        size = layout.sizeof("struct page")
        ref = "_refcount" if layout.has_member("struct page", "_refcount") else "_count"

        rt0, t0 = gdb.round_trips, time.monotonic()
        data = gdb.read(first, n * size)
        read_s = time.monotonic() - t0
        views = (View(layout.type("struct page"), data, i * size) for i in range(n))
        bulk_fields = [(v["flags"], v[f"{ref}.counter"]) for v in views]
        bulk_s, bulk_rt = time.monotonic() - t0, gdb.round_trips - rt0

        ram_s = 0.0
        if ses.memory is not None:
            ses.memory.stopped()
            t0 = time.monotonic()
            from_file = ses.memory.read(first, n * size)
            ram_s = time.monotonic() - t0
            if from_file != data:
                raise InspectorError("the RAM file and the stub disagree on the memmap")

        gdb.evaluate(f"((struct page *){first:#x})->flags")  # gdb loads struct page's DWARF
        rt0, t0 = gdb.round_trips, time.monotonic()
        per_field = []
        for i in range(min(sample, n)):
            page = f"((struct page *){first + i * size:#x})"
            per_field.append(
                (int(gdb.evaluate(f"{page}->flags")), int(gdb.evaluate(f"{page}->{ref}.counter")))
            )
        per_s, per_rt = time.monotonic() - t0, gdb.round_trips - rt0
        if per_field != bulk_fields[: len(per_field)]:
            raise InspectorError("bulk and per-field reads of struct page disagree")
        k = len(per_field)

        flags_off, ref_off = (
            layout.offsetof("struct page", "flags"),
            layout.offsetof("struct page", f"{ref}.counter"),
        )
        rt0, t0 = gdb.round_trips, time.monotonic()
        raw = [
            (
                int.from_bytes(gdb.read(first + i * size + flags_off, 8), "little"),
                int.from_bytes(gdb.read(first + i * size + ref_off, 4), "little", signed=True),
            )
            for i in range(k)
        ]
        raw_s, raw_rt = time.monotonic() - t0, gdb.round_trips - rt0
        if raw != bulk_fields[:k]:
            raise InspectorError("bulk and per-field raw reads of struct page disagree")
        print(f"memmap of node 0 {zone.name}: {n} struct pages ({n * size / 2**20:.1f} MiB)")
        print(
            f"  bulk read + DWARF decode:  {bulk_s:7.2f} s  {bulk_rt:6d} round trips "
            f"(read {read_s:.2f} s, decode {bulk_s - read_s:.2f} s)"
        )
        if ram_s:
            print(
                f"  RAM file, page-table walk: {ram_s:7.2f} s       0 round trips "
                f"(the same bytes; x{read_s / ram_s:.0f} faster than the stub's read)"
            )
        for what, sec, rt in (
            ("per-field raw reads:      ", raw_s, raw_rt),
            ("per-field gdb expressions:", per_s, per_rt),
        ):
            print(
                f"  {what} {sec:7.2f} s  {rt:6d} round trips for {k} pages"
                f" -> {sec * n / k:7.1f} s for the zone (x{sec * n / k / bulk_s:.0f})"
            )


def _mk(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--arch", default="x86_64")
    p.add_argument("--kver", default="4.7")
    p.add_argument("--mem", nargs="+", help="one size, or several: the size axis (1G 16G 256G)")
    p.add_argument("--nodes", type=int, default=1, help="split each --mem into this many nodes")
    p.add_argument("--smp")
    p.add_argument("--numa")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--sample", type=int, default=500, help="pages read per field")
    args = p.parse_args()
    sizes = args.mem or [None]
    try:
        with tempfile.TemporaryDirectory(prefix="mmi-bench-") as tmp:
            for n, mem in enumerate(sizes):
                numa = args.numa
                if mem and args.nodes > 1:
                    per = parse_topology(mem).mem // args.nodes
                    numa = ",".join([format_size(per)] * args.nodes)
                    mem = None
                req = BootRequest(
                    get_version(args.kver),
                    get_arch(args.arch),
                    parse_topology(mem, args.smp, numa),
                    timeout=600,
                )
                print(f"Linux {args.kver} {args.arch} {req.topology.describe()}")
                stops(req, args.repeat, Path(tmp) / str(n))
                if n == 0:
                    memmap(req, args.sample, Path(tmp) / str(n))
    except InspectorError as e:
        print(e.detail, file=sys.stderr)
        print(f"capture_bench: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
