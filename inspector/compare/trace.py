"""The memblock-trace judge: with ``memblock=debug`` the kernel logs every memblock reserve and
free; the ranges it logged between stop 1 and the hand-off, and the model's memblock calls
printed the same way, for ``dmesg.judge_log`` to hold against each other.
"""

from __future__ import annotations

import re
from typing import Any

from inspector.compare.dmesg import _TIMESTAMP, unsplice

# The kernel's own trace of memblock (``memblock=debug``): every reserve and free with its range.
# 4.7 names the frees memblock_free/__memblock_free_early, 6.12 memblock_phys_free.
_TRACE = re.compile(
    r"^\s*(memblock_reserve|memblock_free|memblock_phys_free|__memblock_free_early): "
    r"\[(0x[0-9a-f]+)-(0x[0-9a-f]+)\]"
)
_TRACE_START = re.compile(r"^On node \d+ totalpages:")
_TRACE_END = re.compile(r"^Memory: ")


def trace_note(start: re.Pattern[str], end: re.Pattern[str]) -> str:
    def name(p: re.Pattern[str]) -> str:
        return p.pattern.lstrip("^").replace("\\d+", "N").replace("\\", "").strip()

    return (
        f"memblock=debug: the kernel's reserve/free trace from the first '{name(start)}' to "
        f"'{name(end)}' is held against the model's allocations, range by range"
    )


TRACE_NOTE = trace_note(_TRACE_START, _TRACE_END)


def kernel_memblock_trace(
    dmesg: str, start: re.Pattern[str] = _TRACE_START, end: re.Pattern[str] = _TRACE_END
) -> list[str] | None:
    """The reserve and free ranges the kernel logged between stop 1 and the hand-off (from the
    first line ``start`` matches to the first ``end`` matches after it), or None when the guest
    did not boot with ``memblock=debug``."""
    out: list[str] = []
    started = False
    seen = False
    for raw in unsplice(dmesg):
        line = _TIMESTAMP.sub("", raw)
        if start.match(line):
            started = True
        if started and end.match(line):
            break
        m = _TRACE.match(line)
        if m:
            seen = True
            if started:
                op = "reserve" if m.group(1) == "memblock_reserve" else "free"
                first, last = int(m.group(2), 16), int(m.group(3), 16)
                out.append(f"{op} [{first:#x}-{last + 1:#x})")
    return out if seen else None


def model_memblock_trace(calls: list[Any]) -> list[str]:
    """The model's memblock calls as the kernel's trace prints them: each successful allocation
    reserves its range, each free frees its range."""
    out = []
    for c in calls:
        if c.op == "alloc" and not c.base:
            continue
        op = "reserve" if c.op == "alloc" else "free"
        out.append(f"{op} [{c.base:#x}-{c.base + c.size:#x})")
    return out
