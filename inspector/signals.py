"""How mm-inspector ends on a signal: SIGTERM and SIGHUP unwind like Ctrl-C (every process a
run started is stopped by its ``with`` block), and the last line says so, with exit status 130."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING

from inspector.errors import Terminated

if TYPE_CHECKING:
    from sys import UnraisableHookArgs

INTERRUPTED = "mm-inspector: interrupted (everything it started has been stopped)"
EXIT_INTERRUPTED = 130


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def install_handlers() -> None:
    """SIGTERM and SIGHUP raise ``Terminated`` (a KeyboardInterrupt) from here on. An ignored
    SIGINT (nohup, job runners) stays ignored; otherwise Python's own handler raises
    KeyboardInterrupt. An interrupt raised where Python drops exceptions is raised again
    (``_redeliver``)."""
    global _previous_hook
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _terminate)
    if sys.unraisablehook is not _redeliver:
        _previous_hook = sys.unraisablehook
        sys.unraisablehook = _redeliver


_previous_hook = sys.unraisablehook
_dropped: type[KeyboardInterrupt] = Terminated


def _redeliver(u: UnraisableHookArgs) -> None:
    """Python runs a signal's handler at the next bytecode it checks, and that may be inside a
    callback whose exceptions it drops ("Exception ignored in …": a weakref callback such as
    importlib's module-lock one, an at-fork hook, a __del__). An interrupt dropped there would
    be lost and the run would go on (seen in chaos: buddy, SIGHUP at 0.4 s, during imports).
    It is raised again 5 ms later from a one-shot timer (SIGALRM), once the callback has
    returned; re-sending the signal itself would run the handler inside this hook, where an
    exception is dropped too."""
    global _dropped
    if isinstance(u.exc_value, KeyboardInterrupt):
        _dropped = type(u.exc_value)
        signal.signal(signal.SIGALRM, _raise_dropped)
        signal.setitimer(signal.ITIMER_REAL, 0.005)
        return
    _previous_hook(u)


def _raise_dropped(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    raise _dropped


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
