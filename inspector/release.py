"""Kernel releases as comparable values (as drgn's ``KernelVersion``): ``Release.parse("6.1.192")
< Release.parse("6.12")``. The model's branches, the stop plans and the change records compare
releases, never strings."""

from __future__ import annotations

import re
from dataclasses import dataclass

from inspector.errors import InspectorError

_RELEASE = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True, order=True)
class Release:
    """``major.minor[.patch]``; a release without a patch level sorts as its ``.0``."""

    major: int
    minor: int
    patch: int = 0

    @classmethod
    def parse(cls, text: str) -> Release:
        """``"6.1"``, ``"6.1.192"``, ``"v5.10-rc1"``, ``"4.19.0-21-amd64"``, ``"4.7.4-casio"``."""
        m = _RELEASE.match(text.strip())
        if not m:
            raise InspectorError(f"{text!r} is not a kernel release (like 6.1 or 5.10.0-21-amd64)")
        return cls(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))

    @property
    def series(self) -> Release:
        """The release without its patch level: 6.1.192 → 6.1."""
        return Release(self.major, self.minor)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}" + (f".{self.patch}" if self.patch else "")


def release(text: str | Release) -> Release:
    return text if isinstance(text, Release) else Release.parse(text)


def at_least(version: str | Release, major: int, minor: int) -> bool:
    """Is ``version`` (a version name like ``"6.1"``, or a release) ``major.minor`` or later?"""
    return release(version).series >= Release(major, minor)


# The releases each stop plan covers, (first, last, plan): the model is one (inspector.model.linux,
# run at any release), but the capture breaks in functions whose names changed: 4.7's plan while
# free_all_bootmem() is the hand-off (until 4.20, change "stop-renames"), 6.12's from 5.11, where
# its stop names are all there (memmap_init_range() came in 5.11)
FAMILIES: tuple[tuple[Release, Release, str], ...] = (
    (Release(4, 0), Release(4, 19, 999), "4.7"),
    (Release(5, 11), Release(6, 12, 999), "6.12"),
)


def family_of(version: str | Release) -> str:
    """The stop plan (``"4.7"`` or ``"6.12"``) a kernel of ``version`` is captured and judged
    with, or a one-line error naming the nearest covered release."""
    rel = release(version)
    for first, last, family in FAMILIES:
        if first <= rel <= last:
            return family
    edges = [f.series for f, _, _ in FAMILIES] + [last.series for _, last, _ in FAMILIES]

    def distance(edge: Release) -> int:
        return abs((edge.major * 100 + edge.minor) - (rel.major * 100 + rel.minor))

    near = min(edges, key=distance)
    covered = ", ".join(f"{f.series}–{last.series}" for f, last, _ in FAMILIES)
    raise InspectorError(
        f"Linux {rel} is outside the releases mm-inspector models ({covered}): the nearest "
        f"covered release is {near}"
    )
