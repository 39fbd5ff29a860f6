"""The machine's memory as its firmware described it, from the log's firmware lines: the model's
inputs for zone sizing, each declared with the line it came from.

x86_64 prints its firmware map: the BIOS/EFI e820 table (``BIOS-e820: [mem A-B] type``), every
later edit of it (``e820: update [mem A-B] usable ==> reserved`` from the MTRR trim and EFI,
``e820: remove [mem A-B] usable``, a ``user:`` map from ``memmap=``/``mem=``), and the NUMA
memory affinities of ACPI's SRAT (``ACPI: SRAT: Node N PXM P [mem A-B]``). memblock.memory is
then what ``e820__memblock_setup()`` (arch/x86/kernel/e820.c) adds: the usable and
reserved-kern ranges, trimmed to whole pages (``memblock_trim_memory()``), each given the node
whose SRAT range holds it (``numa_init()``/``numa_register_memblks()``), or node 0 when the log
says "No NUMA configuration found". max_pfn is the end of the last usable range
(``e820__end_of_ram_pfn()``).

arm64 prints no firmware map: its memblock.memory is taken from the ``Early memory node
ranges`` lines, an input read from an output line, declared as such and then not judged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import pairwise

from inspector.bootlog.read import BootLog
from inspector.errors import InspectorError

PAGE_SHIFT = 12
PAGE = 1 << PAGE_SHIFT
_MEM = r"\[mem (0x[0-9a-fA-F]+)-(0x[0-9a-fA-F]+)\]"
E820_LINE = re.compile(rf"^(?:BIOS|EFI|e820|user)-?e?8?2?0?: {_MEM} (.+?)\s*$")
# the map as the boot code printed it: BIOS-e820 (or Xen: under a Xen dom0)
BIOS_E820 = re.compile(
    rf"^(?:BIOS-e820|Xen|EFI-e820|e820): {_MEM} (usable|reserved|ACPI .+|.+)\s*$"
)
USER_E820 = re.compile(rf"^user: {_MEM} (.+?)\s*$")
UPDATE = re.compile(rf"^e820: update {_MEM} (.+?) ==> (.+?)\s*$")
REMOVE = re.compile(rf"^e820: remove {_MEM} (.+?)\s*$")
SRAT = re.compile(rf"^(?:ACPI: )?SRAT: Node (\d+) PXM (\d+) {_MEM}(.*)$")
NODE_RANGE = re.compile(rf"^  node +(\d+): {_MEM}")
MEMBLOCK_DONE = re.compile(r"^ACPI: RSDP |^ACPI: Early table checksum|^Zone ranges:|^SRAT: PXM")
TRIM_LINE = re.compile(r"^e820: (update \[mem 0x0+-0x0*fff\]|remove \[mem 0x0*a0000-)")
LAST_PFN = re.compile(r"^(?:e820: )?last_pfn = 0x[0-9a-f]+ max_arch_pfn")
NO_NUMA = re.compile(r"^No NUMA configuration found|^Faking a node at")
# nodes the firmware names beyond those with memory: CPUs' affinities (x86 SRAT, arm64 ACPI
# SRAT) and arm64's memoryless nodes as numa_init() reports them
CPU_NODE = re.compile(
    r"^(?:ACPI: NUMA: )?SRAT: PXM \d+ -> (?:APIC|MPIDR) 0x[0-9a-f]+ -> Node (\d+)"
)
MEMORYLESS = re.compile(r"^NUMA: Initmem setup node (\d+) \[<memory-less node>\]")
COMMAND_LINE = re.compile(r"^(?:Command line|Kernel command line): (.*)$")
# the e820 types as e820_print_type() spells them (arch/x86/kernel/e820.c)
USABLE = "usable"
RESERVED_KERN = "reserved-kern"  # printed "usable" too in later kernels: E820_TYPE_RESERVED_KERN


@dataclass(frozen=True)
class Declared:
    """Where an input came from: a firmware line, or an output line taken as an input (then
    not judged)."""

    what: str
    lines: tuple[int, ...]
    from_output: bool = False

    def text(self) -> str:
        if not self.lines:
            if self.what.startswith("declared:"):
                return self.what  # the user's --with/--without: the judgement says it
            return f"{self.what} (assumed: the log does not show it)"
        where = ", ".join(str(n) for n in self.lines[:6]) + (" …" if len(self.lines) > 6 else "")
        kind = "output line(s) taken as input, not judged" if self.from_output else "firmware"
        return f"{self.what}: log line {where} ({kind})"


@dataclass
class MemoryMap:
    """memblock.memory as (start, end, nid) byte ranges, and what the sizing reads besides."""

    memory: list[tuple[int, int, int]]
    max_pfn: int
    cmdline: str
    numa: bool
    declared: list[Declared] = field(default_factory=list)
    cpu_nodes: list[int] = field(default_factory=list)  # nodes named for CPUs
    memoryless: list[int] = field(default_factory=list)  # arm64: nodes numa_init() onlined
    judged_lines: set[int] = field(default_factory=set)  # input lines that are outputs
    # x86: numa_meminfo after numa_cleanup_meminfo(), (start, end, nid): the SRAT's blocks
    # within [0, max_pfn), or dummy_numa_init()'s one node over [0, max_pfn)
    numa_meminfo: list[tuple[int, int, int]] = field(default_factory=list)


def _int(x: str) -> int:
    return int(x, 16)


def _set_type(table: list[list[object]], start: int, end: int, old: str, new: str | None) -> None:
    """e820__range_update()/e820__range_remove(): the part of each ``old`` entry inside
    [start, end) becomes ``new`` (None: removed)."""
    out: list[list[object]] = []
    for s, e, t in table:
        assert isinstance(s, int) and isinstance(e, int) and isinstance(t, str)
        if t != old or e <= start or s >= end:
            out.append([s, e, t])
            continue
        if s < start:
            out.append([s, start, t])
        if new is not None:
            out.append([max(s, start), min(e, end), new])
        if e > end:
            out.append([end, e, t])
    table[:] = sorted(out, key=lambda x: (x[0], x[1]))


def e820_table(log: BootLog) -> tuple[list[tuple[int, int, str]], list[int]]:
    """The e820 table after every edit the log shows, and the lines it came from."""
    table: list[list[object]] = []
    lines: list[int] = []
    user = [(ln, m) for ln, m in log.find(USER_E820)]
    source = user or log.find(BIOS_E820)
    for ln, m in source:
        table.append([_int(m.group(1)), _int(m.group(2)) + 1, m.group(3).strip()])
        lines.append(ln.number)
    first_user = user[0][0].number if user else 0
    # setup_arch() copies the table into memblock (e820__memblock_setup()) after it has found
    # max_pfn and max_low_pfn ("last_pfn = …", once more after an MTRR trim) and before
    # ACPI's tables are read ("ACPI: RSDP …"): edits printed later (EFI's MOK and runtime
    # reservations, say) no longer change memblock.memory
    done = log.first(MEMBLOCK_DONE)
    last = done[0].number if done else len(log.lines) + 1
    pfns = [ln.number for ln, _ in log.find(LAST_PFN) if ln.number < last]
    if pfns:
        last = pfns[-1] + 1
    for ln in log.lines:
        if ln.number < first_user:
            continue
        if ln.number >= last:
            break
        if u := UPDATE.match(ln.text):
            _set_type(table, _int(u.group(1)), _int(u.group(2)) + 1, u.group(3), u.group(4))
            lines.append(ln.number)
        elif r := REMOVE.match(ln.text):
            _set_type(table, _int(r.group(1)), _int(r.group(2)) + 1, r.group(3), None)
            lines.append(ln.number)
    # trim_bios_range() (arch/x86/kernel/setup.c) reserves page 0 and removes the legacy
    # 640K–1M window, printing both at KERN_DEBUG. A log saved without debug lines shows
    # neither: the kernel's edits are then assumed (declared by the caller). A log that shows
    # the window's removal shows what happened to page 0 too (5.10.0–5.10.1x kept it as RAM:
    # "x86/setup: don't remove E820_TYPE_RAM for pfn 0", reverted in a 5.10 stable update)
    if not any(TRIM_LINE.match(ln.text) for ln in log.lines):
        _set_type(table, 0, PAGE, USABLE, "reserved")
        _set_type(table, 0xA0000, 0x100000, USABLE, None)
    return [(int(s), int(e), str(t)) for s, e, t in table], lines  # type: ignore[call-overload]


def _trim(start: int, end: int) -> tuple[int, int] | None:
    """memblock_trim_memory(PAGE_SIZE): whole pages only."""
    s = (start + PAGE - 1) & ~(PAGE - 1)
    e = end & ~(PAGE - 1)
    return (s, e) if s < e else None


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """memblock_add() merges adjacent regions."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(ranges):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def x86_64_memory(log: BootLog) -> MemoryMap:
    table, lines = e820_table(log)
    if not table:
        raise InspectorError(
            f"{log.name}: an x86_64 log without its e820 map (BIOS-e820: lines): give the log "
            "from its first line"
        )
    declared = [Declared("e820 map and its edits", tuple(lines))]
    if not any(TRIM_LINE.match(ln.text) for ln in log.lines):
        declared.append(
            Declared(
                "trim_bios_range()'s edits (page 0 reserved, 640K-1M removed): the log has no "
                "KERN_DEBUG e820 lines",
                (),
            )
        )
    usable = _merge([(s, e) for s, e, t in table if t in (USABLE, RESERVED_KERN)])
    regions = [r for s, e in usable if (r := _trim(s, e))]
    if not regions:
        raise InspectorError(f"{log.name}: its e820 map has no usable RAM: not a boot it can size")
    max_pfn = max(e for _, e in regions) >> PAGE_SHIFT
    srat = log.find(SRAT)
    nodes: list[tuple[int, int, int]] = []
    numa = bool(srat) and not log.first(NO_NUMA)
    if numa:
        for _, m in srat:  # hot-pluggable ranges count too where memory is present
            nodes.append((_int(m.group(3)), _int(m.group(4)) + 1, int(m.group(1))))
        declared.append(Declared("SRAT memory affinities", tuple(ln.number for ln, _ in srat)))
    memory: list[tuple[int, int, int]] = []
    for s, e in regions:
        if not numa:
            memory.append((s, e, 0))
            continue
        # numa_register_memblks(): memblock_set_node() per SRAT range, in address order
        cuts = sorted({s, e, *(x for a, b, _ in nodes for x in (a, b) if s < x < e)})
        for a, b in pairwise(cuts):
            nid = next((n for ns, ne, n in nodes if ns <= a and b <= ne), None)
            if nid is None:
                raise InspectorError(
                    f"{log.name}: memory [{a:#x}-{b - 1:#x}] lies in no SRAT node range: such "
                    "a machine's node map is not derived yet"
                )
            if memory and memory[-1][1] == a and memory[-1][2] == nid:
                memory[-1] = (memory[-1][0], b, nid)
            else:
                memory.append((a, b, nid))
    cmd = log.first(COMMAND_LINE)
    if cmd:
        declared.append(Declared("command line", (cmd[0].number,)))
    cpus = log.find(CPU_NODE) if numa else []
    if cpus:
        declared.append(Declared("SRAT CPU affinities", tuple(ln.number for ln, _ in cpus)))
    high = max_pfn << PAGE_SHIFT
    meminfo = [(s, min(e, high), n) for s, e, n in nodes if s < min(e, high)] if numa else []
    return MemoryMap(
        memory,
        max_pfn,
        cmd[1].group(1) if cmd else "",
        numa,
        declared,
        cpu_nodes=sorted({int(m.group(1)) for _, m in cpus}),
        numa_meminfo=meminfo or [(0, high, 0)],
    )


def arm64_memory(log: BootLog) -> MemoryMap:
    found = log.find(NODE_RANGE)
    if not found:
        raise InspectorError(
            f"{log.name}: an arm64 log without 'Early memory node ranges' lines: arm64 prints "
            "no firmware memory map, and without them its memory is unknown"
        )
    memory = [(_int(m.group(2)), _int(m.group(3)) + 1, int(m.group(1))) for _, m in found]
    nums = tuple(ln.number for ln, _ in found)
    cmd = log.first(COMMAND_LINE)
    declared = [Declared("memblock.memory (Early memory node ranges)", nums, from_output=True)]
    less = log.find(MEMORYLESS)
    if less:
        declared.append(
            Declared(
                "memoryless nodes (NUMA: Initmem setup node N [<memory-less node>])",
                tuple(ln.number for ln, _ in less),
                from_output=True,
            )
        )
    if cmd:
        declared.append(Declared("command line", (cmd[0].number,)))
    return MemoryMap(
        memory,
        max(e for _, e, _ in memory) >> PAGE_SHIFT,
        cmd[1].group(1) if cmd else "",
        len({n for _, _, n in memory}) > 1 or bool(less),
        declared,
        memoryless=sorted({int(m.group(1)) for _, m in less}),
    )


def memory_map(log: BootLog) -> MemoryMap:
    return x86_64_memory(log) if log.arch == "x86_64" else arm64_memory(log)
