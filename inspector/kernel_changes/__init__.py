"""The upstream changes between Linux 4.7 and 6.12 that alter what mm init leaves behind, each
with the rows of a ``diff-versions`` view it explains.

A change cites its commits as drgn's helpers do (``commit 0123456789ab ("subject")``, first
release), each id and subject checked together against a public citation of that commit (a
``Fixes:`` tag, a ``commit id ("subject")`` reference, a shortlog): the 6.12 tree here is a
tarball without history. Where only a series' subjects could be checked, the subject is given
without an id; where nothing could, only the function and the behaviour. Some entries are not
one commit but a cause both kernels share in kind (their images and early allocations differ
in size): those say so.

A row is explained by every change whose pattern matches its key (``fnmatch``, over
``<role>:<path>``) and whose condition, if any, holds for its two values.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from inspector.kernel_changes.arch import ARCH
from inspector.kernel_changes.page_alloc import PAGE_ALLOC
from inspector.kernel_changes.record import Commit, Condition, KernelChange
from inspector.kernel_changes.sizing import SIZING
from inspector.release import Release

CHANGES: tuple[KernelChange, ...] = (*SIZING, *PAGE_ALLOC, *ARCH)

BY_ID = {c.id: c for c in CHANGES}


def _matches(key: str, pattern: str) -> bool:
    """fnmatch with ``[`` and ``]`` as themselves (keys index with brackets); ``*`` and ``?``
    are the only wildcards."""
    return fnmatchcase(key, pattern.replace("[", "[[]"))


def changes_for(
    key: str, old: Any, new: Any, arch: str, *, among: frozenset[str] | None = None
) -> list[KernelChange]:
    """The changes that explain a differing row on ``arch``: the sole causes that match, if
    any, else every change that matches (only changes in ``among`` when it is given)."""
    out = [
        c
        for c in CHANGES
        if arch in c.arches
        and (among is None or c.id in among)
        and any(_matches(key, p) for p in c.patterns)
        and (c.when is None or c.when(old, new))
    ]
    sole = [c for c in out if c.is_sole(old, new)]
    return sole or out


def release_of(text: str) -> tuple[int, int] | None:
    """``"v4.19-rc1"`` → (4, 19): the first release a commit is in."""
    import re

    m = re.match(r"v?(\d+)\.(\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def first_release(change: KernelChange) -> tuple[int, int] | None:
    """The first release that has ``change`` (its earliest checked commit, else its ``since``),
    None if unknown."""
    found = [r for c in change.commits if (r := release_of(c.release))]
    if not found and (r := release_of(change.since)):
        found = [r]
    return min(found) if found else None


def landed(version: tuple[int, ...] | Release | str) -> frozenset[str]:
    """The changes a kernel of ``version`` (a release, ``"6.1.192"``, or (major, minor[,
    patch])) has, by their first releases and the stable releases that carry them: "does this
    kernel have change X?" for the model's release branches. A change without a placed release
    is in no kernel's set."""
    if isinstance(version, str):
        version = Release.parse(version)
    elif not isinstance(version, Release):
        version = Release(*version[:3])
    mm = (version.major, version.minor)
    return frozenset(c.id for c in CHANGES if _in(c, mm, version))


def _in(change: KernelChange, mm: tuple[int, int], version: Release) -> bool:
    if (first := first_release(change)) is not None and first <= mm:
        return True
    for b in change.backports:
        stable = Release.parse(b)
        if stable.series == version.series and stable <= version:
            return True
    return False


__all__ = [
    "BY_ID",
    "CHANGES",
    "Commit",
    "Condition",
    "KernelChange",
    "changes_for",
    "first_release",
    "landed",
    "release_of",
]
