"""A booted guest with its RAM in host files and drgn attached: ``live_guest(req)``.

The guest's RAM lives in memfds (``memfd_create``) that QEMU inherits and maps shared, one per
node with memory: no name in /dev/shm or anywhere, so nothing outlives the run even when
mm-inspector is SIGKILLed. A RAM file named by the caller (``BootRequest.ram_file``) is removed
when the block ends instead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from inspector.live.program import LiveKernel, open_live
from inspector.live.ram import RamPiece, ram_files, ram_map, ram_memfds
from inspector.vm.guest import BootRequest, Guest, booted
from inspector.vm.machine import new_run_dir
from inspector.vm.qemu import backing_files

SHM = Path("/dev/shm")


@dataclass
class LiveGuest:
    guest: Guest
    pieces: list[RamPiece]
    lk: LiveKernel

    def pause(self) -> None:
        self.guest.machine.qmp.execute("stop")

    def resume(self) -> None:
        self.guest.machine.qmp.execute("cont")


def remove_ram_files(files: list[Path]) -> None:
    for f in files:
        with contextlib.suppress(FileNotFoundError):
            f.unlink()


@contextlib.contextmanager
def live_guest(
    req: BootRequest,
    run_dir: Path | None = None,
    *,
    quiet: bool = False,
    derive_vmcoreinfo: bool = False,
) -> Iterator[LiveGuest]:
    """Boot ``req`` with file-backed RAM and attach drgn; QEMU stopped and files removed after."""
    run_dir = run_dir or new_run_dir(req.label())
    fds: list[int] = []
    to_remove: list[Path] = []
    try:
        if req.ram_file is None:  # memfds: nothing in /dev/shm, even if we are SIGKILLed
            fds = ram_memfds(req.topology, run_dir.name)
            req = dataclasses.replace(req, ram_fds=tuple(fds))
        else:
            to_remove = ram_files(req.ram_file, req.topology)
        files = backing_files(req.ram_file, req.ram_fds, req.topology)
        assert files is not None
        with booted(req, run_dir, quiet=quiet) as guest:
            pieces = ram_map(req.arch, req.machine, req.topology, files)
            with open_live(pieces, guest.kernel.vmlinux, derive_vmcoreinfo=derive_vmcoreinfo) as lk:
                yield LiveGuest(guest, pieces, lk)
    finally:
        remove_ram_files(to_remove)
        for fd in fds:
            os.close(fd)
