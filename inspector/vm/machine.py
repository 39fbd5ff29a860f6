"""One QEMU process and its run directory; always stopped and reaped, however the run ends."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from inspector.errors import InspectorError
from inspector.paths import runs_dir
from inspector.reaper import PARENT_ENV
from inspector.resource import Resource, die_with_parent
from inspector.signals import HeldSignals
from inspector.vm.console import Console, tail
from inspector.vm.guard import Guard, guard_budget
from inspector.vm.qemu import MachineSpec, RunPaths, qemu_argv
from inspector.vm.qmp import QMP

_SOCKET_PATH_MAX = 100


def new_run_dir(label: str, base: Path | None = None) -> Path:
    root = base or runs_dir()
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(tempfile.mkdtemp(prefix=f"{stamp}-{label}-", dir=root))


def run_paths(run_dir: Path) -> RunPaths:
    """Sockets go in the run directory unless its path is too long for a unix socket."""
    if len(str(run_dir / "console.sock")) <= _SOCKET_PATH_MAX:
        return RunPaths(run_dir, run_dir)
    short = Path(tempfile.mkdtemp(prefix="mmi-"))
    (run_dir / "sockets").symlink_to(short)
    return RunPaths(run_dir, short)


def _qemu_child() -> None:
    """In QEMU's process before exec: die with mm-inspector (even a SIGKILLed one leaves no QEMU
    behind), and create sockets and RAM files for this user alone."""
    die_with_parent()
    os.umask(0o077)


class Machine(Resource):
    """``with Machine(spec, run_dir) as m:`` starts QEMU; leaving the block stops it."""

    def __init__(self, spec: MachineSpec, run_dir: Path) -> None:
        self.spec = spec
        self.paths = run_paths(run_dir)
        self.argv = qemu_argv(spec, self.paths)
        self.proc: subprocess.Popen[bytes] | None = None
        self.console: Console | None = None
        self._qmp: QMP | None = None
        self._janitor: subprocess.Popen[bytes] | None = None
        self.guard: Guard | None = None
        self.started_at = 0.0

    def __enter__(self) -> Machine:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def close(self) -> None:
        self.stop()

    def start(self) -> None:
        (self.paths.dir / "qemu.argv.json").write_text(json.dumps(self.argv, indent=1) + "\n")
        self._start_janitor()
        stderr = open(  # noqa: SIM115 - handed to QEMU, closed below
            self.paths.dir / "qemu.stderr", "wb", opener=lambda p, f: os.open(p, f, 0o600)
        )
        budget = guard_budget()
        self.started_at = time.monotonic()
        with HeldSignals() as held:  # delivered once self.proc is set, so stop() finds it
            self.proc = subprocess.Popen(
                self.argv,
                stdin=None if self.spec.interactive else subprocess.DEVNULL,
                stdout=None if self.spec.interactive else subprocess.DEVNULL,
                stderr=stderr,
                # Our own session: Ctrl-C reaches us, not QEMU; we stop QEMU ourselves.
                start_new_session=not self.spec.interactive,
                preexec_fn=held.child(_qemu_child),
                pass_fds=self.spec.ram_fds,
            )
        stderr.close()
        if budget is not None:
            self.guard = Guard(self.proc.pid, budget, self.paths.dir)
        # QEMU deletes its own -pidfile when it exits; this record stays, for post-mortems.
        (self.paths.dir / "qemu.started").write_text(f"{self.proc.pid}\n")
        if not self.spec.interactive:
            try:
                self.console = Console(self.paths.console_sock, self.paths.console_log)
                self.console.why_exited = self.why_exited
                self.qmp  # noqa: B018 - connect now, while the socket is there
            except (InspectorError, OSError):
                # QEMU refusing its command line closes the sockets it had opened
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(2)
                self._raise_if_exited()
                raise
            # Connected: the names go, so no one else can connect and nothing is left behind
            # even if we die without a word (the connections live on without them).
            self.forget_socket(self.paths.console_sock)
            self.forget_socket(self.paths.qmp_sock)
            if not self.spec.paused:  # stopped at reset (qemu.control_args) until now
                self.qmp.execute("cont")

    def _start_janitor(self) -> None:
        """A small process that removes this run's sockets if we die without a word (SIGKILL)
        before they are unlinked (inspector.reaper --remove)."""
        paths = [self.paths.console_sock, self.paths.qmp_sock, self.paths.gdb_sock]
        if self.paths.sockets != self.paths.dir:
            paths.append(self.paths.sockets)
        self._janitor = subprocess.Popen(
            [sys.executable, "-m", "inspector.reaper", "--remove", *map(str, paths)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, PARENT_ENV: str(os.getpid())},
        )

    def _stop_janitor(self) -> None:
        j = self._janitor
        if j is not None and j.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                j.send_signal(signal.SIGTERM)  # it removes what is left, as stop() does
            try:
                j.wait(5)
            except subprocess.TimeoutExpired:
                j.kill()
                j.wait()
        self._janitor = None

    def forget_socket(self, sock: Path) -> None:
        """Unlink a socket we are connected to (and the short sockets directory once empty)."""
        with contextlib.suppress(OSError):
            sock.unlink()
        if self.paths.sockets != self.paths.dir:
            with contextlib.suppress(OSError):
                os.rmdir(self.paths.sockets)  # fails while the gdb socket is still there

    def why_exited(self) -> str | None:
        """Why QEMU is gone when we stopped it ourselves (the guard), else None."""
        return self.guard.reason if self.guard is not None else None

    def _raise_if_exited(self) -> None:
        assert self.proc is not None
        rc = self.proc.poll()
        if rc is not None:
            if (why := self.why_exited()) is not None:
                raise InspectorError(why)
            err = (self.paths.dir / "qemu.stderr").read_text(errors="replace").strip()
            first = err.splitlines()[-1] if err else f"exit status {rc}"
            raise InspectorError(f"QEMU exited at start: {first}", detail=err)

    @property
    def qmp(self) -> QMP:
        if self._qmp is None:
            self._qmp = QMP(self.paths.qmp_sock)
        return self._qmp

    def wait(self) -> int:
        assert self.proc is not None
        return self.proc.wait()

    def console_tail(self, lines: int = 20) -> str:
        return tail(self.paths.console_log, lines)

    def stop(self) -> None:
        """Quit QEMU (QMP, then SIGTERM, then SIGKILL), reap it, and close our ends."""
        if self.console is not None:
            self.console.close()
            self.console = None
        proc = self.proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(Exception):
                if self._qmp is None:  # QEMU may be on its way out (guest reset, -no-reboot)
                    self._qmp = QMP(self.paths.qmp_sock, timeout=1.0)
                self._qmp.execute("quit")
            try:
                proc.wait(3)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if self._qmp is not None:
            with contextlib.suppress(Exception):
                self._qmp.close()
            self._qmp = None
        for sock in (self.paths.console_sock, self.paths.qmp_sock, self.paths.gdb_sock):
            with contextlib.suppress(OSError):
                sock.unlink()
        if self.paths.sockets != self.paths.dir:
            with contextlib.suppress(OSError):
                os.rmdir(self.paths.sockets)
        self._stop_janitor()
        if self.guard is not None:
            self.guard.stop()
