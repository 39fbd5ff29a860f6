"""A booted guest: kernel built (cached), initramfs, QEMU started, shell reached."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from inspector.arch import Arch
from inspector.errors import InspectorError
from inspector.kernel.build import Build, build
from inspector.kernel.config import read_config
from inspector.kernel.elf import load_memsz
from inspector.kernel.initramfs import build_initramfs
from inspector.kernel.versions import KernelVersion
from inspector.vm.guard import host_mem_available
from inspector.vm.machine import Machine, new_run_dir
from inspector.vm.qemu import MachineSpec, qemu_binary
from inspector.vm.topology import MiB, Topology, format_size

DEFAULT_BOOT_TIMEOUT = 180.0


@dataclass(frozen=True)
class BootRequest:
    version: KernelVersion
    arch: Arch
    topology: Topology
    append: tuple[str, ...] = ()
    machine: str | None = None
    accel: str = "tcg"
    tcg_thread: str = "single"  # MachineSpec.tcg_thread
    timeout: float = DEFAULT_BOOT_TIMEOUT
    paused: bool = False
    gdbstub: bool = False  # a gdbstub on the running guest too (MachineSpec.gdbstub)
    early_console: bool = True  # MachineSpec.early_console
    ram_file: Path | None = None
    ram_fds: tuple[int, ...] = ()  # memfds backing each node's RAM (MachineSpec.ram_fds)
    extra: tuple[str, ...] = field(default_factory=tuple)

    def label(self) -> str:
        return f"{self.version.label}-{self.arch.name}"


def min_mem(kernel: Build, initrd: Path) -> int:
    """A floor under which the guest cannot boot: the loaded kernel, the initramfs (archive and
    unpacked copy, plus busybox's links), page tables and memmap; rounded up to 16 MiB."""
    need = load_memsz(kernel.vmlinux) + 3 * initrd.stat().st_size + 32 * MiB
    return -(-need // (16 * MiB)) * 16 * MiB


def touched_estimate(mem: int) -> int:
    """What booting a guest of ``mem`` bytes makes the host back: only the pages it writes
    (memfds are sparse; anonymous RAM is reserve=off): its memmap (a 64-byte struct page per
    4 KiB page), its page tables, kernel and initramfs, and QEMU's own, with room to spare."""
    return mem // 64 + mem // 512 + 512 * MiB


def preflight(req: BootRequest) -> None:
    """Checks that need no kernel build, so bad input fails in a second. Guest RAM is backed
    only where the guest writes (memfds, or reserve=off): a guest is refused only when what it
    will touch booting does not fit; what it touches later is bounded by the guard."""
    qemu_binary(req.arch)
    available = host_mem_available()
    if available is None:
        return
    need = touched_estimate(req.topology.mem)
    if need > available:
        raise InspectorError(
            f"MEM={format_size(req.topology.mem)} would have this host back about "
            f"{format_size(need)} (its memmap, page tables, kernel; {format_size(available)} "
            "available): ask for less"
        )


def check_fits_build(req: BootRequest, kernel: Build) -> None:
    """The topology within what the kernel was built for: NUMA nodes within MAX_NUMNODES,
    CPUs within NR_CPUS (the guest would ignore the rest, or fail in ways that look like bugs)."""
    cfg = read_config(kernel.config)
    what = f"Linux {kernel.release} {req.arch.name}"
    if req.topology.numa:
        shift = int(cfg.get("CONFIG_NODES_SHIFT", "0")) if "CONFIG_NUMA" in cfg else 0
        if len(req.topology.nodes) > 1 << shift:
            raise InspectorError(
                f"NUMA asks for {len(req.topology.nodes)} nodes but {what} is built for at "
                f"most {1 << shift} (CONFIG_NODES_SHIFT={shift}): use at most {1 << shift}"
            )
    nr_cpus = int(cfg.get("CONFIG_NR_CPUS", "1"))
    if req.topology.smp > nr_cpus:
        raise InspectorError(
            f"SMP={req.topology.smp} is more than {what} is built for (CONFIG_NR_CPUS="
            f"{nr_cpus}): use at most {nr_cpus}"
        )


def prepare(
    req: BootRequest, *, interactive: bool = False, quiet: bool = False
) -> tuple[Build, MachineSpec]:
    preflight(req)
    kernel = build(req.version, req.arch, quiet=quiet)
    initrd = build_initramfs(req.arch)
    check_fits_build(req, kernel)
    floor = min_mem(kernel, initrd)
    if req.topology.mem < floor:
        raise InspectorError(
            f"MEM={format_size(req.topology.mem)} is too small for Linux {kernel.release} "
            f"{req.arch.name} with its initramfs: use MEM={format_size(floor)} or more"
        )
    spec = MachineSpec(
        arch=req.arch,
        kernel=kernel.image,
        initrd=initrd,
        topology=req.topology,
        append=req.append,
        machine=req.machine,
        accel=req.accel,
        tcg_thread=req.tcg_thread,
        paused=req.paused,
        gdbstub=req.gdbstub,
        early_console=req.early_console,
        interactive=interactive,
        ram_file=req.ram_file,
        ram_fds=req.ram_fds,
        extra=req.extra,
    )
    return kernel, spec


@dataclass
class Guest:
    """A guest at its shell. ``run()`` executes a command there."""

    machine: Machine
    kernel: Build
    boot_seconds: float

    @property
    def run_dir(self) -> Path:
        return self.machine.paths.dir

    def run(self, command: str, timeout: float = 120.0, check: bool = True) -> str:
        assert self.machine.console is not None
        rc, out = self.machine.console.run(command, timeout)
        if check and rc != 0:
            raise InspectorError(f"guest command {command!r} exited {rc}", detail=out[-2000:])
        return out

    def run_rc(self, command: str, timeout: float = 120.0) -> tuple[int, str]:
        assert self.machine.console is not None
        return self.machine.console.run(command, timeout)

    def read(self, path: str) -> str:
        return self.run(f"cat {path}")


@contextlib.contextmanager
def booted(
    req: BootRequest, run_dir: Path | None = None, *, quiet: bool = False
) -> Iterator[Guest]:
    """Build (cached), boot, and wait for the shell; QEMU is stopped when the block ends."""
    kernel, spec = prepare(req, quiet=quiet)
    run_dir = run_dir or new_run_dir(req.label())
    with Machine(spec, run_dir) as machine:
        assert machine.console is not None
        machine.console.wait_for_shell(req.timeout)
        seconds = time.monotonic() - machine.started_at
        if not quiet:
            print(
                f"guest {machine.console.release} ({req.arch.name}, {req.topology.describe()}) "
                f"at its shell after {seconds:.2f} s; run dir {run_dir}",
                file=sys.stderr,
            )
        yield Guest(machine, kernel, seconds)
