"""How mm-inspector ends on a signal: SIGTERM and SIGHUP unwind like Ctrl-C (every process a
run started is stopped by its ``with`` block), and the last line says so, with exit status 130."""

from __future__ import annotations

import signal
from types import FrameType

from inspector.errors import Terminated

INTERRUPTED = "mm-inspector: interrupted (everything it started has been stopped)"
EXIT_INTERRUPTED = 130


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def install_handlers() -> None:
    """SIGTERM and SIGHUP raise ``Terminated`` (a KeyboardInterrupt) from here on. An ignored
    SIGINT (nohup, job runners) stays ignored; otherwise Python's own handler raises
    KeyboardInterrupt."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _terminate)
