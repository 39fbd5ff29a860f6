"""Field-by-field comparison of two snapshots (model against capture), as text or JSON.

The comparison is strict. Dataclasses are walked recursively; nodes are matched by ``node_id``,
zones by (node, idx), zonelists by (node, kind), free areas by order, pagesets by cpu. A stop, node,
zone, order, CPU or ``globals`` key that one side has and the other lacks is a difference, and so
is a field one side left ``None``, unless ``not_captured()`` declares that field not captured for
that version and arch (every report prints that list). Every difference names its stop, its path
(``node[1].zone[DMA32].managed_pages``), both values, and the kernel function that computes the
field in that kernel version. ``compare_run`` also holds the model's boot-log lines against the
guest's dmesg, line by line.

The judges are modules of their own: ``fields`` (the strict field walk: ``diff``, the ignore
tables, ``function_for``), ``dmesg`` (the boot-log judge), ``trace`` (the ``memblock=debug``
trace judge), ``report`` (text and JSON). This module runs them on one capture run
(``compare``) and re-exports their names.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inspector.compare.dmesg import LOG_NOTE, MEMORY_LINE, judge_log, kernel_log_lines, unsplice
from inspector.compare.fields import (
    CLASSES,
    DEFAULT_IGNORE,
    IGNORED_WHY,
    SKIPPED,
    WMARK_NAMES,
    Difference,
    Skip,
    _walk,
    diff,
    function_for,
    ignored_by_release,
    not_captured,
    value_class,
    why_not_compared,
)
from inspector.compare.report import report_json, report_text
from inspector.compare.trace import (
    TRACE_NOTE,
    kernel_memblock_trace,
    model_memblock_trace,
    trace_note,
)
from inspector.flatten import generic_path
from inspector.model import model_for
from inspector.registry import Role, stop_name
from inspector.rundir import load_run, require_complete
from inspector.schema import Snapshot

__all__ = [
    "CLASSES",
    "DEFAULT_IGNORE",
    "IGNORED_WHY",
    "LOG_NOTE",
    "MEMORY_LINE",
    "SKIPPED",
    "TRACE_NOTE",
    "WMARK_NAMES",
    "Comparison",
    "Difference",
    "Skip",
    "compare",
    "compare_run",
    "diff",
    "function_for",
    "generic_path",
    "ignored_by_release",
    "judge_log",
    "kernel_log_lines",
    "kernel_memblock_trace",
    "main",
    "model_memblock_trace",
    "not_captured",
    "report_json",
    "report_text",
    "trace_note",
    "unsplice",
    "value_class",
    "via",
    "why_not_compared",
]

# Stop 1's snapshot (inspector.registry Role.INPUTS) is the model's input, not a prediction. At
# the hand-off stop memblock and the early allocations' globals are compared; its ``inputs``
# carry the ACPI-parsed later-stop inputs (LATER_INPUTS).


@dataclass
class Comparison:
    """The model against one capture run: differences per stop and what was compared."""

    run_dir: Path
    diffs: dict[str, list[Difference]]
    counts: Counter[str]  # compared values per class
    per_stop: Counter[str]  # compared values per stop
    provenance: str  # one line per model input
    later: dict[str, int]  # later-stop input -> compared values that depend on it
    not_captured: dict[str, str]
    ignored: dict[str, str]
    notes: list[str]
    predicted: dict[str, Snapshot] = field(default_factory=dict)  # the model's snapshots
    predicted_log: list[str] = field(default_factory=list)  # the model's boot-log lines
    handoff_frames: list[Any] = field(default_factory=list)  # spec.HandoffFrame per range
    # stop -> path -> (model, captured): every value compared, as compare names it
    leaves: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)
    # stop -> path -> the model's provenance chain (inspector.model.provenance)
    chains: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def flat(self) -> list[Difference]:
        return [d for ds in self.diffs.values() for d in ds]

    def text(self) -> str:
        lines = []
        for stop, ds in self.diffs.items():
            lines.append(report_text(ds, title=f"{stop} ({self.per_stop[stop]} values)").rstrip())
        lines.append("compared values per class:")
        lines += [f"  {k:20} {v}" for k, v in sorted(self.counts.items())]
        lines.append(f"  {'total':20} {sum(self.counts.values())}")
        lines.append("model inputs:")
        lines.append(self.provenance)
        for name, n in self.later.items():
            lines.append(f"compared values that depend on later-stop input {name}: {n}")
        for what, why in {**self.not_captured, **self.ignored}.items():
            lines.append(f"not compared: {what}: {why}")
        lines += [f"note: {n}" for n in self.notes]
        total = len(self.flat)
        lines.append(f"{total} difference{'s' if total != 1 else ''} between model and kernel")
        return "\n".join(lines) + "\n"

    def to_json(self) -> str:
        return (
            json.dumps(
                {
                    "differences": [dataclasses.asdict(d) for d in self.flat],
                    "compared": dict(self.counts),
                    "later_inputs": self.later,
                    "not_compared": {**self.not_captured, **self.ignored},
                    "notes": self.notes,
                },
                indent=1,
                default=str,
            )
            + "\n"
        )


def compare(run_dir: Path) -> Comparison:
    """Run the model on a capture run's declared inputs and diff every stop, strictly, and the
    boot log against the guest's dmesg."""
    from inspector.errors import InspectorError
    from inspector.model.inputs import LATER_INPUTS, model_inputs

    require_complete(run_dir)
    captured = load_run(run_dir)
    if not captured:
        raise InspectorError(f"{run_dir} holds no snapshots (NN-<stop>.json): not an inspect run")
    version = next(iter(captured.values())).kernel.version
    spec = model_for(version)
    first = stop_name(version, Role.INPUTS)
    inputs = model_inputs(
        run_dir,
        captured,
        first,
        stop_name(version, Role.HANDOFF),
        stop_name(version, Role.ZONELISTS),
    )
    rep = spec.replay(inputs)
    predicted = rep.snapshots
    diffs: dict[str, list[Difference]] = {}
    counts: Counter[str] = Counter()
    per_stop: Counter[str] = Counter()
    leaves: dict[str, dict[str, tuple[Any, Any]]] = {}
    for stop in list(predicted) + [s for s in captured if s not in predicted]:
        if stop == first:  # the model's input, not a prediction
            continue
        if stop not in predicted or stop not in captured:
            d = Difference(
                f"stop[{stop}]",
                "present" if stop in predicted else "missing",
                "present" if stop in captured else "missing",
                "the stop plan",
                stop,
            )
            diffs[stop] = [d]
            counts["stops"] += 1
            per_stop[stop] += 1
            continue
        w = _walk(predicted[stop], captured[stop])
        diffs[stop] = w.out
        leaves[stop] = w.leaves
        counts.update(w.counts)
        per_stop[stop] = sum(w.counts.values())
    dmesg = run_dir / "dmesg.txt"
    if dmesg.exists():
        lines = spec.log_lines_at(inputs.release)
        printed = kernel_log_lines(dmesg.read_text(errors="replace"), lines)
        log_diffs, n = judge_log(rep.log, printed)
    else:
        log_diffs = [Difference("log", "present", "missing (no dmesg.txt)", "printk()", "dmesg")]
        n = 1
    diffs["dmesg"] = log_diffs
    counts["log lines"] += n
    per_stop["dmesg"] = n
    notes = [LOG_NOTE]
    trace = (
        kernel_memblock_trace(dmesg.read_text(errors="replace"), spec.trace_start, spec.trace_end)
        if dmesg.exists()
        else None
    )
    if trace is not None:
        tdiffs, n = judge_log(model_memblock_trace(rep.memblock_calls), trace)
        for d in tdiffs:
            d.path = d.path.replace("log[", "memblock_trace[")
            d.function = "memblock_reserve() / memblock_free()"
            d.stop = "memblock=debug"
        diffs["memblock=debug"] = tdiffs
        counts["memblock trace"] += n
        per_stop["memblock=debug"] = n
        notes.append(trace_note(spec.trace_start, spec.trace_end))
    later = {
        name: sum(per_stop[stop_name(version, role)] for role in LATER_INPUTS[name][1])
        for name in inputs.later()
    }
    for stop, ds in diffs.items():  # name the functions each value's chain passes through
        for d in ds:
            d.via = via(rep.provenance.get(stop, {}), d.path)
    return Comparison(
        run_dir=run_dir,
        diffs=diffs,
        counts=counts,
        per_stop=per_stop,
        provenance=inputs.provenance_text(),
        later=later,
        not_captured=not_captured(version, inputs.arch),
        ignored={**IGNORED_WHY, **ignored_by_release(version)},
        notes=notes,
        predicted=predicted,
        predicted_log=rep.log,
        handoff_frames=rep.handoff_frames,
        leaves=leaves,
        chains=rep.provenance,
    )


def via(chains: dict[str, Any], path: str, most: int = 4) -> str:
    """The distinct kernel functions of ``path``'s chain, nearest first (its own excluded)."""
    from inspector.model.provenance import walk

    names: list[str] = []
    for c in walk(chains, path):
        name = c.function.split(" (")[0]
        if name not in names:
            names.append(name)
    return " <- ".join(names[1 : most + 1])


def compare_run(run_dir: Path) -> dict[str, list[Difference]]:
    """The differences of ``compare(run_dir)``, per stop (and ``dmesg``)."""
    return compare(run_dir).diffs


def main(argv: list[str] | None = None) -> int:
    """``python -m inspector.compare RUN_DIR [--json]``: the model against one capture run."""
    import argparse
    import sys

    p = argparse.ArgumentParser(prog="python -m inspector.compare", description=main.__doc__)
    p.add_argument("run_dir", type=Path, help="a capture run directory (NN-<stop>.json files)")
    p.add_argument("--json", action="store_true", help="print the differences as JSON")
    args = p.parse_args(argv)
    result = compare(args.run_dir)
    sys.stdout.write(result.to_json() if args.json else result.text())
    return 1 if result.flat else 0
