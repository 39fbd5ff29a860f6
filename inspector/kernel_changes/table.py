"""The change records as a learner reads them (``mm-inspector changes``) and as README.md's
table: every change in release order with its first release, its commits and what it alters,
generated from the records so the table cannot drift from what the model does."""

from __future__ import annotations

import json
from dataclasses import asdict

from inspector.kernel_changes import CHANGES, first_release
from inspector.kernel_changes.record import KernelChange

UNPLACED = (99, 99)


def in_release_order() -> list[KernelChange]:
    """Every change, oldest first release first; changes no release places come last."""
    return sorted(CHANGES, key=lambda c: first_release(c) or UNPLACED)


def release_text(change: KernelChange) -> str:
    """``"4.19"``; ``"6.12.118 (stable)"`` where only stable backports place it; ``"?"``."""
    first = first_release(change)
    if first is not None:
        stable = f" (stable: {', '.join(change.backports)})" if change.backports else ""
        return f"{first[0]}.{first[1]}{stable}"
    if change.backports:
        return ", ".join(change.backports) + " (stable)"
    return "?"


def _how_placed(change: KernelChange) -> str:
    if any(c.id and c.release for c in change.commits):
        return "commit"
    if change.since or change.backports:
        return "source/logs"
    return "unplaced"


def text() -> str:
    """One line per change: release, id, behaviour and function, citations."""
    out = []
    for c in in_release_order():
        out.append(f"{release_text(c):>8}  {c.id:34} {c.line()}")
        if c.evidence:
            out.append(f"{'':44}placed by: {c.evidence}")
    return "\n".join(out) + "\n"


def markdown() -> str:
    """README.md's table of changes."""
    rows = [
        "| since | change | what it alters | where | placed by |",
        "|---|---|---|---|---|",
    ]
    for c in in_release_order():
        cites = "; ".join(x.cite() for x in c.commits)
        placed = _how_placed(c) + (f": {cites}" if cites else "")
        what = c.what.replace("|", "\\|")
        rows.append(
            f"| {release_text(c)} | `{c.id}` | {what} | {c.function.replace('|', '/')} "
            f"| {placed.replace('|', '/')} |"
        )
    return "\n".join(rows) + "\n"


def to_json() -> str:
    out = []
    for c in in_release_order():
        d = {k: v for k, v in asdict(c).items() if k not in ("when", "sole_when")}
        d["first_release"] = release_text(c)
        out.append(d)
    return json.dumps(out, indent=1) + "\n"


def write_readme(path: str) -> bool:
    """Rewrite README.md's table between its markers; True when it changed."""
    import re
    from pathlib import Path

    readme = Path(path)
    text = readme.read_text()
    new = re.sub(
        r"<!-- changes:begin -->\n.*?<!-- changes:end -->",
        lambda _: "<!-- changes:begin -->\n" + markdown() + "<!-- changes:end -->",
        text,
        flags=re.S,
    )
    if new != text:
        readme.write_text(new)
    return new != text


if __name__ == "__main__":  # make readme-changes
    import sys

    print("README.md updated" if write_readme(sys.argv[1]) else "README.md already current")
