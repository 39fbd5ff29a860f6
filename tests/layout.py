"""Where QEMU puts each NUMA node's RAM, and which zones that implies — derived from the QEMU
machine's documented memory map and the kernels' zone limits, not from any captured run."""

from __future__ import annotations

from inspector.arch import Arch
from inspector.vm.topology import Topology

G = 1 << 30
M = 1 << 20


def ram_ranges(arch: Arch, machine: str | None, topo: Topology) -> list[list[tuple[int, int]]]:
    """Guest-physical [start, end) ranges of each node's RAM (one node when not NUMA)."""
    sizes = [n.mem for n in topo.nodes] if topo.numa else [topo.mem]
    if arch.name == "arm64":  # virt: RAM is one block from 1 GiB

        def phys(off: int) -> int:
            return arch.ram_base + off

        split = None
    else:
        # QEMU pc/q35 keep the top of the 32-bit space for PCI: RAM beyond "lowmem" moves to 4 GiB.
        machine = machine or arch.machine
        if machine.startswith("q35"):
            lowmem = 2 * G if topo.mem >= 0xB000_0000 else topo.mem
        else:
            lowmem = 3 * G if topo.mem >= 0xE000_0000 else topo.mem
        split = lowmem

        def phys(off: int) -> int:
            return off if off < lowmem else 4 * G + off - lowmem

    out: list[list[tuple[int, int]]] = []
    offset = 0
    for size in sizes:
        ranges: list[tuple[int, int]] = []
        lo, hi = offset, offset + size
        if split is not None and lo < split < hi:
            ranges += [(phys(lo), phys(split - 1) + 1), (phys(split), phys(hi - 1) + 1)]
        elif size:
            ranges.append((phys(lo), phys(hi - 1) + 1))
        out.append(ranges)
        offset = hi
    return out


def zone_limits(arch: Arch, version: str) -> list[tuple[str, int, int]]:
    """(zone, start, end) physical limits of the zones that can hold memory."""
    if arch.name == "x86_64":
        return [("DMA", 0, 16 * M), ("DMA32", 16 * M, 4 * G), ("Normal", 4 * G, 1 << 52)]
    # arm64: ZONE_DMA covers RAM below 4 GiB (4.7: max_zone_dma_phys(); 6.12: zone_dma_limit
    # from DT without dma-ranges is 32 bits, leaving ZONE_DMA32 empty).
    return [("DMA", 0, 4 * G), ("Normal", 4 * G, 1 << 52)]


def expected_zones(
    arch: Arch, version: str, machine: str | None, topo: Topology
) -> dict[int, set[str]]:
    """Node → names of the zones that hold at least 1 MiB of its RAM."""
    out: dict[int, set[str]] = {}
    for nid, ranges in enumerate(ram_ranges(arch, machine, topo)):
        names = set()
        for zone, zlo, zhi in zone_limits(arch, version):
            overlap = sum(max(0, min(hi, zhi) - max(lo, zlo)) for lo, hi in ranges)
            if overlap >= M:
                names.add(zone)
        if names:
            out[nid] = names
    return out
