"""``python -m inspector.reaper -- CMD …``: run CMD in this process group and take the whole group
down with us when the process that started us dies, however it dies (SIGKILL included).

``python -m inspector.reaper --remove PATH …``: wait; when the process that started us dies (or
sends SIGTERM), remove those paths (sockets, and directories once empty) and leave.

A parent-death signal (``PR_SET_PDEATHSIG``) is not inherited across fork, so it cannot reach
make's jobs directly; this small supervisor holds it for them: on the signal it stops its process
group (SIGTERM, then SIGKILL), which is CMD and everything CMD started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType

from inspector.resource import PR_SET_PDEATHSIG

GRACE = 5.0  # seconds between SIGTERM and SIGKILL to the group


def _stop_group(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # we are in the group we signal
    os.killpg(0, signal.SIGTERM)
    deadline = time.monotonic() + GRACE
    while time.monotonic() < deadline:
        try:
            if os.waitpid(-1, os.WNOHANG) == (0, 0):
                time.sleep(0.05)
        except ChildProcessError:
            break
    os.killpg(0, signal.SIGKILL)


def _remove(paths: list[str]) -> None:
    for p in paths:
        try:
            if os.path.isdir(p) and not os.path.islink(p):
                os.rmdir(p)
            else:
                os.unlink(p)
        except OSError:
            pass


PARENT_ENV = "MMI_JANITOR_PARENT"


def janitor(paths: list[str]) -> int:
    """Remove ``paths`` when our parent dies or tells us to (SIGTERM/SIGHUP)."""
    import ctypes

    done = False

    def clean(signum: int, frame: FrameType | None) -> None:
        nonlocal done
        done = True

    signal.signal(signal.SIGTERM, clean)
    signal.signal(signal.SIGHUP, clean)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is our parent's to handle
    # the pid that started us, as it said: a parent SIGKILLed while we were still starting has
    # already handed us to init, and getppid() alone would then wait on init forever
    parent = int(os.environ.get(PARENT_ENV) or os.getppid())
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    while not done and os.getppid() == parent:
        time.sleep(0.5)
    _remove(paths)
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--remove"]:
        return janitor(argv[1:])
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print("usage: python -m inspector.reaper -- CMD [ARG ...]", file=sys.stderr)
        return 2
    import ctypes

    signal.signal(signal.SIGTERM, _stop_group)
    signal.signal(signal.SIGHUP, _stop_group)
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    if os.getppid() == 1:  # the parent died before the signal was armed
        return 1
    child = subprocess.Popen(argv)
    return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
