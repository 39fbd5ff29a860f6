"""The dmesg judge: the guest's boot log with the serial console's splices undone, the
memory-init lines the model's pattern selects, and those lines held against the model's,
line by line.
"""

from __future__ import annotations

import re

from inspector.compare.fields import Difference
from inspector.model import LOG_LINES_4_7

_TIMESTAMP = re.compile(r"^\[ *\d+\.\d+\] ")
MEMORY_LINE = re.compile(r"^(Memory: \d+K/\d+K available).*")
LOG_NOTE = (
    "the Memory: line is judged up to 'available' (the image's section sizes that follow are "
    "not predicted)"
)


_SPLICE = re.compile(r"\[ *\d+\.\d+\] ")


def unsplice(dmesg: str) -> list[str]:
    """The guest's dmesg as lines, with the console's splices undone: ``dmesg`` runs over the
    serial console, where a message the kernel prints meanwhile (e.g. ``serial8250: too much
    work for irq4``) can land inside a line, even inside its timestamp (``[[    2.2] serial…``).
    Such a line holds a second timestamp: the text before it is the start of a line whose rest
    is the next line (together they make a timestamped line), and the intruding message is
    dropped."""
    lines = dmesg.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _SPLICE.search(line, 1)
        if (
            m
            and i + 1 < len(lines)
            and not _TIMESTAMP.match(lines[i + 1])
            and _TIMESTAMP.match(line[: m.start()] + lines[i + 1])
        ):
            out.append(line[: m.start()] + lines[i + 1])
            i += 2
            continue
        out.append(line)
        i += 1
    return out


def kernel_log_lines(dmesg: str, pattern: re.Pattern[str] = LOG_LINES_4_7) -> list[str]:
    """The memory-init lines of a guest's dmesg that ``pattern`` (the model's) selects, without
    timestamps, in the order printed."""
    out = []
    for raw in unsplice(dmesg):
        line = _TIMESTAMP.sub("", raw)
        if pattern.match(line):
            out.append(MEMORY_LINE.sub(r"\1", line))
    return out


def judge_log(predicted: list[str], printed: list[str]) -> tuple[list[Difference], int]:
    """Line-by-line: a printed line not predicted, or a predicted one not printed, is a
    difference (matched in order, as difflib aligns them). Returns (differences, compared)."""
    import difflib

    out: list[Difference] = []
    sm = difflib.SequenceMatcher(a=predicted, b=printed, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            continue
        for k in range(max(i2 - i1, j2 - j1)):
            a = predicted[i1 + k] if i1 + k < i2 else "missing"
            b = printed[j1 + k] if j1 + k < j2 else "missing"
            out.append(Difference(f"log[{j1 + k}]", a, b, "printk()", "dmesg"))
    return out, max(len(predicted), len(printed))
