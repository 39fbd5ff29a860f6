"""What ``make validate`` reports: one ``Result`` per cell the matrix asked for, whatever became
of it, as a table, ``report.json`` and JUnit XML.

A cell that crashed (an exception that is not a one-line error, a worker that died) or never
reported is a failure like a difference: it is in every output with its outcome, counted in the
last line, and makes the exit status non-zero. Nothing a cell does can make it vanish.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

# A cell's outcome. Every one but PASSED fails the run.
PASSED = "passed"  # the model and the kernel agree on every compared value
DIFFERENCES = "differences"  # they do not
ERROR = "error"  # a one-line error (InspectorError, ValueError): the guest panicked, say
TIMED_OUT = "timed out"  # a stop or the shell was not reached in time
CRASHED = "crashed"  # any other exception, a worker that died, a cell that never reported
OUTCOMES = (PASSED, DIFFERENCES, ERROR, TIMED_OUT, CRASHED)


@dataclass
class Result:
    arch: str
    case: str
    differences: int = -1  # -1: the case did not run to the end
    stops: int = 0
    seconds: float = 0.0
    run_dir: str = ""
    error: str = ""
    details: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. a guest command the kernel oopsed
    compared: dict[str, int] = field(default_factory=dict)  # compared values per class
    outcome: str = CRASHED  # set once the cell knows better; a cell that never ends crashed
    traceback: str = ""  # where a crashed cell's traceback was written

    @property
    def key(self) -> str:
        return f"{self.arch}-{self.case}"


def never_reported(arch: str, case: str, why: str) -> Result:
    """The result of a cell the engine asked for and never heard from."""
    return Result(arch, case, outcome=CRASHED, error=f"never reported: {why}")


def outcome_of(res: Result) -> str:
    """The outcome of a cell that ran to the end: its differences decide."""
    return PASSED if res.differences == 0 else DIFFERENCES


def failed(results: list[Result]) -> bool:
    return any(r.outcome != PASSED for r in results)


def write_report(runs: Path, version: str, wall: float, results: list[Result]) -> None:
    (runs / "report.json").write_text(
        json.dumps(
            {
                "version": version,
                "wall_seconds": round(wall, 1),
                "cells": len(results),
                "outcomes": {o: sum(1 for r in results if r.outcome == o) for o in OUTCOMES},
                "results": [asdict(r) for r in results],
            },
            indent=1,
        )
        + "\n"
    )
    write_junit(runs / "junit.xml", version, wall, results)


def write_junit(path: Path, version: str, wall: float, results: list[Result]) -> None:
    """JUnit XML (xunit2) with one testcase per cell asked for: a difference is a failure, an
    error, a time-out or a crash is an error; each carries the cell's properties."""
    fails = sum(1 for r in results if r.outcome == DIFFERENCES)
    errors = sum(1 for r in results if r.outcome not in (PASSED, DIFFERENCES))
    suite = ET.Element(
        "testsuite",
        name=f"mm-inspector validate {version}",
        tests=str(len(results)),
        failures=str(fails),
        errors=str(errors),
        skipped="0",
        time=f"{wall:.1f}",
    )
    for r in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"validate.{version}.{r.arch}",
            name=r.case,
            time=f"{r.seconds:.1f}",
        )
        props = ET.SubElement(case, "properties")
        for name, value in (
            ("outcome", r.outcome),
            ("run_dir", r.run_dir),
            ("stops", r.stops),
            ("compared", sum(r.compared.values())),
            ("differences", r.differences),
            ("traceback", r.traceback),
        ):
            ET.SubElement(props, "property", name=name, value=str(value))
        if r.outcome == DIFFERENCES:
            first = r.details[0] if r.details else f"{r.differences} differences"
            ET.SubElement(case, "failure", message=first).text = "\n".join(r.details)
        elif r.outcome != PASSED:
            ET.SubElement(case, "error", message=f"{r.outcome}: {r.error}").text = r.error
    root = ET.Element("testsuites")
    root.append(suite)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def report(results: list[Result], wall: float) -> str:
    lines = [f"{'arch':7} {'topology':18} {'stops':>5} {'diffs':>5} {'secs':>6}  outcome"]
    for r in results:
        diffs = "-" if r.differences < 0 else str(r.differences)
        note = r.error or (r.details[0] if r.details else "; ".join(r.warnings))
        head = f"{r.arch:7} {r.case:18} {r.stops:5} {diffs:>5} {r.seconds:6.1f}  {r.outcome}"
        lines.append(head + (f": {note}" if note else ""))
    ok = sum(1 for r in results if r.outcome == PASSED)
    totals: dict[str, int] = {}
    for r in results:
        for k, v in r.compared.items():
            totals[k] = totals.get(k, 0) + v
    if totals:
        lines.append(
            "compared values: "
            + ", ".join(f"{k} {v}" for k, v in sorted(totals.items(), key=lambda kv: -kv[1]))
            + f"; total {sum(totals.values())}"
        )
    tail = [
        f"{n} {word}"
        for o, word in (
            (CRASHED, "crashed"),
            (ERROR, "failed with an error"),
            (TIMED_OUT, "timed out"),
        )
        if (n := sum(1 for r in results if r.outcome == o)) or o == CRASHED
    ]
    lines.append(
        f"{ok}/{len(results)} topologies with 0 differences, {', '.join(tail)}; "
        f"wall time {wall:.0f} s"
    )
    return "\n".join(lines)
