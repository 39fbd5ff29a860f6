"""The guest's serial console, driven with pexpect over the run's unix socket."""

from __future__ import annotations

import contextlib
import re
import socket
import time
import typing
from collections.abc import Callable
from pathlib import Path

import pexpect
import pexpect.fdpexpect

from inspector.errors import GuestPanic, GuestTimeout, InspectorError
from inspector.kernel.initramfs import BANNER

# the kernel's death on the console: panic(), and x86's early exception handler, which prints
# this through earlyprintk and halts (arch/x86/mm/extable.c early_fixup_exception())
PANIC = re.compile(rb"(?:Kernel panic - not syncing|PANIC: early exception)[^\r\n]*\r?\n")
_BEGIN = b"@@MMI-B@@"
_END = re.compile(rb"@@MMI-E (\d+)@@")


def tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.replace("\r", "").splitlines()[-lines:])


# the first line of an oops (x86, arm64) and where it hit (x86's RIP, arm64's pc)
OOPS = re.compile(
    r"(Unable to handle kernel [^\r\n]*|BUG: [^\r\n]*|kernel BUG at [^\r\n]*"
    r"|general protection fault[^\r\n]*|Internal error: [^\r\n]*)"
)
OOPS_WHERE = re.compile(r"(?:\bpc : |RIP: \w+:)([\w.]+)\+0x")


def oops_context(log: str) -> str:
    """`` (after "<the oops's first line>" in <function>)`` when an oops came before the panic
    (arm64's early NULL dereference ends in "Attempted to kill the idle task!"), else ""."""
    first = OOPS.search(log)
    if first is None:
        return ""
    where = OOPS_WHERE.search(log, first.start())
    return f' (after "{first.group(1).strip()}"' + (f" in {where.group(1)})" if where else ")")


class Console:
    """Boot to the shell, then run commands and collect their output and exit status."""

    def __init__(self, sock_path: Path, log_path: Path, timeout: float = 10.0) -> None:
        self.log_path = log_path
        deadline = time.monotonic() + timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        while True:
            try:
                self.sock.connect(str(sock_path))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise InspectorError(f"console socket {sock_path} did not come up") from None
                time.sleep(0.02)
        self.child = pexpect.fdpexpect.fdspawn(self.sock.fileno(), timeout=timeout)
        self.release = ""
        # why QEMU went away when we stopped it (the machine's guard), asked on EOF
        self.why_exited: Callable[[], str | None] = lambda: None

    def _expect(self, pattern: re.Pattern[bytes] | bytes, timeout: float, what: str) -> int:
        idx = self.child.expect([pattern, PANIC, pexpect.EOF, pexpect.TIMEOUT], timeout=timeout)
        if idx == 0:
            return 0
        if idx == 1:
            msg = self._bytes(self.child.after).decode(errors="replace").strip()
            self._drain()
            msg += oops_context(tail(self.log_path, 400))
            raise GuestPanic(f"guest panic while {what}: {msg}", detail=tail(self.log_path))
        if idx == 2:
            if (why := self.why_exited()) is not None:
                raise InspectorError(why)
            raise GuestPanic(
                f"guest stopped (QEMU exited) while {what}", detail=tail(self.log_path)
            )
        raise GuestTimeout(f"timed out after {timeout:.0f} s {what}", detail=tail(self.log_path))

    def _drain(self) -> None:
        """Give the panic message a moment to reach the log, for the tail we show."""
        with contextlib.suppress(OSError):
            self.child.expect([pexpect.EOF, pexpect.TIMEOUT], timeout=1.0)

    def wait_for_shell(self, timeout: float) -> float:
        """Wait for the initramfs banner; return seconds waited."""
        start = time.monotonic()
        self._expect(
            re.compile(re.escape(BANNER.encode()) + rb" \(([^,]*),"),
            timeout,
            "waiting for the guest's shell (boot)",
        )
        self.release = self._match().group(1).decode()
        waited = time.monotonic() - start
        self.run("stty -echo", timeout)
        return waited

    def run(self, command: str, timeout: float = 60.0) -> tuple[int, str]:
        """Run ``command`` in the guest shell: (exit status, output with \\r removed)."""
        # The quotes keep an echoed command line from matching the markers; the braces keep
        # the end marker running whatever the command's last line is, stdin from /dev/null.
        line = f"echo '@@MMI''-B@@'; {{ {command}\n}} </dev/null; echo \"@@MMI-E\"\" $?@@\"\n"
        self.child.send(line.encode())
        self._expect(re.compile(re.escape(_BEGIN) + rb"\r?\n"), timeout, f"starting {command!r}")
        self._expect(_END, timeout, f"running {command!r}")
        out = self._bytes(self.child.before).decode(errors="replace").replace("\r", "")
        return int(self._match().group(1)), out

    @staticmethod
    def _bytes(data: object) -> bytes:
        """pexpect's before/after: bytes on a socket spawned without an encoding."""
        assert isinstance(data, bytes)
        return data

    def _match(self) -> re.Match[bytes]:
        m = self.child.match
        assert isinstance(m, re.Match)
        return typing.cast(re.Match[bytes], m)

    def close(self) -> None:
        self.sock.close()
