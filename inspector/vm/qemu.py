"""QEMU command lines, built as argv lists by small pure functions (see ``--show-command``)."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from inspector.arch import Arch
from inspector.errors import InspectorError
from inspector.vm.topology import Topology, format_size


@dataclass(frozen=True)
class MachineSpec:
    """Everything that decides a QEMU command line."""

    arch: Arch
    kernel: Path
    initrd: Path
    topology: Topology
    append: tuple[str, ...] = ()
    machine: str | None = None  # default: arch.machine
    accel: str = "tcg"
    # TCG: one host thread for every vCPU ("single", round robin) or one each ("multi"). Boot
    # runs on one CPU until smp_init, so multi mostly adds threads that contend for the host's
    # cores: make validate on 2 cores took 28.6 s with multi and 16.5-20 s with single
    tcg_thread: str = "single"
    paused: bool = False  # -S: wait for gdb at reset
    gdbstub: bool = False  # a gdbstub on a running guest too (a paused one always has one)
    # the arch's early console when no gdb watches (early_console()); False: the command line
    # of a paused guest, for a like-for-like comparison (bench/capture_bench.py)
    early_console: bool = True
    interactive: bool = False  # console on our stdio rather than a unix socket
    ram_file: Path | None = None  # guest RAM in a shared host file (for drgn); NUMA: one per node
    # or in memfds of ours, one per node with memory, handed to QEMU as /proc/self/fd/N: no
    # name in any filesystem, gone with the last process that holds them
    ram_fds: tuple[int, ...] = ()
    extra: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class RunPaths:
    """Files of one run: sockets, logs, pid file."""

    dir: Path
    sockets: Path  # sockets live here (a short path: unix sockets are limited to 107 bytes)

    @property
    def console_log(self) -> Path:
        return self.dir / "console.log"

    @property
    def console_sock(self) -> Path:
        return self.sockets / "console.sock"

    @property
    def qmp_sock(self) -> Path:
        return self.sockets / "qmp.sock"

    @property
    def gdb_sock(self) -> Path:
        return self.sockets / "gdb.sock"

    @property
    def pidfile(self) -> Path:
        return self.dir / "qemu.pid"


def qemu_binary(arch: Arch) -> str:
    exe = shutil.which(arch.qemu)
    if exe is None:
        raise InspectorError(
            f"{arch.qemu} not found on PATH: run `mm-inspector deps` to install QEMU"
        )
    return exe


def _opt_value(path: Path) -> str:
    """A path as a QEMU option value: commas are doubled."""
    return str(path).replace(",", ",,")


def node_ram_file(ram_file: Path, nodeid: int) -> Path:
    """With NUMA and file-backed RAM, node N's RAM is in ``<ram_file>.nodeN``."""
    return ram_file.with_name(f"{ram_file.name}.node{nodeid}")


def backing_files(
    ram_file: Path | None, ram_fds: tuple[int, ...], topo: Topology
) -> list[Path] | None:
    """The file backing each node with memory (one when not NUMA), or None for anonymous RAM:
    ``/proc/self/fd/N`` for memfds (the same path in QEMU, which inherits the fd numbers)."""
    if ram_fds:
        return [Path(f"/proc/self/fd/{fd}") for fd in ram_fds]
    if ram_file is None:
        return None
    if not topo.numa:
        return [ram_file]
    return [node_ram_file(ram_file, n.nodeid) for n in topo.nodes if n.mem]


GICV2_MAX_CPUS = 8


def machine_args(spec: MachineSpec) -> list[str]:
    machine = spec.machine or spec.arch.machine
    opts = [machine]
    if not spec.topology.numa:  # the RAM is a backend of ours (memory_args)
        opts.append("memory-backend=ram")
    if spec.arch.name == "arm64" and spec.topology.smp > GICV2_MAX_CPUS:
        opts.append("gic-version=3")  # virt's default GICv2 routes 8 CPUs at most
    accel = f"tcg,thread={spec.tcg_thread}" if spec.accel == "tcg" else spec.accel
    return ["-machine", ",".join(opts), "-accel", accel, "-cpu", cpu_model(spec)]


G = 1 << 30
X86_PHYS_BITS = 40  # qemu64's physical address width: RAM may end below 1 TiB
# hw/i386/pc.c (QEMU 7.1+): an AMD vCPU (qemu64 is one) gets no RAM or PCI window in the
# HyperTransport range [AMD_HT_START, 1 TiB); RAM above 4 GiB moves to 1 TiB if it would reach it
AMD_HT_START = 0xFD_0000_0000
AMD_ABOVE_1TB_START = 1 << 40


def lowmem(arch: Arch, machine: str | None, mem: int) -> int | None:
    """x86: how much RAM QEMU keeps below 4 GiB (the rest goes above it); None elsewhere."""
    if arch.name != "x86_64":
        return None
    return lowmem_x86(machine or arch.machine, mem)


def lowmem_x86(machine: str, mem: int) -> int:
    """The RAM below 4 GiB of an x86 guest of ``mem`` bytes: QEMU 7.2's pc_init1() and
    pc_q35_init(), with the machine's ``max-ram-below-4g=`` (``mm-inspector dmesg --boot``
    sets it)."""
    m = re.search(r"max-ram-below-4g=(\d+)([KMG]?)", machine)
    user = int(m.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": G}[m.group(2)] if m else 0
    if machine.startswith("q35"):
        low = 2 * G if mem >= 0xB000_0000 else 0xB000_0000
        if user and low > user:
            low = user
    else:
        low = user or 0xE000_0000
        # gigabyte_align, false for the pc-i440fx-1.x machine types (up to 1.7): those keep
        # up to 3.5 GiB below 4 GiB
        if mem >= low and not re.match(r"pc-i440fx-1\.", machine):
            low = min(low, 3 * G)
    return low if mem >= low else mem


def _hole64(machine: str) -> int:
    # the 64-bit PCI window after the RAM: i440fx 2 GiB, q35 32 GiB (hw/pci-host)
    return 32 * G if machine.startswith("q35") else 2 * G


def above_4g_start(machine: str, mem: int) -> int:
    """Where QEMU puts the x86 guest's RAM above 4 GiB: 4 GiB, or 1 TiB (pc_memory_init(),
    QEMU 7.1+, machine types from 7.1 with an AMD vCPU — qemu64 is one) when that RAM and the
    64-bit PCI window after it would reach the HyperTransport range below 1 TiB: a guest of
    about 1 TiB."""
    versioned = re.match(r"(?:pc-i440fx|pc-q35)-(\d+)\.(\d+)", machine)
    if versioned and (int(versioned.group(1)), int(versioned.group(2))) < (7, 1):
        return 4 * G
    low = lowmem_x86(machine, mem)
    end = -(-(4 * G + mem - low) // G) * G + _hole64(machine) - 1
    return AMD_ABOVE_1TB_START if end >= AMD_HT_START else 4 * G


def cpu_model(spec: MachineSpec) -> str:
    """The arch's -cpu model; on x86_64 with enough physical address bits for the guest's RAM
    and the 64-bit PCI window after it (from 4 GiB, or 1 TiB: ``above_4g_start``): a 1 TiB
    guest needs 41 bits, and qemu64 has 40 ("phys-bits too low")."""
    cpu = spec.arch.cpu
    if spec.arch.name != "x86_64":
        return cpu
    machine = spec.machine or spec.arch.machine
    mem = spec.topology.mem
    top = above_4g_start(machine, mem) + mem - lowmem_x86(machine, mem) + _hole64(machine)
    bits = (top - 1).bit_length()
    return f"{cpu},phys-bits={bits}" if bits > X86_PHYS_BITS else cpu


def memory_args(spec: MachineSpec) -> list[str]:
    topo = spec.topology
    args = ["-m", format_size(topo.mem), "-smp", str(topo.smp)]
    files = backing_files(spec.ram_file, spec.ram_fds, topo)
    if files and not topo.numa:
        args += [
            "-object",
            f"memory-backend-file,id=ram,size={format_size(topo.mem)},"
            f"mem-path={_opt_value(files[0])},share=on",
        ]
    elif not topo.numa:
        args += ["-object", anonymous_backend("ram", topo.mem)]
    return args


def anonymous_backend(name: str, size: int) -> str:
    """Anonymous guest RAM that the host backs only where the guest writes: ``reserve=off``
    maps it MAP_NORESERVE, so a guest far larger than the host's free memory starts (without
    it QEMU fails "cannot set up guest memory" under the kernel's overcommit heuristic); what
    the guest touches is bounded by the machine's guard (inspector.vm.guard)."""
    return f"memory-backend-ram,id={name},size={format_size(size)},reserve=off"


def numa_args(topo: Topology, files: list[Path] | None = None) -> list[str]:
    """``-object memory-backend-ram`` per node with memory (``memory-backend-file`` when
    ``files`` gives each such node's backing file), ``-numa node``, ``-numa dist``."""
    args: list[str] = []
    backing = iter(files or [])
    for node in topo.nodes:
        opts = [f"node,nodeid={node.nodeid}"]
        if node.mem:
            backend = anonymous_backend(f"m{node.nodeid}", node.mem)
            if files:
                path = next(backing)
                backend = (
                    f"memory-backend-file,id=m{node.nodeid},size={format_size(node.mem)},"
                    f"mem-path={_opt_value(path)},share=on"
                )
            args += ["-object", backend]
            opts.append(f"memdev=m{node.nodeid}")
        opts += [f"cpus={c}" for c in node.cpus]
        args += ["-numa", ",".join(opts)]
    for (a, b), d in sorted(topo.distances.items()):
        args += ["-numa", f"dist,src={a},dst={b},val={d}"]
    return args


def console_args(spec: MachineSpec, paths: RunPaths) -> list[str]:
    if spec.interactive:
        chardev = f"stdio,id=con0,mux=on,signal=off,logfile={paths.console_log}"
        return ["-chardev", chardev, "-serial", "chardev:con0", "-mon", "chardev=con0"]
    chardev = (
        f"socket,id=con0,path={paths.console_sock},server=on,wait=on,logfile={paths.console_log}"
    )
    return ["-chardev", chardev, "-serial", "chardev:con0"]


def control_args(spec: MachineSpec, paths: RunPaths) -> list[str]:
    args = ["-qmp", f"unix:{paths.qmp_sock},server=on,wait=off"]
    if spec.paused or spec.gdbstub:
        args += ["-gdb", f"unix:{paths.gdb_sock},server=on,wait=off"]
    args += ["-pidfile", str(paths.pidfile)]
    # always stopped at reset: a guest that runs before we read its console can block QEMU's
    # main loop (arm64's PL011 writes to the console socket in full, holding the big lock: with
    # an early console, QMP's handshake timed out); Machine.start() lets it run once both are up.
    # An interactive console is our terminal: nothing to wait for
    if spec.paused or not spec.interactive:
        args.append("-S")
    return args


def early_console(spec: MachineSpec) -> list[str]:
    """The arch's early console on a guest no gdb watches (boot, buddy, drgn), unless the user
    chose one: a kernel that dies before its console is up (``mem=1M``) shows why at once, and
    the console's panic match ends the run. A paused guest (inspect, gdb) has breakpoints on the
    death paths instead (inspector.debug.death), so the command line the model is judged on
    stays as it was."""
    chosen = any(w.startswith(("earlycon", "earlyprintk")) for w in spec.append)
    if spec.paused or not spec.early_console or chosen:
        return []
    return [spec.arch.early_console]


def kernel_args(spec: MachineSpec) -> list[str]:
    cmdline = " ".join([*spec.arch.cmdline(), *early_console(spec), *spec.append])
    return ["-kernel", str(spec.kernel), "-initrd", str(spec.initrd), "-append", cmdline]


def qemu_argv(spec: MachineSpec, paths: RunPaths) -> list[str]:
    return [
        qemu_binary(spec.arch),
        *machine_args(spec),
        *memory_args(spec),
        *numa_args(spec.topology, backing_files(spec.ram_file, spec.ram_fds, spec.topology)),
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-no-reboot",
        *kernel_args(spec),
        *console_args(spec, paths),
        *control_args(spec, paths),
        *spec.extra,
    ]
