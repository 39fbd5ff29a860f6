"""What the gdb captures cost (a benchmark, not a test). Prints, side by side:

1. QEMU start → last stop with the breakpoints only (no reads, no finish) vs. with every
   capture (reads, finishes, JSON), and their ratio; plus a plain boot to the shell.
2. One zone's memmap (its struct pages' flags and refcount): one bulk read decoded with DWARF
   offsets vs. one gdb expression per field (measured on a sample, extrapolated to the zone).

    .venv/bin/python bench/capture_bench.py --arch x86_64 --kver 4.7 [--numa 768M,256M --smp 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from inspector.arch import get_arch
from inspector.capture.run import inspect, paused_session
from inspector.debug.layout import View
from inspector.errors import InspectorError
from inspector.kernel.versions import get_version
from inspector.vm.guest import BootRequest, booted
from inspector.vm.topology import parse_topology


def _median(values: list[float]) -> float:
    return statistics.median(values)


def stops(req: BootRequest, repeat: int, tmp: Path) -> None:
    shell, bare, full = [], [], []
    for i in range(repeat):
        with booted(req, _mk(tmp / f"shell-{i}"), quiet=True) as guest:
            shell.append(guest.boot_seconds)
        bare.append(
            inspect(req, _mk(tmp / f"bare-{i}"), quiet=True, capture=False).last_stop_seconds
        )
        full.append(inspect(req, _mk(tmp / f"full-{i}"), quiet=True).last_stop_seconds)
    b, f = _median(bare), _median(full)
    print(f"QEMU start to the shell, no gdb:            {_median(shell):6.2f} s")
    print(f"QEMU start to the last stop, breakpoints:   {b:6.2f} s   (median of {repeat})")
    print(f"QEMU start to the last stop, all captures:  {f:6.2f} s   ratio {f / b:.2f}")


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
    p.add_argument("--mem")
    p.add_argument("--smp")
    p.add_argument("--numa")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--sample", type=int, default=500, help="pages read per field")
    args = p.parse_args()
    req = BootRequest(
        get_version(args.kver),
        get_arch(args.arch),
        parse_topology(args.mem, args.smp, args.numa),
        timeout=120,
    )
    print(f"Linux {args.kver} {args.arch} {req.topology.describe()}")
    try:
        with tempfile.TemporaryDirectory(prefix="mmi-bench-") as tmp:
            stops(req, args.repeat, Path(tmp))
            memmap(req, args.sample, Path(tmp))
    except InspectorError as e:
        print(e.detail, file=sys.stderr)
        print(f"capture_bench: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
