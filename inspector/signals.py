"""How mm-inspector ends on a signal: SIGTERM and SIGHUP unwind like Ctrl-C (every process a
run started is stopped by its ``with`` block), and the last line says so, with exit status 130."""

from __future__ import annotations

import signal
from collections.abc import Callable
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


# The signals mm-inspector unwinds on: held while Python forks (see HeldSignals).
HELD = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class HeldSignals:
    """SIGINT, SIGTERM and SIGHUP held back while a child is forked with a ``preexec_fn`` (or a
    worker pool forks): Python runs its at-fork callbacks around such a fork (logging's lock
    release, say), and an exception a signal handler raises inside one is printed as
    "Exception ignored" and dropped, so the interrupt would be lost and the run would go on
    (seen in chaos: SIGHUP at 1.0 s into validate, which then finished with status 0).

    ``held = HeldSignals()`` blocks them; ``preexec_fn=held.child(…)`` unblocks them in the child
    first; ``held.release()`` (idempotent) delivers what came meanwhile, where the caller is
    ready to unwind (inside its ``try``)."""

    def __init__(self) -> None:
        self._old: set[int] | None = {
            int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, HELD)
        }

    def child(self, then: Callable[[], object] | None = None) -> Callable[[], None]:
        old: set[int] = self._old or set()

        def preexec() -> None:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
            if then is not None:
                then()

        return preexec

    def release(self) -> None:
        if self._old is not None:
            old, self._old = self._old, None
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def __enter__(self) -> HeldSignals:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def unhold() -> None:
    """In a forked worker (a pool's initializer): take the signals back from a parent that
    held them while it forked."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD)
