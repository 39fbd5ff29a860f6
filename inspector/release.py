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
