"""One base for objects a ``with`` block owns: leaving the block calls ``close()``."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Resource:
    """Subclasses define ``close()``; override ``__enter__`` to start something first."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


PR_SET_PDEATHSIG = 1  # include/uapi/linux/prctl.h


def die_with_parent(sig: int = 9) -> None:
    """A ``preexec_fn``: the child gets ``sig`` (SIGKILL) when the process that started it dies,
    however it dies (SIGKILL included), so no QEMU outlives mm-inspector. Linux only; a no-op
    elsewhere."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def dies_with_parent(argv: list[str]) -> list[str]:
    """``argv`` run under util-linux's ``setpriv --pdeathsig KILL`` where it exists, for
    children started by libraries that take no ``preexec_fn`` (pygdbmi's gdb)."""
    import shutil

    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--", *argv] if setpriv else argv
