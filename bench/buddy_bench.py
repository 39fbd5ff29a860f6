"""Benchmark (not a test): the full live buddy dump with every free block, four ways, on one
fragmented guest.

0. the memmap scan (``inspector.live.scan``: struct pages decoded by numpy where they lie in
   the RAM file, found through the guest's page tables; lists ranked by a sparse ruling set),
   the floors (the memmap bytes read once through drgn, and touched once in place), and drgn's
   own crash-compatible ``kmem -f`` / ``kmem -F`` on the same program,
1. drgn over the guest's RAM files, walking each list (the dump without the scan),
2. drgn over QEMU's QMP socket (drgn's ``set_qemu_qmp``; same VMCOREINFO, same walk),
3. the same free-list walk over the gdb stub (raw 8-byte reads of ``next``, one MI round trip),
4. ``crash kmem -F`` on an ELF core written by ``inspector.live.vmcore`` (and the time to write it).

    .venv/bin/python bench/buddy_bench.py [--arch x86_64] [--kver 4.7] [--mem 4G] [--files 400000]

The guest is fragmented first: awk writes ``--files`` one-page tmpfs files in one process, then
every other one is deleted, leaving about files/2 free blocks.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import drgn
import numpy as np

from inspector.arch import get_arch
from inspector.debug.gdb import GdbSession
from inspector.kernel.source import get_version
from inspector.live.buddy import dump
from inspector.live.crash import parse_kmem_free, run_crash
from inspector.live.direct import live_page_cache
from inspector.live.invariants import check_state
from inspector.live.lists import walk_list
from inspector.live.program import LiveKernel, platform
from inspector.live.session import LiveGuest, live_guest
from inspector.live.state import kernel_consts, page_cache, read_state
from inspector.live.vmcore import write_vmcore
from inspector.live.vmcoreinfo import X86_START_KERNEL_MAP
from inspector.vm.guest import BootRequest
from inspector.vm.machine import new_run_dir
from inspector.vm.topology import parse_topology


def fragment_command(files: int) -> str:
    return (
        f'awk \'BEGIN {{ for (i = 0; i < {files}; i++) {{ f = "/tmp/f" i; '
        f'printf "%4096s", "" > f; close(f) }} }}\' && '
        "find /tmp -name 'f*[02468]' | xargs rm -f && sync"
    )


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.monotonic()
        result = fn()
        times.append(time.monotonic() - start)
    return statistics.median(times), result


def scan_dump(lk: LiveKernel) -> int:
    """The dump with the free lists from a memmap scan (inspector.live.scan), the memmap read
    in place from the RAM files (what ``buddy --scan`` does)."""
    cache = live_page_cache(lk, kernel_consts(lk.prog, lk.config))
    d = dump(lk, blocks=True, state=read_state(lk.prog, lk.config, cache, scan=True))
    return len(d.blocks or [])


def scan_dump_check(lk: LiveKernel) -> int:
    """The scan dump and every invariant check on the same state (one read of the guest)."""
    cache = live_page_cache(lk, kernel_consts(lk.prog, lk.config))
    state = read_state(lk.prog, lk.config, cache, scan=True)
    d = dump(lk, blocks=True, state=state)
    if violations := check_state(lk, *state, cache):
        raise SystemExit(f"buddy_bench: invariants fail on a paused guest: {violations[:3]}")
    return len(d.blocks or [])


def floor(lk: LiveKernel) -> int:
    """Bytes of memmap read once through drgn, section by section, nothing decoded."""
    k = kernel_consts(lk.prog, lk.config)
    cache = page_cache(lk.prog, k)
    return sum(len(c) for nr in cache.sections if (c := cache.chunk(nr)) is not None)


def floor_in_place(lk: LiveKernel) -> int:
    """Every byte of the memmap touched once where it lies in the RAM file (a numpy sum over
    the views the scan decodes): the floor of the scan."""
    cache = live_page_cache(lk, kernel_consts(lk.prog, lk.config))
    total = 0
    for nr in cache.sections:
        for _, c in cache.pieces(nr):
            total += len(c)
            np.frombuffer(c, dtype=np.uint64).sum()
    return total


def same_as_walk(lk: LiveKernel) -> None:
    """The scan must find exactly the lists the walk finds, entry by entry."""
    _, walked = read_state(lk.prog, lk.config)
    _, scanned = read_state(lk.prog, lk.config, scan=True)
    a = [list(map(int, w.nodes)) for n in walked for z in n.zones for o in z.free_lists for w in o]
    b = [list(map(int, w.nodes)) for n in scanned for z in n.zones for o in z.free_lists for w in o]
    if a != b:
        raise SystemExit("buddy_bench: the memmap scan and the list walk disagree")


def drgn_kmem(lk: LiveKernel, pages: bool) -> int:
    """drgn's crash-compatible ``kmem -f`` / ``kmem -F`` on the same program; returns the
    lines it printed."""
    from drgn.commands._crash._kmem import _kmem_free

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        _kmem_free(lk.prog, False, show_pages=pages)
    return out.getvalue().count("\n")


def drgn_dump(lk: LiveKernel) -> int:
    d = dump(lk, blocks=True)
    assert d.blocks is not None
    return len(d.blocks)


def qmp_program(lk: LiveKernel, sock: Path) -> drgn.Program:
    """drgn over QMP (drgn 0.3.0 on 4.7: Program(platform), set_qemu_qmp, then
    set_linux_kernel_custom with the VMCOREINFO; see ../shared/FACTS.md)."""
    prog = drgn.Program(platform(lk.arch))
    prog.set_qemu_qmp(str(sock))
    prog.set_linux_kernel_custom(lk.vmcoreinfo.text, is_live=True)
    if lk.arch == "x86_64":  # as over the RAM files: the image needs a virtual segment

        def read(addr: int, count: int, _off: int, _phys: bool) -> bytes:
            return prog.read(lk.image.phys(addr), count, True)

        prog.add_memory_segment(X86_START_KERNEL_MAP, 1 << 30, read, physical=False)
    prog.load_debug_info([str(lk.vmlinux.path)])
    return prog


def qmp_kernel(lk: LiveKernel, prog: drgn.Program) -> LiveKernel:
    """``lk`` with its program swapped for the QMP one (vmemmap as found over the RAM files)."""
    try:
        prog["vmemmap"]
    except LookupError:
        vmemmap = drgn.Object(prog, "struct page *", lk.prog["vmemmap"].value_())
        prog.register_object_finder(
            "vmemmap",
            lambda _p, name, _f, _file: vmemmap if name == "vmemmap" else None,
            enable_index=0,
        )
    return dataclasses.replace(lk, prog=prog)


def per_word_walk(lk: LiveKernel, heads: list[int]) -> int:
    """The walk without PageCache: one drgn read (with address translation) per word."""
    limit = 1 << 24
    return sum(len(walk_list(lk.prog.read_u64, h, limit).nodes) for h in heads)


_GDB_WALK = """
inf = gdb.selected_inferior()
n = 0
for head in HEADS:
    node = int.from_bytes(inf.read_memory(head, 8).tobytes(), "little")
    while node != head:
        n += 1
        node = int.from_bytes(inf.read_memory(node, 8).tobytes(), "little")
print("blocks=%d" % n)
"""


def gdb_walk(lg: LiveGuest, heads: list[int], in_gdb: bool) -> int:
    """Walk the same lists (heads from drgn) with one stub memory read per ``next``: from gdb's
    own Python (``in_gdb``), or one MI ``-data-read-memory-bytes`` round trip per read."""
    blocks = 0
    with GdbSession(lg.guest.kernel.vmlinux, lg.guest.machine.spec.arch, timeout=3600) as gdb:
        gdb.connect(lg.guest.machine.paths.gdb_sock)
        try:
            if in_gdb:
                script = _GDB_WALK.replace("HEADS", repr(heads))
                out = gdb.console(f"python exec({script!r})", timeout=3600)
                return int(out.split("blocks=")[1].split()[0])
            for head in heads:
                node = int.from_bytes(gdb.read(head, 8), "little")
                while node != head:
                    blocks += 1
                    node = int.from_bytes(gdb.read(node, 8), "little")
        finally:
            gdb.detach()  # the guest runs on after a detach: stop it again
            lg.pause()
    return blocks


def crash_walk(lg: LiveGuest, core: Path) -> int:
    text = run_crash(lg.guest.kernel.vmlinux, core, ["kmem -F"], timeout=1800)
    return sum(len(p) for z in parse_kmem_free(text).zones for p in z.pages.values())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="x86_64")
    ap.add_argument("--kver", default="4.7")
    ap.add_argument("--mem", default="4G")
    ap.add_argument("--files", type=int, default=400_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-gdb", action="store_true")
    ap.add_argument("--skip-crash", action="store_true")
    ap.add_argument("--skip-gdb-mi", action="store_true", help="skip the slowest route")
    args = ap.parse_args()

    arch, version = get_arch(args.arch), get_version(args.kver)
    run_dir = new_run_dir(f"bench-{args.kver}-{args.arch}")
    qmp2 = run_dir / "drgn-qmp.sock"
    req = BootRequest(
        version,
        arch,
        parse_topology(args.mem, 1, None, None),
        extra=("-qmp", f"unix:{qmp2},server=on,wait=off"),
        gdbstub=True,  # the gdb routes attach to the running guest
        timeout=600,
    )
    rows: list[tuple[str, float, int, str]] = []
    with live_guest(req, run_dir) as lg:
        start = time.monotonic()
        lg.guest.run(fragment_command(args.files), timeout=3600)
        print(
            f"fragmented with {args.files} files in {time.monotonic() - start:.1f} s",
            file=sys.stderr,
        )
        lg.pause()
        t, n = timed(lambda: scan_dump(lg.lk), args.repeat)
        rows.append(("memmap scan, numpy (dump --blocks)", t, int(n), f"median of {args.repeat}"))  # type: ignore[call-overload]
        t, n = timed(lambda: scan_dump_check(lg.lk), args.repeat)
        rows.append(("scan dump + every invariant", t, int(n), f"median of {args.repeat}"))  # type: ignore[call-overload]
        t, n = timed(lambda: floor(lg.lk), args.repeat)
        rows.append(("floor: memmap read once via drgn", t, 0, f"{int(n) >> 20} MiB, copied"))  # type: ignore[call-overload]
        t, n = timed(lambda: floor_in_place(lg.lk), args.repeat)
        rows.append(("floor: memmap touched in place", t, 0, f"{int(n) >> 20} MiB, numpy sum"))  # type: ignore[call-overload]
        t, n = timed(lambda: drgn_dump(lg.lk), args.repeat)
        rows.append(("drgn, RAM files, list walk (dump)", t, int(n), f"median of {args.repeat}"))  # type: ignore[call-overload]
        same_as_walk(lg.lk)
        for flag, pages in (("-f", False), ("-F", True)):
            t, n = timed(lambda p=pages: drgn_kmem(lg.lk, p), 1)  # type: ignore[misc]
            rows.append((f"drgn's own crash command kmem {flag}", t, int(n), "once"))  # type: ignore[call-overload]
        qmp = qmp_kernel(lg.lk, qmp_program(lg.lk, qmp2))
        t, n = timed(lambda: drgn_dump(qmp), args.repeat)
        rows.append(("drgn, QMP (dump --blocks)", t, int(n), f"median of {args.repeat}"))  # type: ignore[call-overload]
        _, nodes = read_state(lg.lk.prog, lg.lk.config)
        heads = [w.head for n in nodes for z in n.zones for o in z.free_lists for w in o]
        t, n = timed(lambda: per_word_walk(lg.lk, heads), args.repeat)
        rows.append(("drgn, RAM files, walk per word", t, int(n), "no PageCache; walk only"))  # type: ignore[call-overload]
        if not args.skip_crash:
            core = run_dir / "vmcore"
            t_core, stats = timed(lambda: write_vmcore(lg.lk, core), 1)
            written = getattr(stats, "bytes_written", 0) >> 20
            rows.append(("write ELF core from RAM files", t_core, 0, f"{written} MiB not zero"))
            t, n = timed(lambda: crash_walk(lg, core), 1)
            rows.append(("crash kmem -F on the core", t, int(n), "once, includes crash start-up"))  # type: ignore[call-overload]
            core.unlink()
        if not args.skip_gdb:
            t, n = timed(lambda: gdb_walk(lg, heads, in_gdb=True), 1)
            rows.append(("gdb stub, gdb Python reads", t, int(n), "once"))  # type: ignore[call-overload]
            if not args.skip_gdb_mi:
                t, n = timed(lambda: gdb_walk(lg, heads, in_gdb=False), 1)
                rows.append(("gdb stub, one MI read per next", t, int(n), "once"))  # type: ignore[call-overload]
    base = rows[0][1]
    print(f"\nLinux {args.kver} {args.arch}, {args.mem}: free-list walk, every free block")
    print(f"{'route':<34} {'seconds':>9} {'blocks':>8} {'x scan':>8}  note")
    for name, t, n, note in rows:
        print(f"{name:<34} {t:>9.3f} {n:>8} {t / base:>8.1f}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
