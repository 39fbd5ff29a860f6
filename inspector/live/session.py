"""A booted guest with its RAM in host files and drgn attached: ``live_guest(req)``.

The RAM files go to /dev/shm when it has room (reads from tmpfs are page-cache hits) and to the
run directory otherwise; they are removed when the block ends, however it ends.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from inspector.live.program import LiveKernel, open_live
from inspector.live.ram import RamPiece, ram_files, ram_map
from inspector.vm.guest import BootRequest, Guest, booted
from inspector.vm.machine import new_run_dir

SHM = Path("/dev/shm")


def ram_file_for(req: BootRequest, run_dir: Path) -> Path:
    """/dev/shm/mmi-<run name>.ram if /dev/shm has twice the guest's RAM free, else the run dir."""
    usable = SHM.is_dir() and os.access(SHM, os.W_OK)
    if usable and shutil.disk_usage(SHM).free > 2 * req.topology.mem:
        return SHM / f"mmi-{re.sub(r'[^A-Za-z0-9._-]', '_', run_dir.name)}.ram"
    return run_dir / "guest.ram"


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
    ram_file = req.ram_file or ram_file_for(req, run_dir)
    req = dataclasses.replace(req, ram_file=ram_file)
    files = ram_files(ram_file, req.topology)
    try:
        with booted(req, run_dir, quiet=quiet) as guest:
            pieces = ram_map(req.arch, req.machine, req.topology, ram_file)
            with open_live(pieces, guest.kernel.vmlinux, derive_vmcoreinfo=derive_vmcoreinfo) as lk:
                yield LiveGuest(guest, pieces, lk)
    finally:
        remove_ram_files(files)
