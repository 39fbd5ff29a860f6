"""A gdb/MI session (pygdbmi, gdb-multiarch) on QEMU's gdbstub over a unix socket.

``with GdbSession(vmlinux, arch) as gdb:`` starts gdb; leaving the block kills it, however the
block ends. Every MI command is one round trip, counted in ``round_trips``; read memory in bulk
with ``read()`` rather than one expression per field.
"""

from __future__ import annotations

import contextlib
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pygdbmi.gdbcontroller import GdbController

from inspector.arch import Arch
from inspector.errors import InspectorError
from inspector.kernel.elf import build_id
from inspector.paths import cache_dir
from inspector.resource import Resource, dies_with_parent

GDB = "gdb-multiarch"
# gdb's reads through QEMU's stub are split into packets anyway; this bounds one MI reply.
READ_CHUNK = 1 << 20
# reads at least this large go through `dump binary memory` and a file
DUMP_MIN = 64 << 10


def index_cache_args() -> list[str]:
    """gdb's index cache, in mm-inspector's cache: a vmlinux's symbol index is built once per
    build-id and reused, so gdb loads a 60-90 MB vmlinux in a fifth of the time."""
    where = cache_dir() / "gdb-index"
    return ["-iex", f"set index-cache directory {where}", "-iex", "set index-cache enabled on"]


def ensure_index(vmlinux: Path) -> float:
    """Build the index of ``vmlinux`` into the cache when it is not there (a batch gdb that exits
    normally: a killed gdb never writes it). Returns the seconds spent (0 when cached)."""
    bid = build_id(vmlinux)
    where = cache_dir() / "gdb-index"
    if bid is None or (where / f"{bid}.gdb-index").exists() or shutil.which(GDB) is None:
        return 0.0
    where.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    subprocess.run(
        dies_with_parent([GDB, "--nx", "--batch", *index_cache_args(), str(vmlinux)]),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )
    return time.monotonic() - start


class GdbError(InspectorError):
    """gdb refused a command, or the target went away."""


class StopTimeout(InspectorError):
    """The guest did not stop within the time given (it was interrupted, and is stopped now)."""


@dataclass(frozen=True)
class Stop:
    """Where and why the guest stopped (an MI ``*stopped`` record)."""

    reason: str  # "breakpoint-hit", "function-finished", "signal-received", …
    bkptno: int | None
    pc: int
    func: str
    thread: int | None
    return_value: str | None = None  # after -exec-finish, when gdb knows it
    watchpoint: int | None = None  # the watchpoint that triggered (reason "*-watchpoint-trigger")


@dataclass(frozen=True)
class Breakpoint:
    number: int
    location: str
    addresses: tuple[int, ...]
    hardware: bool


def _int(text: str | None) -> int:
    return int(text, 0) if text else 0


def _watchpoint(payload: dict[str, Any]) -> int | None:
    for key in ("hw-rwpt", "hw-awpt", "wpt"):
        if isinstance(w := payload.get(key), dict) and w.get("number"):
            return int(w["number"])
    return None


class GdbSession(Resource):
    """One gdb process; commands are written with a token and their result record awaited."""

    def __init__(self, vmlinux: Path, arch: Arch, *, timeout: float = 30.0) -> None:
        self.vmlinux = vmlinux
        self.arch = arch
        self.timeout = timeout
        self.round_trips = 0
        self.bytes_read = 0
        self._token = 0
        self._ctl: GdbController | None = None
        self._pending: list[dict[str, Any]] = []
        self._stops: list[dict[str, Any]] = []  # *stopped records not yet handed out
        # Called while the guest runs whenever idle_fd is readable, e.g. to drain the guest's
        # console: a serial port nobody reads stalls the guest once the socket buffer is full.
        self.idle: Callable[[], None] | None = None
        self.idle_fd: int | None = None
        self._register_numbers: dict[str, int] | None = None
        self._tmp: Path | None = None  # where `dump binary memory` writes

    # -- lifecycle -------------------------------------------------------------------------
    def spawn(self) -> None:
        """Start gdb on the vmlinux without waiting for it: it loads the symbols meanwhile
        (``__enter__`` then waits; started alone, ``__enter__`` spawns it first)."""
        exe = shutil.which(GDB)
        if exe is None:
            raise InspectorError(
                f"{GDB} not found on PATH: run `mm-inspector deps` (Debian package gdb-multiarch)"
            )
        ensure_index(self.vmlinux)  # once per build: later sessions load in a fifth
        argv = [exe, "--nx", "--quiet", *index_cache_args(), "--interpreter=mi3"]
        argv.append(str(self.vmlinux))
        self._ctl = GdbController(
            dies_with_parent(argv), time_to_check_for_additional_output_sec=0.0001
        )

    def __enter__(self) -> GdbSession:
        if self._ctl is None:
            self.spawn()
        try:
            for setting in (
                "set pagination off",
                "set confirm off",
                "set print pretty off",
                f"set architecture {self.arch.gdb_arch}",
            ):
                self.console(setting)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Kill gdb (it is never asked nicely: a stuck remote must not keep us waiting)."""
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        ctl, self._ctl = self._ctl, None
        if ctl is None or ctl.gdb_process is None:
            return
        proc = ctl.gdb_process
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(Exception):
            proc.wait(5)
        for f in (proc.stdin, proc.stdout, proc.stderr):
            if f is not None:
                with contextlib.suppress(Exception):
                    f.close()
        ctl.gdb_process = None

    # -- MI plumbing -----------------------------------------------------------------------
    def _read(self, timeout: float) -> list[dict[str, Any]]:
        assert self._ctl is not None
        if self._ctl.gdb_process is None or self._ctl.gdb_process.poll() is not None:
            raise GdbError("gdb exited unexpectedly")
        return self._ctl.get_gdb_response(timeout_sec=timeout, raise_error_on_timeout=False)

    def _next(self, deadline: float, running: bool = False) -> dict[str, Any] | None:
        """The next MI record, or None once ``deadline`` passes. While the guest runs
        (``running``), ``idle_fd`` is watched too and ``idle()`` called when it is readable."""
        while not self._pending:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if running and self.idle is not None and self.idle_fd is not None:
                assert self._ctl is not None and self._ctl.gdb_process is not None
                gdb_out = self._ctl.gdb_process.stdout
                assert gdb_out is not None
                ready, _, _ = select.select([gdb_out.fileno(), self.idle_fd], [], [], min(left, 1))
                if self.idle_fd in ready:
                    self.idle()
                if gdb_out.fileno() in ready:
                    self._pending += self._read(0)
                continue
            self._pending += self._read(min(left, 1.0))
        return self._pending.pop(0)

    def _command(self, line: str, what: str, timeout: float | None) -> tuple[dict[str, Any], str]:
        """Write one MI line with a fresh token; (result payload, console output) once its
        result record arrives; GdbError on ^error or when gdb stays silent."""
        if self._ctl is None:
            raise GdbError("gdb is not running")
        self._token += 1
        token = self._token
        self.round_trips += 1
        self._ctl.write(f"{token}{line}", read_response=False)
        deadline = time.monotonic() + (timeout or self.timeout)
        out: list[str] = []
        while True:
            rec = self._next(deadline)
            if rec is None:
                raise GdbError(f"gdb did not answer {what!r} within {timeout or self.timeout} s")
            kind = rec.get("type")
            if kind == "console" and isinstance(rec.get("payload"), str):
                out.append(rec["payload"])
            elif kind == "result" and rec.get("token") == token:
                if rec.get("message") == "error":
                    raise GdbError(f"gdb: {what}: {(rec.get('payload') or {}).get('msg', '')}")
                return rec.get("payload") or {}, "".join(out)
            elif kind == "notify" and rec.get("message") == "stopped":
                self._stops.append(rec.get("payload") or {})  # a stop racing a command

    def mi(self, command: str, timeout: float | None = None) -> dict[str, Any]:
        """Run an MI command; return its result record's payload."""
        return self._command(command, command, timeout)[0]

    def console(self, command: str, timeout: float | None = None) -> str:
        """Run a CLI command; return what it printed."""
        quoted = command.replace("\\", "\\\\").replace('"', '\\"')
        return self._command(f'-interpreter-exec console "{quoted}"', command, timeout)[1]

    # -- target ----------------------------------------------------------------------------
    def connect(self, sock: Path) -> None:
        """``target remote PATH`` (gdb 13 takes a socket path as is; not ``unix:PATH``)."""
        self._stops = []
        self.mi(f"-target-select remote {sock}", timeout=self.timeout)
        # gdb reports where the target is stopped now; that is not a stop we asked for.
        deadline = time.monotonic() + 2.0
        while not self._stops and (rec := self._next(deadline)) is not None:
            if rec.get("type") == "notify" and rec.get("message") == "stopped":
                self._stops.append(rec.get("payload") or {})
        self._stops.clear()

    def detach(self) -> None:
        """Let the guest run on without us."""
        with contextlib.suppress(GdbError):
            self.mi("-target-detach", timeout=10)

    def breakpoint(
        self,
        location: str,
        *,
        hardware: bool = False,
        temporary: bool = False,
        condition: str | None = None,
    ) -> Breakpoint:
        flags = ("-h " if hardware else "") + ("-t " if temporary else "")
        if condition:
            flags += f'-c "{condition}" '
        payload = self.mi(f"-break-insert {flags}{location}")
        bkpt = payload.get("bkpt") or {}
        addrs: list[int] = []
        if bkpt.get("addr", "").startswith("0x"):
            addrs.append(_int(bkpt["addr"]))
        for loc in bkpt.get("locations") or []:
            if str(loc.get("addr", "")).startswith("0x"):
                addrs.append(_int(loc["addr"]))
        return Breakpoint(int(bkpt.get("number", 0)), location, tuple(addrs), hardware)

    def delete(self, number: int) -> None:
        self.mi(f"-break-delete {number}")

    def enable(self, numbers: list[int], enabled: bool = True) -> None:
        """Enable (or disable) breakpoints: gdb inserts only enabled ones when the guest runs."""
        if numbers:
            verb = "enable" if enabled else "disable"
            self.mi(f"-break-{verb} " + " ".join(map(str, numbers)))

    def watch_read(self, address: int, size: int = 8) -> int:
        """A hardware read watchpoint on ``size`` bytes at ``address`` (gdb has no software
        read watchpoints, so it is hardware or an error); its number."""
        kind = {8: "unsigned long", 4: "unsigned int"}[size]
        payload = self.mi(f'-break-watch -r "*({kind} *){address:#x}"')
        wpt = payload.get("hw-rwpt") or payload.get("wpt") or {}
        return int(wpt.get("number", 0))

    def _wait_stop(self, timeout: float, what: str) -> Stop:
        deadline = time.monotonic() + timeout
        while not self._stops:
            rec = self._next(deadline, running=True)
            if rec is None:
                self._interrupt()
                raise StopTimeout(f"the guest did not stop {what} within {timeout:.0f} s")
            if rec.get("type") == "notify" and rec.get("message") == "stopped":
                self._stops.append(rec.get("payload") or {})
            elif rec.get("type") == "notify" and rec.get("message") == "thread-group-exited":
                raise GdbError(f"the guest went away (QEMU exited) while waiting for {what}")
            elif rec.get("type") == "result" and rec.get("message") == "error":
                raise GdbError(f"gdb: {(rec.get('payload') or {}).get('msg', '')}")
        p = self._stops.pop(0)
        frame = p.get("frame") or {}
        reason = str(p.get("reason", ""))
        if reason.startswith("exited") or p.get("signal-name") == "SIGKILL":
            raise GdbError(f"the guest went away while waiting {what} ({reason})")
        return Stop(
            reason=reason,
            bkptno=int(p["bkptno"]) if p.get("bkptno") else None,
            pc=_int(frame.get("addr")),
            func=str(frame.get("func", "")),
            thread=int(p["thread-id"]) if p.get("thread-id") else None,
            return_value=p.get("return-value"),
            watchpoint=_watchpoint(p),
        )

    def _interrupt(self) -> None:
        """Stop a running guest (after a timeout), so that later commands work."""
        with contextlib.suppress(GdbError):
            self.mi("-exec-interrupt", timeout=5)
            deadline = time.monotonic() + 5
            while not self._stops and (rec := self._next(deadline)) is not None:
                if rec.get("type") == "notify" and rec.get("message") == "stopped":
                    self._stops.append(rec.get("payload") or {})
            self._stops.clear()

    def cont(self, timeout: float, what: str = "") -> Stop:
        """Continue until the next stop; StopTimeout (guest interrupted) after ``timeout`` s."""
        self._stops.clear()
        self.mi("-exec-continue")
        return self._wait_stop(timeout, what)

    def finish(self, timeout: float, what: str = "") -> Stop:
        """Run until the current function returns (a temporary breakpoint at the caller)."""
        self._stops.clear()
        self.mi("-exec-finish")
        return self._wait_stop(timeout, what)

    # -- data ------------------------------------------------------------------------------
    def read(self, address: int, size: int) -> bytes:
        """``size`` bytes of guest virtual memory from ``address``: small reads as MI hex, large
        ones through ``dump binary memory`` into a file (4x faster: no hex to parse)."""
        if size >= DUMP_MIN:
            return self._dump(address, size)
        out = bytearray()
        while len(out) < size:
            n = min(READ_CHUNK, size - len(out))
            at = address + len(out)
            payload = self.mi(f"-data-read-memory-bytes {at:#x} {n}")
            blocks = sorted(payload.get("memory") or [], key=lambda b: _int(b.get("begin")))
            got = b"".join(bytes.fromhex(b.get("contents", "")) for b in blocks)
            if len(got) != n or (blocks and _int(blocks[0].get("begin")) != at):
                raise GdbError(f"could read only {len(got)} of {n} bytes at {at:#x}")
            out += got
        self.bytes_read += size
        return bytes(out)

    def _dump(self, address: int, size: int) -> bytes:
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="mmi-gdb-"))
        path = self._tmp / "dump.bin"
        try:
            self.console(f"dump binary memory {path} {address:#x} {address + size:#x}")
            data = path.read_bytes()
        finally:
            path.unlink(missing_ok=True)
        if len(data) != size:
            raise GdbError(f"could read only {len(data)} of {size} bytes at {address:#x}")
        self.bytes_read += size
        return data

    def evaluate(self, expression: str) -> str:
        """gdb's value of an expression, as text (use for arguments; read structs with read())."""
        return str(self.mi(f'-data-evaluate-expression "{expression}"').get("value", ""))

    def frames(self, depth: int = 16) -> list[str]:
        """The functions of the stopped vCPU's call stack, innermost first."""
        payload = self.mi(f"-stack-list-frames 0 {depth - 1}")
        out = []
        for entry in payload.get("stack") or []:
            frame = entry.get("frame", entry) if isinstance(entry, dict) else {}
            out.append(str(frame.get("func", "??")))
        return out

    def frame_arguments(self) -> dict[str, str]:
        """The stopped frame's arguments (one round trip); "<optimized out>" where DWARF says so."""
        payload = self.mi("-stack-list-arguments --simple-values 0 0")
        frames = payload.get("stack-args") or []
        args = frames[0].get("args", []) if frames else []
        return {
            str(v.get("name")): str(v.get("value", ""))
            for v in args
            if "@entry" not in str(v.get("name"))
        }

    def registers(self, names: tuple[str, ...]) -> dict[str, int]:
        """Registers of the stopped thread by name, in one round trip (names: once)."""
        if self._register_numbers is None:
            listed = self.mi("-data-list-register-names").get("register-names") or []
            self._register_numbers = {str(n): i for i, n in enumerate(listed) if n}
        nums = [self._register_numbers[n] for n in names]
        payload = self.mi("-data-list-register-values x " + " ".join(map(str, nums)))
        by_num = {
            int(v["number"]): _int(v.get("value")) for v in payload.get("register-values") or []
        }
        return {n: by_num[i] for n, i in zip(names, nums, strict=True)}

    def register(self, name: str) -> int:
        """A register of the stopped thread (``$pc``, ``$rdi``, ``$x0`` …)."""
        value = self.evaluate(f"(unsigned long){name}")
        return int(value.split()[0], 0)
