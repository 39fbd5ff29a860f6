"""The host's guard: a guest whose RAM the host backs only where it writes (memfds, or
``reserve=off``) can be far larger than the host's free memory, so what it touches is bounded
here. A thread watches QEMU's resident memory (its guest RAM included: the memfd or anonymous
pages the guest wrote) and the host's MemAvailable; past the bound it kills QEMU at once and
says why in one line, so a guest filling its RAM (a user's ``RUN``) never takes the host down.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from pathlib import Path

from inspector.errors import InspectorError
from inspector.vm.topology import format_size, parse_size

GUARD_ENV = "MMI_HOST_GUARD"  # the bound on QEMU's resident memory, e.g. 2G (default: derived)
MiB = 1 << 20
# what the host keeps for everything else: mm-inspector, gdb, drgn, the page cache's floor
HOST_RESERVE = 1024 * MiB
POLL_SECONDS = 0.2


def host_mem_available() -> int | None:
    """MemAvailable of /proc/meminfo, in bytes (None where there is no such file)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def resident_bytes(pid: int) -> int | None:
    """VmRSS of ``pid`` (anonymous, file and shared-memory pages it maps), or None if gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def guard_budget() -> int | None:
    """How much QEMU may hold: ``MMI_HOST_GUARD`` if set, else the host's MemAvailable now less
    HOST_RESERVE (None where the host does not say: no guard)."""
    text = os.environ.get(GUARD_ENV)
    if text:
        try:
            return parse_size(text, GUARD_ENV)
        except InspectorError:
            raise InspectorError(
                f"{GUARD_ENV}={text!r} is not a size: give one such as 4G or 512M"
            ) from None
    available = host_mem_available()
    return None if available is None else max(available - HOST_RESERVE, 256 * MiB)


class Guard:
    """Watches one QEMU process; ``reason`` is set (and QEMU SIGKILLed) if it trips."""

    def __init__(self, pid: int, budget: int, run_dir: Path) -> None:
        self.pid, self.budget, self.run_dir = pid, budget, run_dir
        self.reason: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="mmi-guard", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            rss = resident_bytes(self.pid)
            if rss is None:
                return  # QEMU is gone
            available = host_mem_available()
            low = available is not None and available < HOST_RESERVE // 4
            if rss > self.budget or low:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                self.reason = (
                    f"the guest made QEMU hold {format_size(rss)} of host memory, more than the "
                    f"{format_size(self.budget)} this host can spare"
                    + (" (the host ran low)" if low else "")
                    + f": stopped it (ask for a guest that touches less; {GUARD_ENV} sets the "
                    "bound)"
                )
                with contextlib.suppress(OSError):
                    (self.run_dir / "guard.txt").write_text(self.reason + "\n")
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
