"""A person at a stop: ``mm-inspector gdb`` hands the terminal to gdb-multiarch attached to a paused
guest at any function of the stop plan (or any symbol), with the ``mmi`` commands loaded
(inspector/debug/mmi_gdb.py); ``mm-inspector drgn`` opens drgn's interactive shell on a running
guest, set up as ``buddy`` sets it up. Quitting either stops the guest."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from inspector.capture.plan import check_plan, plan_for_kernel
from inspector.capture.readers import Reader
from inspector.capture.run import drain, facts_for, init_nodes
from inspector.capture.stops import Capture
from inspector.capture.summary import snapshot_lines
from inspector.debug.gdb import GDB, GdbError, ensure_index, index_cache_args
from inspector.debug.layout import Layout, layout_for
from inspector.errors import InspectorError
from inspector.kernel.build import Build
from inspector.resource import dies_with_parent
from inspector.schema import MIGRATETYPES, KernelId, Snapshot
from inspector.signals import HeldSignals
from inspector.vm.guest import BootRequest, prepare
from inspector.vm.machine import Machine

MMI_GDB = Path(__file__).with_name("mmi_gdb.py")


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C is gdb's, even under a runner


def _drain_while(machine: Machine, done: threading.Event) -> threading.Thread:
    """Keep reading the guest's console while someone else drives it: a serial port nobody
    reads stalls the guest."""
    console = machine.console
    assert console is not None

    def loop() -> None:
        while not done.wait(0.05):
            try:
                drain(console)
            except InspectorError:
                return  # a panic: gdb shows it; the console log keeps it

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    return t


def resolve_stop(req: BootRequest, stop: str) -> str:
    """The function to run to: a stop of the plan, or any function the vmlinux has."""
    build, _ = prepare(req, quiet=True)
    layout = layout_for(build.vmlinux, req.arch)
    plan = plan_for_kernel(req.version.name, layout.has_member)
    check_plan(plan, layout.has_function, build.vmlinux)
    if stop in {s.function for s in plan.stops}:
        return stop
    if layout.function_address(stop) is None and not layout.has_symbol(stop):
        raise InspectorError(
            f"{stop} is neither a stop of the plan nor a function in {build.vmlinux}: name one"
        )
    return stop


class RpcMemory:
    """What the capture asks of its gdb session, asked of the interactive gdb over the socket
    while it waits for an ``mmi`` command's answer (inspector/debug/mmi_gdb.py)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.rfile = sock.makefile("r")
        self.round_trips = 0
        self.bytes_read = 0

    def ask(self, msg: dict[str, Any]) -> dict[str, Any]:
        self.round_trips += 1
        self.sock.sendall((json.dumps(msg) + "\n").encode())
        line = self.rfile.readline()
        if not line:
            raise InspectorError("gdb went away")
        reply: dict[str, Any] = json.loads(line)
        if "fault" in reply:
            raise GdbError(f"cannot read guest memory: {reply['fault']}")
        return reply

    def read(self, address: int, size: int) -> bytes:
        self.bytes_read += size
        return bytes.fromhex(self.ask({"op": "read", "addr": address, "size": size})["data"])

    def registers(self, names: tuple[str, ...]) -> dict[str, int]:
        regs: dict[str, int] = self.ask({"op": "regs", "names": list(names)})["regs"]
        return regs

    def frame_arguments(self) -> dict[str, str]:
        args: dict[str, str] = self.ask({"op": "args"})["args"]
        return args


class MmiServer:
    """Answers the interactive gdb's ``mmi`` commands with the capture's readers and handlers
    (``Reader``, ``Capture``) reading guest memory through that gdb."""

    def __init__(
        self, req: BootRequest, build: Build, layout: Layout, sock: socket.socket, stop: str
    ):
        self.plan = plan_for_kernel(req.version.name, layout.has_member)
        self.layout = layout
        self.mem = RpcMemory(sock)
        self.reader = Reader(self.mem, layout, facts_for(build, layout))
        kernel = KernelId(req.version.name, build.release, req.arch.name)
        nodes = init_nodes(build.release)
        self.capture = Capture(self.reader, kernel, req.arch.arg_registers, nodes)
        self.stop = stop
        self.hits: Counter[str] = Counter()
        self.snap: Snapshot | None = None

    def where(self, function: str) -> str:
        addr = self.layout.function_address(function)
        return f"*{addr:#x}" if addr is not None else function

    def serve(self) -> None:
        """One request after another until gdb closes its end."""
        while line := self.mem.rfile.readline():
            req = json.loads(line)
            try:
                result: object = self.answer(req)
                self.mem.sock.sendall(
                    (json.dumps({"op": "done", "result": result}) + "\n").encode()
                )
            except (InspectorError, GdbError, LookupError, ValueError, SystemExit) as e:
                msg = {"op": "error", "message": f"mmi {req.get('cmd')}: {e}"}
                self.mem.sock.sendall((json.dumps(msg) + "\n").encode())

    def answer(self, req: dict[str, Any]) -> object:
        cmd, at = req.get("cmd"), req.get("at", "")
        names = [s.function for s in self.plan.stops]
        if cmd == "route":  # stop 1 first, with a hardware breakpoint (paging is not up yet)
            if self.stop not in names:
                return [(self.stop, self.where(self.stop), True)]
            route = [(names[0], self.where(names[0]), True)]
            return route + (
                [(self.stop, self.where(self.stop), False)] if self.stop != names[0] else []
            )
        if cmd == "plan":
            return [
                {
                    "function": s.function,
                    "where": self.where(s.function),
                    "on_return": bool(s.on_return),
                }
                for s in self.plan.stops
            ]
        if cmd == "capture":
            return self.capture_at(at, req.get("phase", "entry"))
        views = {
            "zones": self.zones,
            "freelists": self.freelists,
            "memblock": self.memblock,
            "zonelists": self.zonelists,
            "pageblocks": self.pageblocks,
        }
        if cmd not in views:
            raise InspectorError(f"unknown command {cmd}")
        return "".join(line + "\n" for line in views[cmd](req.get("args", []), at))

    def capture_at(self, at: str, phase: str) -> str:
        spec = next((s for s in self.plan.stops if s.function == at), None)
        if spec is None:
            return ""
        if self.layout.function_address(at) is not None:
            self.capture.at_entry.add(at)
        if phase == "entry":
            hit = self.hits[at]
            self.hits[at] += 1
            self.snap = spec.entry(self.capture, spec.name, hit, None) if spec.entry else None
        elif spec.on_return is not None:
            self.snap = spec.on_return(self.capture, spec.name, self.hits[at] - 1, None)
        return "".join(line + "\n" for line in snapshot_lines(self.snap)) if self.snap else ""

    def _snapshot(self, at: str, **kw: Any) -> Snapshot:
        return Snapshot(stop=at or "here", kernel=self.capture.kernel, **kw)

    def zones(self, argv: list[str], at: str) -> list[str]:
        nodes, _ = self.capture.nodes()
        return snapshot_lines(self._snapshot(at, nodes=nodes))

    def freelists(self, argv: list[str], at: str) -> list[str]:
        p = argparse.ArgumentParser(prog="mmi freelists", add_help=False, exit_on_error=False)
        p.add_argument("--node", type=int)
        p.add_argument("--zone")
        p.add_argument("--order", type=int)
        try:
            a = p.parse_args(argv)
        except argparse.ArgumentError as e:
            raise InspectorError(f"{e}: mmi freelists [--node N] [--zone Z] [--order O]") from None
        nodes, _ = self.capture.nodes(buddy=True)
        out = []
        for n in nodes:
            for z in n.zones:
                if (a.node is not None and n.node_id != a.node) or (a.zone and z.name != a.zone):
                    continue
                if not z.free_area:
                    continue
                out.append(f"node {n.node_id} {z.name}:")
                for fa in z.free_area:
                    if a.order is not None and fa.order != a.order:
                        continue
                    lists = " ".join(
                        f"{MIGRATETYPES[i] if i < len(MIGRATETYPES) else i}={c}"
                        for i, c in enumerate(fa.free_list or [])
                        if c
                    )
                    heads = [hex(b[0]) for b in fa.blocks or [] if b][:4]
                    out.append(
                        f"  order {fa.order:2d} nr_free {fa.nr_free:7d}  {lists}  heads {heads}"
                    )
        return out or ["no free lists yet (the buddy allocator is filled at the hand-off)"]

    def memblock(self, argv: list[str], at: str) -> list[str]:
        mb = self.reader.memblock()
        out = []
        for kind, regions in (("memory", mb.memory), ("reserved", mb.reserved)):
            out.append(
                f"memblock.{kind}: {len(regions)} regions, {sum(r.size for r in regions)} bytes"
            )
            out += [
                f"  [{r.base:#014x}-{r.base + r.size - 1:#014x}] {r.size:>12} nid {r.nid}"
                for r in regions
            ]
        return out

    def zonelists(self, argv: list[str], at: str) -> list[str]:
        _, pgdats = self.capture.nodes()
        return [
            f"node {zl.node} {zl.kind:10}: "
            + (" -> ".join(f"N{n} {z}" for n, z in zl.zones) or "(empty: not built yet)")
            for zl in self.reader.zonelists(pgdats)
        ]

    def pageblocks(self, argv: list[str], at: str) -> list[str]:
        nodes, _ = self.capture.nodes(pageblocks=True)
        out = []
        for n in nodes:
            for z in n.zones:
                counts = Counter(z.pageblock_migratetypes or [])
                text = ", ".join(
                    f"{MIGRATETYPES[k] if k < len(MIGRATETYPES) else k} {v}"
                    for k, v in sorted(counts.items())
                )
                out.append(f"node {n.node_id} {z.name:8}: {text or 'none'}")
        return out


def gdb_at_stop(req: BootRequest, stop: str, run_dir: Path, commands: list[str]) -> int:
    """Boot ``req`` paused, attach an interactive gdb that runs to ``stop``; the guest stops
    when gdb exits. ``commands``: gdb commands run once at the stop (then the prompt)."""
    if shutil.which(GDB) is None:
        raise InspectorError(
            f"{GDB} not found on PATH: run `mm-inspector deps` (Debian package gdb-multiarch)"
        )
    stop = resolve_stop(req, stop)
    build, spec = prepare(req, quiet=True)
    layout = layout_for(build.vmlinux, req.arch)
    ensure_index(build.vmlinux)
    ours, theirs = socket.socketpair()
    with contextlib.ExitStack() as stack:
        stack.callback(ours.close)
        stack.callback(theirs.close)
        machine = stack.enter_context(Machine(spec, run_dir))
        server = MmiServer(req, build, layout, ours, stop)
        env = {
            **os.environ,
            "MMI_RPC_FD": str(theirs.fileno()),
            "MMI_SOCKET": str(machine.paths.gdb_sock),
        }
        argv = [GDB, "-q", "-nx", *index_cache_args(), "-x", str(MMI_GDB)]
        for c in commands:
            argv += ["-ex", c]
        argv.append(str(build.vmlinux))
        done = threading.Event()
        stack.callback(done.set)
        _drain_while(machine, done)
        threading.Thread(target=server.serve, daemon=True).start()
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C interrupts the guest
        try:
            held = HeldSignals()  # released as soon as gdb runs (subprocess.run waits)
            proc = subprocess.Popen(
                dies_with_parent(argv),
                env=env,
                preexec_fn=held.child(_default_sigint),
                pass_fds=(theirs.fileno(),),
            )
            try:
                held.release()
                proc.wait()
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        finally:
            signal.signal(signal.SIGINT, old)
        return proc.returncode


DRGN_BANNER = """mm-inspector: drgn on the live guest ({release}, {arch}); prog is set up as
`buddy` sets it up (VMCOREINFO: {vmcoreinfo}). Also here: lk (the LiveKernel), pause() / resume()
(the guest), buddy() (the buddy dump, paused), state() (nodes, zones, free lists), check()
(the invariants). drgn's helpers are imported."""


def drgn_namespace(lg: object) -> dict[str, object]:
    """The names the shell offers besides drgn's own."""
    from inspector.live.buddy import dump, render
    from inspector.live.invariants import check
    from inspector.live.session import LiveGuest
    from inspector.live.state import read_state

    assert isinstance(lg, LiveGuest)

    def buddy() -> str:
        lg.pause()
        try:
            text = render(dump(lg.lk, blocks=False))
        finally:
            lg.resume()
        print(text)
        return ""

    return {
        "lk": lg.lk,
        "guest": lg.guest,
        "pause": lg.pause,
        "resume": lg.resume,
        "buddy": buddy,
        "state": lambda: read_state(lg.lk.prog, lg.lk.config),
        "check": lambda: check(lg.lk),
    }


def drgn_shell(req: BootRequest, expr: str | None = None) -> int:
    """Boot ``req`` with its RAM in memfds, open drgn on it as ``buddy`` does, and run drgn's
    interactive shell (``expr``: evaluate it in the same namespace, print, exit)."""
    import drgn.cli

    from inspector.live.session import live_guest

    with live_guest(req) as lg:
        extra = drgn_namespace(lg)
        lk = lg.lk
        banner = DRGN_BANNER.format(
            release=lk.vmlinux.release, arch=lk.arch, vmcoreinfo=lk.vmcoreinfo.source
        )

        def add(ns: dict[str, object]) -> dict[str, object]:
            return {**ns, **extra}

        if expr is not None:
            ns = add(_drgn_globals(lk.prog))
            print(repr(eval(expr, ns)))
            return 0
        drgn.cli.run_interactive(lk.prog, banner_func=lambda b: b + "\n" + banner, globals_func=add)
    return 0


def _drgn_globals(prog: object) -> dict[str, object]:
    """What drgn's shell puts in its namespace: prog and every helper."""
    import importlib
    import pkgutil

    import drgn
    import drgn.helpers.linux as linux

    ns: dict[str, object] = {"prog": prog, "drgn": drgn}
    ns.update({k: getattr(drgn, k) for k in drgn.__all__})
    for mod in pkgutil.iter_modules(linux.__path__):
        m = importlib.import_module(f"drgn.helpers.linux.{mod.name}")
        ns.update({k: getattr(m, k) for k in getattr(m, "__all__", [])})
    return ns
