"""Boot paused, attach gdb, walk the stop plan writing one JSON snapshot per stop, then let the
guest reach its shell and save its own view (/proc/zoneinfo, buddyinfo, pagetypeinfo, dmesg).

Everything a run starts (QEMU, gdb) is stopped through one exit stack, however the run ends.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import pexpect

from inspector.capture.buildinfo import write_build_record
from inspector.capture.facts import KernelFacts, kernel_facts
from inspector.capture.inspection import Inspection, StopRecord
from inspector.capture.plan import StopSpec, check_plan, plan_for_kernel
from inspector.capture.readers import Reader
from inspector.capture.stops import Capture
from inspector.capture.summary import summary_text
from inspector.debug.death import DEATH_FUNCTIONS, death_report, last_words
from inspector.debug.gdb import Breakpoint, GdbSession, Stop, StopTimeout
from inspector.debug.layout import Layout, layout_for
from inspector.debug.memory import RamMemory
from inspector.debug.returns import PAGE, ReturnSite, arm64_site, pages, x86_64_site
from inspector.errors import GuestPanic, InspectorError
from inspector.kernel.build import Build
from inspector.kernel_changes import landed
from inspector.live.ram import GuestRam, ram_map, ram_memfds
from inspector.paths import write_atomic
from inspector.registry import RETURN
from inspector.rundir import COMPLETE
from inspector.schema import KernelId, Snapshot
from inspector.vm.console import PANIC, Console, tail
from inspector.vm.guest import BootRequest, prepare
from inspector.vm.machine import Machine, new_run_dir
from inspector.vm.qemu import MachineSpec, backing_files

DEFAULT_STOP_TIMEOUT = 120.0
# a stop's timeout grows with the guest past this much RAM: under TCG the kernel's work between
# two stops (struct pages initialised, deferred or not, free lists filled) grows with memory, and
# a 256 GiB guest's deferred struct pages took more than 150 s on this 2-core host
STOP_TIMEOUT_PER_RAM = 64 << 30


def stop_timeout_for(base: float, mem: int) -> float:
    """``base`` seconds per stop, times the guest's RAM over 64 GiB when it has more."""
    return base * max(1.0, mem / STOP_TIMEOUT_PER_RAM)


# a fault in kernel mode, as die() reports it: "Internal error: Oops: 96000006" (arm64),
# "Oops: 0000 [#1]" after no_context()'s "BUG: unable to handle …" (x86)
OOPS = re.compile(r"\bOops: ")
GUEST_FILES = {
    "zoneinfo.txt": "cat /proc/zoneinfo",
    "buddyinfo.txt": "cat /proc/buddyinfo",
    "pagetypeinfo.txt": "cat /proc/pagetypeinfo",
    "dmesg.txt": "dmesg",
}


def drain(console: Console) -> None:
    """Read what the guest printed so far into the console's buffer (kept for later matches):
    a serial port that nobody reads stalls the guest once the socket buffer fills."""
    with contextlib.suppress(pexpect.ExceptionPexpect, OSError):
        console.child.expect([pexpect.TIMEOUT, pexpect.EOF], timeout=0)
    buffer: bytes = console.child.buffer  # type: ignore[assignment]  # bytes: no encoding
    if m := PANIC.search(buffer[-4096:]):
        msg = m.group(0).decode(errors="replace").strip()
        raise GuestPanic(f"guest panic before the last stop: {msg}", detail=tail(console.log_path))


class Walker:
    """Arms the plan's breakpoints, continues from stop to stop, runs the handlers."""

    def __init__(
        self,
        gdb: GdbSession,
        machine: Machine,
        capture: Capture | None,
        stops: tuple[StopSpec, ...],
        out: Inspection,
        timeout: float,
        layout: Layout,
        memory: RamMemory | None = None,
    ) -> None:
        """``capture`` None: stop at every breakpoint but capture nothing (a bare walk)."""
        self.gdb = gdb
        self.machine = machine
        self.capture = capture
        self.stops = stops
        self.out = out
        self.timeout = timeout
        self.hits: Counter[str] = Counter()
        self.layout = layout
        self.armed: dict[int, Breakpoint] = {}  # gdb's number → where it is
        self.memory = memory
        self.deaths: dict[int, str] = {}  # gdb's number → the death path it sits on
        self.progress = False  # say each stop on stderr as it is captured

    def _elapsed(self) -> float:
        return time.monotonic() - self.machine.started_at

    def _wait(self, what: str, *, finish: bool = False) -> Stop:
        if self.memory is not None:
            self.memory.stopped()
        try:
            stop = (
                self.gdb.finish(self.timeout, what) if finish else self.gdb.cont(self.timeout, what)
            )
        except StopTimeout:
            raise InspectorError(
                f"{what} not reached after {self._elapsed():.1f} s "
                f"(stop timeout {self.timeout:g} s): see the kernel's log above",
                detail=self._last_words(),
            ) from None
        if stop.bkptno in self.deaths:
            raise GuestPanic(
                self._death(self.deaths[stop.bkptno]) + f" at {self._elapsed():.1f} s",
                detail=self._last_words(),
            )
        return stop

    def _arm_deaths(self) -> None:
        """Hardware breakpoints on the kernel's death paths, from reset on (death.py)."""
        for function in DEATH_FUNCTIONS:
            if (addr := self.layout.function_address(function)) is not None:
                self.deaths[self.gdb.breakpoint(f"*{addr:#x}", hardware=True).number] = function

    def _read(self, address: int, size: int) -> bytes:
        """Guest memory: from the RAM file where the run has one, else through the stub."""
        return (self.memory or self.gdb).read(address, size)

    def _death(self, function: str) -> str:
        return death_report(self.gdb, self._read, self.layout, function)

    def _last_words(self) -> str:
        return last_words(self.machine.console_tail(), self._read, self.layout)

    def _record(self, snap: Snapshot | None, name: str, t0: float, rt0: int, b0: int) -> None:
        if snap is None:
            return
        i = len(self.out.records)
        path = self.out.run_dir / f"{i:02d}-{name}.json"
        snap.stop = name
        if self.capture is None or not self.capture.unsettled(snap):
            snap.write(path)  # else written once settled (see _settle)
        self.out.snapshots.append(snap)
        now = self._elapsed()
        self.out.records.append(
            StopRecord(
                i, name, path, now, now - t0, self.gdb.round_trips - rt0, self.gdb.bytes_read - b0
            )
        )
        if self.progress:  # a terminal: one line, rewritten at each stop (a server's take a minute)
            print(
                f"\r  {now:6.1f} s  stop {i + 1}: {name:<40}", end="", file=sys.stderr, flush=True
            )

    def walk(self) -> None:
        first = self.stops[0]
        # Only the first stop is armed at reset, as a hardware breakpoint (before paging is on a
        # software one at a kernel virtual address may not hold); the rest once it is reached.
        bps = {self._arm(first, hardware=True): first}
        self._arm_deaths()
        pending = {s.name for s in self.stops if not s.repeat}
        while pending:
            what = "stop " + min(pending, key=self._order)
            stop = self._wait(what)
            spec = bps.get(stop.bkptno or -1)
            if spec is None:
                raise InspectorError(
                    f"unexpected stop ({stop.reason or 'no reason'} at {stop.pc:#x} "
                    f"{stop.func}) while waiting for {what}",
                    detail=self.machine.console_tail(),
                )
            hit = self.hits[spec.name]
            self.hits[spec.name] += 1
            if spec is first and hit == 0:
                self._delete(stop.bkptno or 0)
                bps = {self._arm(s): s for s in self.stops[1:]}
            if not spec.repeat:
                # deleted before the capture: a finish must not meet this breakpoint again
                pending.discard(spec.name)
                num = next((n for n, s in bps.items() if s is spec and n > 0), None)
                if num is not None:
                    self._delete(num)
                    del bps[num]
            self._settle()
            self._run(spec, hit)
        self._settle()

    def _settle(self) -> None:
        """Let the capture complete earlier snapshots now that the guest has moved on
        (Capture.settle) and write their files, once; the reads are charged to the first one."""
        if self.capture is None:
            return
        rt0, b0 = self.gdb.round_trips, self.gdb.bytes_read
        for k, snap in enumerate(self.capture.settle()):
            rec = self.out.records[next(i for i, s in enumerate(self.out.snapshots) if s is snap)]
            snap.write(rec.path)
            if k == 0:
                rec.round_trips += self.gdb.round_trips - rt0
                rec.bytes_read += self.gdb.bytes_read - b0

    def _finish(self, spec: StopSpec) -> Stop:
        """Run until ``spec.function`` has returned to its caller: at its first instruction, a
        temporary breakpoint on its return address on any vCPU, taken only with the stack
        pointer the return leaves (gdb's own finish is bound to the vCPU that entered: a task
        that sleeps inside, as 6.12's init_per_zone_wmark_min() can on khugepaged_mutex, may
        return on another vCPU, and finish then ends at a later return into the same caller
        frame — do_one_initcall()'s, after further initcalls ran). Elsewhere gdb's finish: at a
        function's first instruction gdb may see an inlined callee's frame (4.7 x86_64:
        set_zonelist_order in build_all_zonelists), so finish again."""
        target = self._entry_return(spec)
        if target is not None:
            return self._break_return(spec, *target)
        for _ in range(4):
            done = self._wait(f"the return of {spec.name}", finish=True)
            if done.reason == "breakpoint-hit" and done.func == spec.function:
                # gdb steps off the breakpoint it stands on before it finishes; when that step
                # does not leave it (an interrupt taken under TCG, seen once on 6.12 x86_64),
                # the same breakpoint is reported again: the function is still running, finish
                # again (none of the stop functions recurses)
                continue
            if done.reason not in ("function-finished", "end-stepping-range", ""):
                raise InspectorError(
                    f"finish from {spec.name} stopped for {done.reason} at {done.func}",
                    detail=self.machine.console_tail(),
                )
            if done.func != spec.function:
                return done
        raise InspectorError(f"could not finish {spec.name}: still in it after 4 finishes")

    def _entry_return(self, spec: StopSpec) -> tuple[int, int] | None:
        """At ``spec.function``'s first instruction: where it returns to, and the stack pointer
        its return leaves (x86_64: one slot above the entry one, past the return address
        ``ret`` pops; arm64: the entry one, the return address in x30). None elsewhere."""
        frame = self._entry_frame(spec)
        if frame is None:
            return None
        _, sp, ret = frame
        return ret, sp + 8 if self.gdb.arch.link_register is None else sp

    def _break_return(self, spec: StopSpec, address: int, sp: int) -> Stop:
        """``spec.function``'s return caught at ``address`` on whichever vCPU runs it: a
        temporary breakpoint taken only with the stack pointer that return leaves."""
        self.gdb.breakpoint(f"*{address:#x}", temporary=True, condition=f"$sp == {sp:#x}")
        done = self._wait(f"the return of {spec.name}")
        if done.pc != address:
            raise InspectorError(
                f"waiting for the return of {spec.name} to {address:#x}, the guest stopped "
                f"for {done.reason or 'no reason'} at {done.pc:#x} {done.func}",
                detail=self.machine.console_tail(),
            )
        if self.layout.returns_value(spec.function):
            # what finish reports as return-value: the return register (rax, x0)
            reg = self.gdb.arch.return_register
            value = self.gdb.registers((reg,))[reg]
            done = dataclasses.replace(done, return_value=str(value))
        return done

    def _leave(self, spec: StopSpec) -> Stop:
        """Run until ``spec.function`` has returned. A hot function (StopSpec.hot) runs with no
        breakpoint on its pages: those are disabled until it returns, and its return is caught
        by gdb's finish when the caller lies on other pages, else by a read watchpoint on the
        stack slot its epilogue loads the return address from (inspector.debug.returns)."""
        site = self._return_site(spec) if spec.hot else None
        if site is None:
            self._count("finish")
            return self._finish(spec)
        lo = self.layout.function_address(spec.function) or 0
        hot = set(pages(lo, lo + self.layout.symbol_size(spec.function)))
        off = [n for n, b in self.armed.items() if any(a // PAGE in hot for a in b.addresses)]
        self.gdb.enable(off, False)
        if site.address // PAGE not in hot:
            self._count("finish off its pages")
            done = self._finish(spec)
        else:
            self._count("read watchpoint")
            done = self._watch_return(spec, site)
        self.gdb.enable(off)
        return done

    def _entry_frame(self, spec: StopSpec) -> tuple[int, int, int] | None:
        """(pc, stack pointer, return address) when the guest stands at ``spec.function``'s
        first instruction: the return address is where x86_64's call pushed it (read from the
        RAM file when there is one), arm64's x30. None elsewhere."""
        entry = None if spec.inlined else self.layout.function_address(spec.function)
        if entry is None:
            return None
        arch = self.gdb.arch
        names = (arch.program_counter, arch.stack_pointer)
        regs = self.gdb.registers(names + ((arch.link_register,) if arch.link_register else ()))
        pc, sp = regs[arch.program_counter], regs[arch.stack_pointer]
        if pc != entry:
            return None
        if arch.link_register is None:
            return pc, sp, int.from_bytes((self.memory or self.gdb).read(sp, 8), "little")
        return pc, sp, regs[arch.link_register]

    def _return_site(self, spec: StopSpec) -> ReturnSite | None:
        """Where the function stopped at its first instruction returns to, and the slot it
        reads that from (None: stopped elsewhere, or a prologue not recognised)."""
        frame = self._entry_frame(spec)
        if frame is None:
            return None
        pc, sp, ret = frame
        if self.gdb.arch.link_register is None:
            return x86_64_site(sp, ret)
        return arm64_site(sp, ret, self.layout.file_bytes(pc, 32))

    def _watch_return(self, spec: StopSpec, site: ReturnSite) -> Stop:
        what = f"the return of {spec.name}"
        wp = self.gdb.watch_read(site.slot)
        done = self._wait(what)
        if done.watchpoint != wp:
            raise InspectorError(
                f"waiting for {what} (a read of its return address at {site.slot:#x}), the "
                f"guest stopped for {done.reason or 'no reason'} at {done.pc:#x} {done.func}",
                detail=self.machine.console_tail(),
            )
        self.gdb.delete(wp)
        if done.pc != site.address:  # arm64: the epilogue loaded x30; ret is a few insns on
            self.gdb.breakpoint(f"*{site.address:#x}", hardware=True, temporary=True)
            done = self._wait(what)
            if done.pc != site.address:
                raise InspectorError(
                    f"{spec.name} did not return to {site.address:#x}: stopped at {done.pc:#x} "
                    f"{done.func} ({done.reason})",
                    detail=self.machine.console_tail(),
                )
        return done

    def _count(self, route: str) -> None:
        self.out.returns[route] = self.out.returns.get(route, 0) + 1

    def _delete(self, number: int) -> None:
        self.gdb.delete(number)
        self.armed.pop(number, None)

    def _arm(self, spec: StopSpec, hardware: bool = False) -> int:
        """Break at the function's first instruction (arguments still in their ABI registers),
        or where gdb's linespec puts it when it has no out-of-line copy (inlined)."""
        addr = None if spec.inlined else self.layout.function_address(spec.function)
        if addr is None:
            bp = self.gdb.breakpoint(spec.function, hardware=hardware)
        else:
            if self.capture is not None:
                self.capture.at_entry.add(spec.function)
            bp = self.gdb.breakpoint(f"*{addr:#x}", hardware=hardware)
        self.armed[bp.number] = bp
        return bp.number

    def _order(self, name: str) -> int:
        return [s.name for s in self.stops].index(name)

    def _run(self, spec: StopSpec, hit: int) -> None:
        t0, rt0, b0 = self._elapsed(), self.gdb.round_trips, self.gdb.bytes_read
        entry_snap = None
        if spec.entry and self.capture is not None:
            entry_snap = spec.entry(self.capture, spec.name, hit, None)
            self._record(entry_snap, spec.name, t0, rt0, b0)
        if spec.on_return:
            done = self._leave(spec)  # a bare walk too: the same stops, the same way out
            if self.capture is None:
                return
            t0, rt0, b0 = self._elapsed(), self.gdb.round_trips, self.gdb.bytes_read
            name = spec.name + RETURN if entry_snap is not None else spec.name
            snap = spec.on_return(self.capture, name, hit, done)
            self._record(snap, name, t0, rt0, b0)


@dataclass
class Session:
    """A guest paused at reset with gdb attached (see ``paused_session``)."""

    build: Build
    machine: Machine
    gdb: GdbSession
    layout: Layout
    facts: KernelFacts
    memory: RamMemory | None = None  # guest RAM read from its file at stops (None: via gdb)

    def reader(self) -> Reader:
        return Reader(self.memory or self.gdb, self.layout, self.facts)

    def elapsed(self) -> float:
        return time.monotonic() - self.machine.started_at


FACTS_FILE = "mm-inspector-facts.json"


def init_nodes(release: str) -> str:
    """The node mask free_area_init(_nodes) walks: every possible node since change
    "possible-nodes" (offline ones get a pg_data_t), the online ones before."""
    return "N_POSSIBLE" if "possible-nodes" in landed(release) else "N_ONLINE"


def facts_for(build: Build, layout: Layout) -> KernelFacts:
    """The build's facts record: read from its .config and DWARF once, then kept in the build
    directory beside the stamp (valid while the vmlinux is the same file)."""
    path = build.dir / FACTS_FILE
    stamp = build.vmlinux.stat().st_mtime_ns
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        data = json.loads(path.read_text())
        if data["vmlinux_mtime_ns"] == stamp and data["facts"]["version"] == build.release:
            return KernelFacts(**data["facts"])
    facts = kernel_facts(
        build.release,  # the tree's own release decides (inspector.kernel_changes)
        build.arch.name,
        build.config,
        nr_orders=int(layout.type("struct zone").member("free_area").type.length),
        nr_pageblock_bits=layout.enumerators("enum pageblock_bits")["NR_PAGEBLOCK_BITS"],
    )
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with contextlib.suppress(OSError):  # a read-only cache still works, uncached
        tmp.write_text(json.dumps({"vmlinux_mtime_ns": stamp, "facts": asdict(facts)}))
        tmp.replace(path)
    return facts


def _start_both(
    stack: contextlib.ExitStack[bool | None], spec: MachineSpec, run_dir: Path, gdb: GdbSession
) -> tuple[Machine, GdbSession]:
    """Start gdb (it loads the vmlinux) and QEMU (paused) at the same time: each takes about a
    tenth of a second. gdb is closed before QEMU when the stack unwinds, as it always was.
    (gdb is spawned from this thread: a parent-death signal follows the spawning thread.)"""
    gdb.spawn()
    try:
        machine = stack.enter_context(Machine(spec, run_dir))
    except BaseException:
        gdb.close()
        raise
    stack.enter_context(gdb)
    return machine, gdb


@contextlib.contextmanager
def paused_session(
    req: BootRequest, run_dir: Path, *, quiet: bool = False, ram: bool = True
) -> Iterator[Session]:
    """Build (cached), start QEMU paused at reset and attach gdb; both stop when the block
    ends, however it ends. ``ram``: the guest's RAM in memfds this process maps, so that stops
    read memory from it (``Session.memory``) rather than through the stub."""
    with contextlib.ExitStack() as stack:
        if ram and req.ram_file is None and not req.ram_fds:
            fds = ram_memfds(req.topology, run_dir.name)
            for fd in fds:
                stack.callback(os.close, fd)
            req = dataclasses.replace(req, ram_fds=tuple(fds))
        build, spec = prepare(dataclasses.replace(req, paused=True), quiet=quiet)
        layout = layout_for(build.vmlinux, req.arch)
        facts = facts_for(build, layout)
        machine, gdb = _start_both(stack, spec, run_dir, GdbSession(build.vmlinux, req.arch))
        console = machine.console
        assert console is not None
        gdb.idle = lambda: drain(console)
        gdb.idle_fd = console.sock.fileno()
        memory = None
        if ram and (files := backing_files(req.ram_file, req.ram_fds, req.topology)):
            pieces = ram_map(req.arch, req.machine, req.topology, files)
            memory = RamMemory(gdb, stack.enter_context(GuestRam(pieces)))
        gdb.connect(machine.paths.gdb_sock)
        machine.forget_socket(machine.paths.gdb_sock)
        yield Session(build, machine, gdb, layout, facts, memory)


def save_guest_file(
    out: Inspection, name: str, command: str, rc: int, text: str, console_log: str = ""
) -> None:
    """Write what ``command`` printed to ``name``. A command the kernel killed with an oops is
    a finding, not a capture failure (4.7 with ZONE_MOVABLE carved out: pagetypeinfo_show()
    walks the never-initialised free lists of ZONE_NORMAL, whose present_pages wrapped): its
    output, oops included, is kept and the failure noted. The oops may reach the console while
    the shell still echoes the command, before the output's start marker, so the console log
    since the command was typed is searched too. Any other failure is an error."""
    if rc != 0 and not (rc > 128 and (OOPS.search(text) or OOPS.search(console_log))):
        raise InspectorError(f"guest command {command!r} exited {rc}", detail=text[-2000:])
    path = out.run_dir / name
    write_atomic(path, text)
    out.guest_files[name] = path
    if rc != 0:
        out.guest_failures[name] = f"{command!r} exited {rc} after a kernel oops"


def inspect(
    req: BootRequest,
    run_dir: Path | None = None,
    *,
    stop_timeout: float = DEFAULT_STOP_TIMEOUT,
    quiet: bool = False,
    capture: bool = True,
) -> Inspection:
    """Boot ``req`` paused, capture every stop, reach the shell, save the guest's files.

    ``capture=False`` only walks the stops, entries and returns (no reads, no shell): a
    baseline."""
    run_dir = run_dir or new_run_dir(f"inspect-{req.label()}")
    with paused_session(req, run_dir, quiet=quiet) as ses:
        plan = plan_for_kernel(req.version.name, ses.layout.has_member)
        check_plan(plan, ses.layout.has_function, ses.build.vmlinux)
        out = Inspection(run_dir, ses.build)
        write_build_record(run_dir, ses.build, ses.layout, ses.facts)
        gdb, machine = ses.gdb, ses.machine
        kernel = KernelId(req.version.name, ses.build.release, req.arch.name)
        cap = (
            Capture(ses.reader(), kernel, req.arch.arg_registers, init_nodes(ses.build.release))
            if capture
            else None
        )
        timeout = stop_timeout_for(stop_timeout, req.topology.mem)
        walker = Walker(gdb, machine, cap, plan.stops, out, timeout, ses.layout, ses.memory)
        walker.progress = not quiet and sys.stderr.isatty()
        try:
            walker.walk()
        finally:
            if walker.progress:
                print(file=sys.stderr)
        out.last_stop_seconds = ses.elapsed()
        if ses.memory is not None:
            out.ram_bytes, out.stub_bytes = ses.memory.file_bytes, ses.memory.stub_bytes
        else:
            out.stub_bytes = gdb.bytes_read
        if cap is None:
            return out
        gdb.detach()
        gdb.close()
        console = machine.console
        assert console is not None
        console.wait_for_shell(req.timeout)
        out.shell_seconds = ses.elapsed()
        out.shell_monotonic = time.monotonic()
        log = machine.paths.console_log
        for name, command in GUEST_FILES.items():
            before = log.stat().st_size if log.exists() else 0
            rc, text = console.run(command, 60)
            since = log.read_bytes()[before:].decode(errors="replace") if log.exists() else ""
            save_guest_file(out, name, command, rc, text, since)
        write_atomic(
            run_dir / "summary.txt", summary_text(out, cap.banner, gdb.round_trips, gdb.bytes_read)
        )
        write_atomic(run_dir / COMPLETE, json.dumps({"stops": len(out.records)}) + "\n")
    return out
