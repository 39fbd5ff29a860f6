"""Peer oracles: the ``crash`` utility's ``kmem -f``/``kmem -F`` on an ELF core, and drgn's own
port of them (``crash kmem -f`` in drgn.commands) on a live program; both parsed alike.

``kmem -f`` prints, per zone, one row per (order, migratetype) free list in migratetype order:
``AREA SIZE FREE_AREA_STRUCT BLOCKS PAGES``. ``kmem -F`` prints the same lists' ``struct page``
addresses instead of counts.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import drgn
from drgn.commands import run_command

from inspector.errors import InspectorError

# drgn's port adds a NODE column (several nodes) and a MIGRATE column; crash has neither.
_ZONE_ROW = re.compile(r"^\s*(?:(\d+)\s+)?(\d+)\s+([A-Za-z]\w*)\s+(\d+)\s+(\d+)\s+")
_AREA_ROW = re.compile(r"^\s*(\d+)\s+\d+k\s+(?:[A-Z_]+\s+)?([0-9a-f]+)(?:\s+(\d+)\s+(\d+))?\s*$")
_PAGE_ROW = re.compile(r"^([0-9a-f]{8,16})\s*$")
_NR_FREE = re.compile(r"^nr_free_pages: (\d+)\s+\((verified|found (\d+))\)")


@dataclass
class CrashZone:
    node: int
    index: int
    name: str
    size: int
    free: int
    # (order, migratetype index) → block count (-f) or page addresses (-F)
    counts: dict[tuple[int, int], int] = field(default_factory=dict)
    pages: dict[tuple[int, int], list[int]] = field(default_factory=dict)


@dataclass
class CrashFree:
    zones: list[CrashZone]
    nr_free_pages: int | None
    found: int | None  # crash's own sum of the lists (None: "verified", i.e. equal)
    seconds: float = 0.0


def run_crash(vmlinux: Path, core: Path, commands: list[str], timeout: float = 300.0) -> str:
    exe = shutil.which("crash")
    if exe is None:
        raise InspectorError("crash not found on PATH: apt-get install crash")
    script = "\n".join([*commands, "quit"]) + "\n"
    try:
        proc = subprocess.run(
            [exe, "-s", str(vmlinux), str(core)],
            input=script,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise InspectorError(f"crash did not finish within {timeout:.0f} s on {core}") from None
    if "crash: " in proc.stderr and not proc.stdout.strip():
        raise InspectorError(f"crash could not open {core}: {proc.stderr.strip().splitlines()[-1]}")
    if proc.returncode < 0 or "malloc(): " in proc.stderr:
        # crash 8.0.2 (Debian 12) itself aborts on some 6.12 cores (heap corruption in crash)
        last = (proc.stderr.strip().splitlines() or [f"signal {-proc.returncode}"])[-1]
        raise CrashAborted(f"crash aborted on {core}: {last}")
    return proc.stdout


class CrashAborted(InspectorError):
    """The crash utility itself died (not a finding about the guest)."""


def drgn_kmem(prog: drgn.Program, args: str = "-f") -> str:
    """Output of drgn's ``crash kmem <args>`` command on ``prog``."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        run_command(prog, f"crash kmem {args}", globals={})
    return buf.getvalue()


def parse_kmem_free(text: str) -> CrashFree:
    zones: list[CrashZone] = []
    nr_free = found = None
    expect_zone = False
    zone: CrashZone | None = None
    seen: dict[int, int] = {}
    current: tuple[int, int] | None = None
    for line in text.splitlines():
        if line.startswith("ZONE"):
            expect_zone = True
            continue
        if expect_zone and (m := _ZONE_ROW.match(line)):
            node = int(m.group(1)) if m.group(1) else 0
            zone = CrashZone(node, int(m.group(2)), m.group(3), int(m.group(4)), int(m.group(5)))
            zones.append(zone)
            seen, expect_zone, current = {}, False, None
            continue
        if m := _NR_FREE.match(line):
            nr_free = int(m.group(1))
            found = int(m.group(3)) if m.group(3) else None
            continue
        if zone is None or line.startswith("AREA"):
            continue
        if m := _AREA_ROW.match(line):
            order = int(m.group(1))
            mt = seen.get(order, 0)
            seen[order] = mt + 1
            current = (order, mt)
            if m.group(3) is not None:
                zone.counts[current] = int(m.group(3))
            else:
                zone.pages[current] = []
        elif current is not None and (m := _PAGE_ROW.match(line)) and current in zone.pages:
            zone.pages[current].append(int(m.group(1), 16))
    return CrashFree(zones, nr_free, found)
