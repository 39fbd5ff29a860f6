"""Worker processes that never outlive the run: ``with worker_pool(n) as pool:``.

Each worker dies with mm-inspector (a parent-death SIGTERM), and unwinds on SIGTERM/SIGHUP as on
Ctrl-C, so its own QEMU and gdb are stopped by their ``with`` blocks. When the block is left by an
exception (an interrupt, an error), queued work is cancelled and the workers are terminated."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import FrameType

from inspector.resource import die_with_parent
from inspector.signals import unhold


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Unwind a task like Ctrl-C; a worker waiting for work has nothing to unwind: it leaves."""
    f = frame
    while f is not None:
        if f.f_code.co_filename.endswith(("multiprocessing/queues.py", "connection.py")):
            os._exit(1)
        f = f.f_back
    raise KeyboardInterrupt


def _has_children() -> bool:
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            if (task / "children").read_text().strip():
                return True
    return False


def _watch_parent(parent: int) -> None:
    """Once the parent is gone (its death signal has started the unwinding), give this
    worker's QEMU and gdb a moment to be stopped, then leave: nobody will send more work, and
    whatever is still running dies with us (its own parent-death signal)."""
    while os.getppid() == parent:
        time.sleep(0.2)
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline and _has_children():
        time.sleep(0.1)
    os._exit(1)


def _worker_init() -> None:
    unhold()  # the parent held SIGINT/SIGTERM/SIGHUP while it forked us
    parent = os.getppid()
    die_with_parent(signal.SIGTERM)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    # Ctrl-C at a terminal reaches the whole foreground group: the parent stops the workers
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


@contextlib.contextmanager
def worker_pool(max_workers: int) -> Iterator[ProcessPoolExecutor]:
    pool = ProcessPoolExecutor(max_workers=max_workers, initializer=_worker_init)
    try:
        yield pool
    except BaseException:
        procs = list((getattr(pool, "_processes", None) or {}).values())  # before shutdown
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in procs:
            with contextlib.suppress(Exception):
                proc.terminate()  # SIGTERM: the worker unwinds and stops its QEMU
        for proc in procs:
            with contextlib.suppress(Exception):
                proc.join(15)
                if proc.is_alive():
                    proc.kill()
        raise
    else:
        pool.shutdown(wait=True)
