"""A real machine's boot log as the kernel printed it: ``dmesg``, ``journalctl -k`` or a serial
console's capture, with or without timestamps, syslog levels or journal prefixes, in any byte
encoding (real logs carry non-UTF-8 bytes). Each line keeps its number in the file, so every
input and every judgement can name the line it came from.

The release and the arch come from the log itself: ``Linux version R …`` (init/main.c's
``linux_banner``), and the arch from what only one arch prints (x86's ``BIOS-e820:`` map and
``x86/`` lines; arm64's ``Booting Linux on physical CPU`` and ``Machine model:``/``efi:`` with
``AArch64``/``arm64`` in the banner or the command line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from inspector.errors import InspectorError

# [    0.000000] or [Mon Dec  7 03:32:18 2026] (dmesg -T)
_STAMP = re.compile(r"^\[ *\d+\.\d+\] ?|^\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d [\d:]{8} \d{4}\] ?")
_LEVEL = re.compile(r"^<\d+>")  # syslog level as /dev/kmsg and dmesg -r print it
_LEVEL_WORD = re.compile(r"^(kern|user|daemon)\s*:\s*\w+\s*: ")  # dmesg -x
# journalctl -k: "Dec 07 03:32:18 host kernel: " (short) or ISO timestamps
_JOURNAL = re.compile(
    r"^(?:[A-Z][a-z]{2} [ \d]\d [\d:]{8}|\d{4}-\d{2}-\d{2}T[\d:.,+\-]+) \S+ kernel: "
)
_BANNER = re.compile(r"Linux version (\d+)\.(\d+)(?:\.(\d+))?(\S*)")
_RELEASE_FROM_BANNER = re.compile(r"Linux version (\S+)")
_DEBIAN_STABLE = re.compile(r"#\d+ [^(]*?\bDebian (\d+)\.(\d+)\.(\d+)-")


@dataclass(frozen=True)
class Line:
    number: int  # 1-based line number in the file
    text: str  # without timestamp, level or journal prefix


@dataclass(frozen=True)
class BootLog:
    path: str
    release: str  # "5.4.0-42-generic"
    version: tuple[int, int, int]  # (5, 4, 0)
    arch: str  # "x86_64" | "arm64"
    lines: tuple[Line, ...]
    boots: int = 1  # boots in the file (journalctl -k without -b, a console kept across
    # reboots): ``lines`` are the last one's

    def find(self, pattern: re.Pattern[str]) -> list[tuple[Line, re.Match[str]]]:
        return [(ln, m) for ln in self.lines if (m := pattern.search(ln.text))]

    def first(self, pattern: re.Pattern[str]) -> tuple[Line, re.Match[str]] | None:
        for ln in self.lines:
            if m := pattern.search(ln.text):
                return ln, m
        return None

    @property
    def name(self) -> str:
        return Path(self.path).name if self.path not in ("-", "") else "standard input"


def strip(raw: str) -> str:
    """A line without its timestamp, syslog level or journal prefix."""
    text = _JOURNAL.sub("", raw)
    text = _LEVEL.sub("", text)
    text = _LEVEL_WORD.sub("", text)
    text = _STAMP.sub("", text)
    return text.rstrip("\r\n")


def _arch(texts: list[str], banner: str) -> str | None:
    joined = "\n".join(texts[:4000])
    if re.search(r"BIOS-e820:|^x86/|x86_64|x86-64|AMD64|\.x86_64|-amd64", joined, re.M):
        thirty_two = re.search(r"\bi[3-6]86\b|32-bit|HighMem|highmem|X86_PAE", banner + joined)
        if thirty_two and "x86_64" not in banner and "amd64" not in banner.lower():
            return "i686"
        return "x86_64"
    if re.search(
        r"Booting Linux on physical CPU|aarch64|arm64|AArch64|CPU features: detected",
        banner + "\n" + joined,
    ):
        return "arm64"
    if re.search(r"\bARMv7\b|armv7l|\bi[3-6]86\b|ppc64|s390|riscv|mips", banner + joined):
        return "other"
    return None


def parse(text: str, path: str = "-") -> BootLog:
    """The log in ``text``; a one-line error naming what is wrong when it is not one."""
    raw = text.splitlines()
    lines = tuple(Line(i + 1, strip(r)) for i, r in enumerate(raw))
    texts = [ln.text for ln in lines]
    where = path if path not in ("", "-") else "standard input"
    banner_at = next((i for i, t in enumerate(texts) if _BANNER.search(t)), None)
    if banner_at is None:
        if any("Zone ranges:" in t or "Memory: " in t for t in texts):
            raise InspectorError(
                f"{where}: the log has no 'Linux version' line: its ring buffer wrapped before "
                "it was saved (the start of the boot is lost); save it earlier (journalctl -k "
                "-b, or a bigger log_buf_len=)"
            )
        raise InspectorError(
            f"{where}: not a Linux boot log (no 'Linux version' line): give dmesg, journalctl "
            "-k or a serial console's output"
        )
    banners = [i for i, t in enumerate(texts) if _BANNER.search(t)]
    if len(banners) > 1:
        # several boots in one file: the last one (the others' lines would mix two machines'
        # maps); the judgement declares it
        banner_at = banners[-1]
        lines, texts = lines[banner_at:], texts[banner_at:]
        banner_at = 0
    banner = texts[banner_at]
    m = _BANNER.search(banner)
    assert m is not None
    version = (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
    release = (_RELEASE_FROM_BANNER.search(banner) or m).group(1)
    if (d := _DEBIAN_STABLE.search(banner)) and (int(d[1]), int(d[2])) == version[:2]:
        # Debian names 5.10.70 "5.10.0-9-amd64" and gives the stable level after the build
        # number ("#1 SMP Debian 5.10.70-1"): the level decides a stable backport
        version = (version[0], version[1], int(d[3]))
    arch = _arch(texts, banner)
    if arch is None:
        raise InspectorError(
            f"{where}: cannot tell the arch of Linux {release} from its log (no e820 map, no "
            "arm64 boot line): only x86_64 and arm64 logs are read"
        )
    if arch != "x86_64" and arch != "arm64":
        raise InspectorError(
            f"{where}: Linux {release} is a {arch} kernel: mm-inspector reads 64-bit x86_64 "
            "and arm64 logs only"
        )
    starts = ("Zone ranges:", "Early memory node ranges", "On node 0 totalpages")
    if not any(t.startswith(starts) for t in texts):
        raise InspectorError(
            f"{where}: the log of Linux {release} ends before 'Zone ranges:' (or never printed "
            "it): give the whole boot log (dmesg | head -c is too short)"
        )
    return BootLog(path, release, version, arch, lines, boots=max(1, len(banners)))


def read(path: str) -> BootLog:
    """Read a log file (``-``: standard input) as bytes and decode it leniently."""
    import sys

    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as e:
        raise InspectorError(f"cannot read {path}: {e.strerror or e}") from None
    return parse(data.decode("utf-8", errors="replace"), path)
