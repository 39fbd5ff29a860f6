"""A kernel that dies says why, at once: while mm-inspector's gdb drives a boot, breakpoints sit
on the kernel's death paths, and when one is hit the run ends with one line naming what
happened, the message and where (``guest panicked in memblock_alloc_range_nid: "…" (start_kernel
→ setup_arch → …)``), plus the last lines of the kernel's log read from its memory
(inspector.debug.printk), which is all there is when no console was up yet.

The death paths, named as both arches and all three releases name them: ``panic()``
(kernel/panic.c: its format and arguments are still in the argument registers at its first
instruction, so the message is formatted here as vsnprintf() would) and ``die()``, the oops path
(arch/x86/kernel/dumpstack.c, arch/arm64/kernel/traps.c: its first argument is the oops's
name, "Oops", "general protection fault", …).
"""

from __future__ import annotations

import re
from collections.abc import Callable

DEATH_FUNCTIONS = ("panic", "die")
# printk's conversions: flags, width, precision, length, conversion (%p with its extension)
_SPEC = re.compile(r"%([-+ #0]*)(\d+|\*)?(?:\.(\d+|\*))?(hh|h|ll|l|z|t|j)?([diouxXcsp%])(\w*)")
# the letters printk's pointer() takes after %p (lib/vsprintf.c), dropped with the value shown
POINTER_EXTENSIONS = "SsBKRrFfhbMmIiEUdDgGCOxXeNaAptv"
MAX_STRING = 256


def read_string(read: Callable[[int, int], bytes], address: int) -> str:
    """The NUL-terminated string at ``address`` (at most MAX_STRING bytes; '?' if unreadable)."""
    try:
        raw = read(address, MAX_STRING)
    except Exception:
        return "?"
    return raw.split(b"\0", 1)[0].decode(errors="replace")


def format_printk(fmt: str, args: list[int], read: Callable[[int, int], bytes]) -> str:
    """``fmt`` with ``args`` (the argument registers after it) as vsnprintf() prints them: the
    integer conversions at their length, ``%s`` read from guest memory, ``%pa`` the phys_addr_t
    it points to, other ``%p`` extensions as the bare pointer. Arguments past the registers
    (passed on the stack) print as ``?``."""
    values = iter(args)

    def next_value() -> int | None:
        return next(values, None)

    def one(m: re.Match[str]) -> str:
        flags, width, _precision, length, conv, ext = m.groups()
        if conv == "%":
            return "%" + ext
        for star in (width, _precision):
            if star == "*":
                next_value()
        value = next_value()
        if value is None:
            return "?" + ext
        if conv == "s":
            return read_string(read, value) + ext
        if conv == "p":
            if ext.startswith("a"):  # %pa, %pad, %pap: a pointer to the address
                rest = ext[1:]
                rest = rest[1:] if rest[:1] in ("d", "p") else rest
                return f"{int.from_bytes(read(value, 8), 'little'):#018x}" + rest
            return f"{value:#x}" + ext.lstrip(POINTER_EXTENSIONS)
        if conv == "c":
            return chr(value & 0xFF) + ext
        bits = 64 if length in ("l", "ll", "z", "t", "j") else 32 if not length else 16
        value &= (1 << bits) - 1
        if conv in "di" and value >> (bits - 1):
            value -= 1 << bits
        spec = f"{flags}{width if width and width != '*' else ''}"
        text = format(value, spec + {"o": "o", "x": "x", "X": "X"}.get(conv, "d"))
        return text + ext

    return _SPEC.sub(one, fmt).rstrip("\n")


def death_line(function: str, message: str, frames: list[str], at: str | None = None) -> str:
    """One line: what happened, the message, the function that called ``function`` and the
    call chain to it, outermost first (past five calls: the first two and the last three);
    ``at``: where an oops hit (die()'s pt_regs), which names the place instead."""
    callers = [f for f in frames[1:] if f and f != "??"]
    where = at or (callers[0] if callers else "?")
    outer_first = callers[::-1]
    if len(outer_first) > 5:  # the way in (start_kernel → setup_arch) and the last three
        outer_first = [*outer_first[:2], "…", *outer_first[-3:]]
    chain = " → ".join(outer_first)
    what = "panicked" if function == "panic" else "oopsed"
    return f'guest {what} in {where}: "{message}"' + (f" ({chain})" if chain else "")


# die(str, regs, err): where the oops hit is the interrupted pc of its pt_regs
PT_REGS_PC = ("ip", "pc")  # x86_64's pt_regs, arm64's
