"""``mm-inspector diff-versions --model A B --from RUN_DIR``: the model run at two releases on one
topology, without booting. The inputs are one inspect run's stop-1 capture and build (declared
as compare declares them); each release runs the model whose branches ask the change records,
and every differing row is tagged with the changes that landed between the two releases and
match it, so a behaviour and its explanation come from the same record."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from inspector.errors import InspectorError
from inspector.kernel_changes import CHANGES, landed
from inspector.model import model_for_release
from inspector.model.inputs import model_inputs
from inspector.registry import Role, stop_name
from inspector.release import Release
from inspector.rundir import load_run, require_complete
from inspector.versions_diff import VersionsDiff, diff_views, view


def diff_models(run_dir: Path, old: str, new: str) -> VersionsDiff:
    """The model at release ``old`` and at ``new`` on ``run_dir``'s inputs, row by row."""
    a, b = Release.parse(old), Release.parse(new)
    if a == b:
        raise InspectorError(f"--model {old} {new}: name two different releases")
    require_complete(run_dir)
    captured = load_run(run_dir)
    if not captured:
        raise InspectorError(f"{run_dir} holds no snapshots: name an inspect run directory")
    kernel = next(iter(captured.values())).kernel
    version = kernel.version
    inputs = model_inputs(
        run_dir,
        captured,
        stop_name(version, Role.INPUTS),
        stop_name(version, Role.HANDOFF),
        stop_name(version, Role.ZONELISTS),
    )
    views = []
    for rel in (a, b):
        spec = model_for_release(rel)
        if spec.version != model_for_release(Release.parse(kernel.release)).version:
            raise InspectorError(
                f"{run_dir} is a Linux {kernel.release} run: its inputs run the model of "
                f"{spec.version}'s family only with a run of that family (take an inspect run "
                f"of KVER={spec.version})"
            )
        replay = spec.replay(dataclasses.replace(inputs, version=spec.version, release=str(rel)))
        views.append(view(replay.snapshots, "\n".join(replay.log)))
    between = landed(max(a, b)) - landed(min(a, b))
    rows = diff_views(views[0], views[1], kernel.arch, between=between)
    return VersionsDiff(
        kernel.arch,
        f"the inputs of {run_dir.name}",
        f"model at {a}",
        f"model at {b}",
        rows,
        old=str(a),
        new=str(b),
    )


__all__ = ["CHANGES", "diff_models"]
