"""Architectures: immutable records holding what building and booting need.

Modelled on drgn's vmtest ``Architecture`` records and virtme-ng's arch profiles: small pure
functions return argv fragments; nothing here runs a process.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass

from inspector.errors import InspectorError
from inspector.release import Release


@dataclass(frozen=True)
class Arch:
    name: str  # our name, also the kernel-configs fragment name
    kernel_arch: str  # ARCH= for the kernel's make
    cross_compile: str  # CROSS_COMPILE= prefix ("" when native)
    image: str  # bootable image, relative to the build directory
    qemu: str  # QEMU system emulator binary
    machine: str  # default -machine
    cpu: str  # default -cpu
    console: str  # kernel console device
    early_console: str  # the console before the console: earlyprintk (x86), earlycon (DT)
    gdb_arch: str  # gdb's "set architecture"
    busybox_deb_arch: str  # Debian architecture of busybox-static
    ram_base: int  # guest-physical address where RAM starts
    drgn_arch: str  # drgn.Architecture member for DWARF layouts and live programs
    # integer argument registers at a function's first instruction (SysV AMD64, AAPCS64)
    arg_registers: tuple[str, ...]
    # the stack pointer, and where a call leaves the return address at the callee's first
    # instruction: a register (arm64 x30) or, None, the top of the stack (x86_64 call)
    program_counter: str
    stack_pointer: str
    link_register: str | None
    return_register: str  # a function's integer return value (rax, x0)
    # SECTION_SIZE_BITS per kernel version: a macro, absent from DWARF
    # (arch/*/include/asm/sparsemem.h); arm64 went from 30 to 27 with 4K pages in commit
    # f0b13ee23241 "arm64/sparsemem: reduce SECTION_SIZE_BITS" (5.12)
    # (first release, bits), oldest first
    section_size_bits_since: tuple[tuple[Release, int], ...]

    def section_size_bits(self, version: str) -> int:
        """SECTION_SIZE_BITS of a kernel of ``version`` (``"6.1"``, ``"5.10.0-21-amd64"``)."""
        rel = Release.parse(version)
        return [bits for first, bits in self.section_size_bits_since if first <= rel][-1]

    def cross_prefix(self) -> str:
        """CROSS_COMPILE to use on this host (empty when building natively)."""
        host = platform.machine()
        native = {"x86_64": "x86_64", "arm64": "aarch64"}[self.name]
        return "" if host == native else self.cross_compile

    def cmdline(self) -> list[str]:
        """Kernel command-line words every boot of this arch gets.

        The kernel hands unknown ``key=value`` words to init as environment: the glibc tunable
        keeps Debian's static busybox from calling rseq(2), which 4.7 lacks and arm64 4.7 reports
        on the console with a register dump for every process.
        """
        return [
            f"console={self.console}",
            "rdinit=/init",
            "panic=-1",
            "nokaslr",
            "GLIBC_TUNABLES=glibc.pthread.rseq=0",
        ]


X86_64 = Arch(
    name="x86_64",
    kernel_arch="x86_64",
    cross_compile="x86_64-linux-gnu-",
    image="arch/x86/boot/bzImage",
    qemu="qemu-system-x86_64",
    machine="pc",
    cpu="qemu64",
    console="ttyS0",
    early_console="earlyprintk=serial,ttyS0,115200",
    gdb_arch="i386:x86-64",
    busybox_deb_arch="amd64",
    ram_base=0,
    drgn_arch="X86_64",
    arg_registers=("rdi", "rsi", "rdx", "rcx", "r8", "r9"),
    return_register="rax",
    program_counter="rip",
    stack_pointer="rsp",
    link_register=None,
    section_size_bits_since=((Release(2, 6), 27),),
)

ARM64 = Arch(
    name="arm64",
    kernel_arch="arm64",
    cross_compile="aarch64-linux-gnu-",
    image="arch/arm64/boot/Image",
    qemu="qemu-system-aarch64",
    machine="virt",
    cpu="cortex-a57",
    console="ttyAMA0",
    early_console="earlycon",  # the device tree's stdout-path: virt's PL011
    gdb_arch="aarch64",
    busybox_deb_arch="arm64",
    ram_base=0x4000_0000,
    drgn_arch="AARCH64",
    arg_registers=("x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7"),
    return_register="x0",
    program_counter="pc",
    stack_pointer="sp",
    link_register="x30",
    section_size_bits_since=((Release(3, 7), 30), (Release(5, 12), 27)),
)

ARCHES: dict[str, Arch] = {a.name: a for a in (X86_64, ARM64)}


def get_arch(name: str) -> Arch:
    aliases = {"amd64": "x86_64", "x86-64": "x86_64", "aarch64": "arm64"}
    key = aliases.get(name, name)
    if key not in ARCHES:
        raise InspectorError(f"unknown arch {name!r}: choose one of {', '.join(ARCHES)}")
    return ARCHES[key]
