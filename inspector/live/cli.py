"""``mm-inspector buddy`` and ``mm-inspector vmcore``: boot a guest with its RAM in host files,
attach drgn, and dump / check / write a core. Their parsers live in
``inspector.live.parsers``, so that drgn and numpy are imported only when one of them runs."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import drgn

from inspector.cli_args import boot_request
from inspector.errors import InspectorError, Terminated
from inspector.live.buddy import dump, render
from inspector.live.direct import live_page_cache
from inspector.live.invariants import CHECKS, check_state
from inspector.live.select import Filter, find, select
from inspector.live.session import LiveGuest, live_guest
from inspector.live.state import kernel_consts, read_state
from inspector.live.vmcore import write_vmcore


def _prepare(lg: LiveGuest, run: str | None, timeout: float) -> None:
    if run:
        rc, out = lg.guest.run_rc(run, timeout=timeout)
        sys.stderr.write(out)
        if rc != 0:
            raise InspectorError(f"guest command {run!r} exited {rc}: fix the --run command")


def _one(lg: LiveGuest, args: argparse.Namespace) -> int:
    lg.pause()
    try:
        # one read for the dump and the checks; --scan: the lists from a memmap scan
        cache = live_page_cache(lg.lk, kernel_consts(lg.lk.prog, lg.lk.config))
        state = read_state(lg.lk.prog, lg.lk.config, cache, scan=args.scan)
        d = dump(lg.lk, blocks=args.blocks, state=state)
        violations = check_state(lg.lk, *state, cache) if args.check else []
    except (drgn.FaultError, LookupError, ValueError) as e:
        raise InspectorError(
            f"reading the buddy state failed ({str(e).splitlines()[0]}): the guest's memory does "
            "not match this kernel's structures; check that the vmlinux is the booted one"
        ) from None
    finally:
        lg.resume()
    if args.find:
        full = d if d.blocks is not None else dump(lg.lk, blocks=True, state=state)
        print(find(full, _pfn_of(lg, args.find, state[0].page_size), args.find))
        return 0
    d = select(d, _filter(args))
    if args.json:
        text = d.to_json(indent=None if args.watch else 1)  # --watch: one line per dump
        if args.json == "-":
            sys.stdout.write(text)
        else:
            Path(args.json).write_text(text)
            print(f"wrote {args.json}", file=sys.stderr)
    else:
        sys.stdout.write(render(d))
    if args.check:
        for v in violations:
            print(f"invariant {v}", file=sys.stderr)
        word = "hold" if not violations else f"fail ({len(violations)} violations)"
        print(f"invariants: {len(CHECKS)} checks {word}", file=sys.stderr)
    sys.stdout.flush()
    return 1 if violations else 0


def _filter(args: argparse.Namespace) -> Filter:
    return Filter(args.node, args.zone, args.order, args.mtype, args.cpu, args.pcp_only)


def _pfn_of(lg: LiveGuest, spec: str, page_size: int) -> int:
    """``--find``: ``pfn:N``, ``va:ADDR`` (direct map), ``page:ADDR`` (a struct page) or a
    physical address (``phys:ADDR`` or a bare number)."""
    from drgn.helpers.linux.mm import page_to_pfn, virt_to_pfn

    kind, _, value = spec.rpartition(":")
    kind = kind or "phys"
    try:
        number = int(value, 0)
    except ValueError:
        raise InspectorError(
            f"--find {spec!r}: give pfn:N, va:ADDR, page:ADDR or a physical address"
        ) from None
    prog = lg.lk.prog
    if kind == "pfn":
        return number
    if kind == "phys":
        return number // page_size
    if kind in ("va", "virt"):
        return int(virt_to_pfn(prog, number).value_())
    if kind == "page":
        return int(page_to_pfn(drgn.Object(prog, "struct page *", value=number)).value_())
    raise InspectorError(f"--find {spec!r}: the kind is one of pfn, phys, va, page")


def cmd_buddy(args: argparse.Namespace) -> int:

    req = boot_request(args)
    with live_guest(req, derive_vmcoreinfo=args.derive_vmcoreinfo) as lg:
        _prepare(lg, args.run, args.timeout)
        if not args.watch:
            return _one(lg, args)
        rc = 0
        try:
            while True:
                rc |= _one(lg, args)
                time.sleep(args.watch)
        except KeyboardInterrupt as e:
            if isinstance(e, Terminated):
                raise  # SIGTERM/SIGHUP: interrupted, not the end of watching
            return rc  # Ctrl-C ends watching


def cmd_vmcore(args: argparse.Namespace) -> int:

    req = boot_request(args)
    out = Path(args.output)
    with live_guest(req, derive_vmcoreinfo=args.derive_vmcoreinfo) as lg:
        _prepare(lg, args.run, args.timeout)
        lg.pause()
        stats = write_vmcore(lg.lk, out)
        vmlinux = lg.guest.kernel.vmlinux
    print(
        f"wrote {out}: {stats.bytes_of_ram >> 20} MiB of guest RAM ({stats.bytes_written >> 20} "
        f"MiB not zero) in {stats.seconds:.2f} s; VMCOREINFO {lg.lk.vmcoreinfo.source}.\n"
        f"open it with: crash {vmlinux} {out}   or   drgn -c {out} -s {vmlinux}",
        file=sys.stderr,
    )
    return 0
