"""The differences as a report: plain text, one line per difference, or JSON."""

from __future__ import annotations

import dataclasses
import json

from inspector.compare.fields import Difference


def report_text(diffs: list[Difference], *, title: str = "") -> str:
    """A plain-text report: one line per difference, or a line saying there are none."""
    head = f"{title}: " if title else ""
    if not diffs:
        return f"{head}no differences\n"
    lines = [f"{head}{len(diffs)} difference{'s' if len(diffs) != 1 else ''}"]
    lines += ["  " + d.text() for d in diffs]
    return "\n".join(lines) + "\n"


def report_json(diffs: list[Difference]) -> str:
    """The differences as a JSON list of {path, model, captured, function}."""
    return json.dumps([dataclasses.asdict(d) for d in diffs], indent=1) + "\n"
