"""Memory size, CPU count and NUMA layout of a guest, parsed from the Make/CLI spellings.

``MEM=1G SMP=2 NUMA=512M,512M NUMA_DIST=0-1=20``. A NUMA size of 0 is a memoryless node; a
node may name its CPUs with ``@``: ``NUMA=1G@0-1,0@2,1G@3``. Without ``@`` CPUs go round-robin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from inspector.errors import InspectorError

MiB = 1 << 20
_UNITS = {"": MiB, "K": 1 << 10, "M": MiB, "G": 1 << 30, "T": 1 << 40}
LOCAL_DISTANCE = 10
REMOTE_DISTANCE = 20


def parse_size(text: str, what: str = "size") -> int:
    """``512M`` / ``1G`` / ``1536`` (MiB) to bytes; whole MiB only (QEMU's granularity)."""
    m = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)(?:i?B)?\s*", text, re.I)
    if not m:
        raise InspectorError(f"bad {what} {text!r}: write it like 512M or 2G")
    size = int(m.group(1)) * _UNITS[m.group(2).upper()]
    if size % MiB:
        raise InspectorError(f"bad {what} {text!r}: use whole MiB (e.g. 512M)")
    return size


def format_size(size: int) -> str:
    if size and size % (1 << 30) == 0:
        return f"{size >> 30}G"
    return f"{size // MiB}M"


def _parse_cpus(text: str, smp: int) -> tuple[int, ...]:
    cpus: list[int] = []
    for part in text.split("+"):
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise InspectorError(f"bad CPU list {text!r} in NUMA: write it like @0-1 or @0+2")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        cpus += range(lo, hi + 1)
    bad = [c for c in cpus if c >= smp]
    if bad:
        raise InspectorError(f"NUMA names CPU {bad[0]} but SMP={smp}: raise SMP or fix the list")
    return tuple(cpus)


@dataclass(frozen=True)
class NumaNode:
    nodeid: int
    mem: int  # bytes; 0 for a memoryless node
    cpus: tuple[int, ...]


@dataclass(frozen=True)
class Topology:
    mem: int
    smp: int
    nodes: tuple[NumaNode, ...] = ()
    distances: dict[tuple[int, int], int] = field(default_factory=dict)

    @property
    def numa(self) -> bool:
        return len(self.nodes) > 0

    def describe(self) -> str:
        s = f"MEM={format_size(self.mem)} SMP={self.smp}"
        if self.nodes:
            s += " NUMA=" + ",".join(format_size(n.mem) for n in self.nodes)
        return s


def parse_topology(
    mem: str | None = None,
    smp: int | str | None = None,
    numa: str | None = None,
    numa_dist: str | None = None,
) -> Topology:
    try:
        ncpu = int(smp) if smp is not None and smp != "" else 1
    except ValueError:
        raise InspectorError(f"bad SMP={smp!r}: give a CPU count, like SMP=2") from None
    if ncpu < 1 or ncpu > 4096:  # the kernel's NR_CPUS is checked once it is built
        raise InspectorError(f"bad SMP={smp}: use 1 to 4096 CPUs")
    nodes: list[NumaNode] = []
    if numa:
        specs = [s.strip() for s in numa.split(",")]
        if any(not s for s in specs):
            raise InspectorError(f"bad NUMA={numa!r}: write per-node sizes like 512M,512M")
        parsed = []
        for i, spec in enumerate(specs):
            size_text, _, cpu_text = spec.partition("@")
            size = parse_size(size_text, f"NUMA node {i} size")
            parsed.append((size, _parse_cpus(cpu_text, ncpu) if cpu_text else None))
        auto = [c for c in range(ncpu)] if all(p[1] is None for p in parsed) else []
        for i, (size, cpus) in enumerate(parsed):
            if cpus is None:
                cpus = tuple(c for c in auto if c % len(parsed) == i)
            nodes.append(NumaNode(i, size, cpus))
        if sum(n.mem for n in nodes) == 0:
            raise InspectorError(f"bad NUMA={numa!r}: at least one node needs memory")
        claimed = sorted(c for n in nodes for c in n.cpus)
        if claimed != list(range(ncpu)):
            raise InspectorError(
                f"NUMA CPU lists {claimed} must name each of CPUs 0..{ncpu - 1} exactly once"
            )
    total = sum(n.mem for n in nodes)
    if mem:
        size = parse_size(mem, "MEM")
        if nodes and size != total:
            raise InspectorError(
                f"NUMA sizes add up to {format_size(total)}, not MEM={mem}: "
                "make them add up, or leave MEM out"
            )
    else:
        size = total or (1 << 30)
    distances = _parse_distances(numa_dist, len(nodes)) if numa_dist else {}
    return Topology(size, ncpu, tuple(nodes), distances)


def _parse_distances(text: str, nnodes: int) -> dict[tuple[int, int], int]:
    if nnodes < 2:
        raise InspectorError("NUMA_DIST needs NUMA with two or more nodes")
    given: dict[tuple[int, int], int] = {}
    for part in text.split(","):
        m = re.fullmatch(r"\s*(\d+)-(\d+)=(\d+)\s*", part)
        if not m:
            raise InspectorError(f"bad NUMA_DIST part {part!r}: write it like 0-1=20")
        a, b, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if a >= nnodes or b >= nnodes or a == b:
            raise InspectorError(f"bad NUMA_DIST {part!r}: nodes are 0..{nnodes - 1}, distinct")
        if not LOCAL_DISTANCE < d <= 254:
            raise InspectorError(f"bad NUMA_DIST {part!r}: remote distances are 11..254")
        given[(a, b)] = d
    full: dict[tuple[int, int], int] = {}
    for a in range(nnodes):
        for b in range(nnodes):
            if a != b:
                full[(a, b)] = given.get((a, b), given.get((b, a), REMOTE_DISTANCE))
    return full
