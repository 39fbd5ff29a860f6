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

from inspector.debug.gdb import GdbSession
from inspector.debug.layout import Layout
from inspector.debug.printk import kernel_log

DEATH_FUNCTIONS = ("panic", "die")
LAST_WORDS = 15  # lines of the kernel's log shown with a death or a stop timeout
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


def death_report(
    gdb: GdbSession, read: Callable[[int, int], bytes], layout: Layout, function: str
) -> str:
    """The line that names a death, read at the death path's first instruction."""
    args = list(gdb.registers(gdb.arch.arg_registers).values())
    first = read_string(read, args[0]) if args else "?"
    message = format_printk(first, args[1:], read) if function == "panic" else first
    at = None
    if function == "die" and len(args) > 1:  # die(str, regs, err): the oops's pc
        member = next(m for m in PT_REGS_PC if layout.has_member("struct pt_regs", m))
        raw = read(args[1] + layout.offsetof("struct pt_regs", member), 8)
        symbol = gdb.console(f"info symbol {int.from_bytes(raw, 'little'):#x}")  # "f + 8 in …"
        at = None if symbol.startswith("No symbol") else symbol.split(" ", 1)[0] or None
    return death_line(function, message, gdb.frames(32), at)


def last_words(console: str, read: Callable[[int, int], bytes], layout: Layout) -> str:
    """The console's tail, then the kernel's log read from its memory (all there is when no
    console was up yet)."""
    try:
        records = kernel_log(read, layout)
    except Exception as e:  # the stub gone, a buffer not set up yet: say so, not crash
        records = [f"(the kernel's log could not be read from its memory: {e})"]
    text = "\n".join(records[-LAST_WORDS:])
    head = "the kernel's log, read from its memory, ends:"
    return (console + "\n" if console else "") + f"{head}\n{text}"
