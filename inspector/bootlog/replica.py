"""A real machine's memory map replayed in QEMU: ``mm-inspector dmesg LOG --boot``.

x86_64 only in this slice. The guest's firmware map is the log's: its usable e820 ranges (after
the edits memblock saw) as ``memmap=exactmap memmap=SIZE@ADDR …``; QEMU's RAM below 4 GiB
ends where the log's last usable range below 4 GiB does (``-machine
pc,max-ram-below-4g=``), the rest lies above 4 GiB as on the machine; its NUMA nodes are the
log's SRAT nodes, each given the RAM QEMU lays out inside that node's SRAT range (QEMU assigns
node 0 the lowest memory, node 1 the next, …); the memory options of the log's command line
(``movablecore=``, ``kernelcore=``) come along. The replica then runs ``inspect`` and
``compare`` on 4.7 or 6.12, and its own log is judged as the machine's was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from inspector.arch import get_arch
from inspector.bootlog.firmware import SRAT, USABLE, MemoryMap, e820_table, memory_map
from inspector.bootlog.read import BootLog
from inspector.errors import InspectorError
from inspector.kernel.versions import KernelVersion
from inspector.vm.guest import BootRequest
from inspector.vm.topology import parse_topology

MiB = 1 << 20
GiB = 1 << 30
FOUR_G = 4 * GiB
LOW_PC_1_7 = 0xE000_0000  # pc_init1()'s lowmem without gigabyte_align (QEMU 7.2)
KEEP_OPTIONS = ("movablecore=", "kernelcore=", "numa_zonelist_order=")
# smpboot: Allowing N CPUs, N hotplug CPUs / setup_percpu: … nr_cpu_ids:N
_CPUS = (
    r"smpboot: Allowing (\d+) CPUs",
    r"setup_percpu: NR_CPUS:\d+ nr_cpumask_bits:\d+ nr_cpu_ids:(\d+)",
)
MAX_REPLICA_CPUS = 8


@dataclass(frozen=True)
class Replica:
    """What QEMU is asked for, and why each piece."""

    mem: int  # bytes of guest RAM
    numa: str | None  # the NUMA= spelling, None without SRAT nodes
    smp: int
    machine: str
    append: tuple[str, ...]
    notes: tuple[str, ...]

    def describe(self) -> str:
        parts = [f"MEM={self.mem // MiB}M", f"SMP={self.smp}", f"MACHINE={self.machine}"]
        if self.numa:
            parts.append(f"NUMA={self.numa}")
        return " ".join(parts) + f" APPEND='{' '.join(self.append)}'"


def _mib_up(x: int) -> int:
    return -(-x // MiB) * MiB


def replica(log: BootLog, mm: MemoryMap) -> Replica:
    if log.arch != "x86_64":
        raise InspectorError(
            f"{log.name}: --boot replays x86_64 logs only so far (arm64 prints no firmware "
            "map to replay)"
        )
    table, _ = e820_table(log)
    usable: list[tuple[int, int]] = []
    for s, e, t in table:  # the kernel's own splits (setup_data) merged back, as memblock does
        if t != USABLE:
            continue
        if usable and usable[-1][1] == s:
            usable[-1] = (usable[-1][0], e)
        else:
            usable.append((s, e))
    if not usable or usable[0][0] > 16 * MiB:
        raise InspectorError(f"{log.name}: no usable RAM below 16 MiB to load the kernel into")
    low = [e for _, e in usable if e <= FOUR_G]
    high = [e for _, e in usable if e > FOUR_G]
    lowmem = _mib_up(max(low))
    highmem = _mib_up(max(high) - FOUR_G) if high else 0
    mem = lowmem + highmem
    if highmem and lowmem > LOW_PC_1_7:
        raise InspectorError(
            f"{log.name}: usable RAM below 4 GiB up to {lowmem:#x}, and QEMU keeps at most "
            "3.5 GiB below 4 GiB when there is RAM above it (pc-i440fx-1.7): this map cannot be "
            "replayed"
        )
    notes = [
        f"RAM below 4 GiB up to {lowmem:#x} (the log's last usable byte below 4 GiB, to a MiB)",
        f"{len(usable)} usable e820 ranges as memmap=exactmap",
    ]
    numa = None
    if mm.numa:
        nodes = sorted(
            {
                (int(m.group(1)), int(m.group(3), 16), int(m.group(4), 16) + 1)
                for _, m in log.find(SRAT)
            },
            key=lambda n: n[1],
        )
        order = [n for n, _, _ in nodes]
        if order != sorted(order) or order[0] != 0:
            raise InspectorError(
                f"{log.name}: its SRAT does not give the nodes memory in node order (by address: "
                f"nodes {', '.join(map(str, dict.fromkeys(order)))}), and QEMU lays node 0's "
                "memory first, then node 1's: this NUMA layout cannot be replayed"
            )
        # node i holds QEMU's RAM from its first SRAT range to the next node's first one
        starts = {n: a for n, a, _ in reversed(nodes)}
        bounds = [0, *[a for n, a in sorted(starts.items()) if n], FOUR_G + highmem]
        sizes: dict[int, int] = {}
        for nid, a, b in zip(sorted(starts), bounds, bounds[1:], strict=False):
            ram = max(0, min(b, lowmem) - a) + max(0, min(b, FOUR_G + highmem) - max(a, FOUR_G))
            sizes[nid] = ram
        if any(v % MiB for v in sizes.values()):
            raise InspectorError(f"{log.name}: an SRAT node boundary inside a MiB: not replayable")
        numa = ",".join(f"{sizes.get(n, 0) // MiB}M" for n in range(max(sizes) + 1))
        notes.append(f"NUMA nodes sized to the RAM QEMU lays out in each SRAT range: {numa}")
    smp = 1
    for pattern in _CPUS:
        if found := log.first(re.compile(pattern)):
            smp = int(found[1].group(1))
            break
    if smp > MAX_REPLICA_CPUS:
        notes.append(f"{smp} CPUs on the machine, {MAX_REPLICA_CPUS} in the replica")
        smp = MAX_REPLICA_CPUS
    if numa:
        smp = max(smp, sum(1 for x in numa.split(",") if x != "0M"))
    append = ["memmap=exactmap", *(f"memmap={e - s:#x}@{s:#x}" for s, e in usable)]
    append += [w for w in mm.cmdline.split() if w.startswith(KEEP_OPTIONS)]
    # QEMU's current pc machines keep at most 3 GiB below 4 GiB when RAM goes above it
    # (gigabyte_align); the 1.7 machine type, up to 3.5 GiB
    kind = "pc" if lowmem <= 3 * GiB else "pc-i440fx-1.7"
    machine = f"{kind},max-ram-below-4g={lowmem // MiB}M" if highmem else "pc"
    if kind != "pc" and highmem:
        notes.append(f"machine {kind}: more than 3 GiB below 4 GiB needs gigabyte_align off")
    if numa:
        numa = ",".join("0" if x == "0M" else x for x in numa.split(","))
    return Replica(mem, numa, smp, machine, tuple(append), tuple(notes))


def replica_request(
    log: BootLog, version: KernelVersion, *, append: tuple[str, ...] = (), **kw: object
) -> tuple[BootRequest, Replica]:
    """The boot of ``log``'s replica on ``version`` (``--boot``, and ``--dmesg LOG`` on every
    command that boots): its RAM, CPUs, NUMA nodes, machine and memory options, then the
    user's own ``append``."""
    r = replica(log, memory_map(log))
    mem = None if r.numa else f"{r.mem >> 20}M"
    req = BootRequest(
        version,
        get_arch(log.arch),
        parse_topology(mem, r.smp, r.numa, None),
        append=r.append + append,
        machine=r.machine,
        **kw,  # type: ignore[arg-type]
    )
    return req, r
