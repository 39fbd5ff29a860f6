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
from inspector.versions_diff import VersionsDiff, diff_views, log_rows, view


def diff_models(run_dir: Path, old: str, new: str) -> VersionsDiff:
    """The model at release ``old`` and at ``new`` on ``run_dir``'s inputs (an inspect run, or
    a real machine's boot log: its sizing stage), row by row."""
    a, b = Release.parse(old), Release.parse(new)
    if a == b:
        raise InspectorError(f"--model {old} {new}: name two different releases")
    if run_dir.is_file():
        return _diff_log(run_dir, a, b)
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


def _diff_log(path: Path, a: Release, b: Release) -> VersionsDiff:
    """A boot log's firmware lines sized at two releases: every node and zone size and every
    line the sizing stage prints, each release with exactly the changes it has."""
    from inspector.bootlog.firmware import memory_map
    from inspector.bootlog.judge import sizing_inputs
    from inspector.bootlog.read import read
    from inspector.model.sizing import size

    log = read(str(path))
    mm = memory_map(log)
    views = []
    for rel in (a, b):
        changes = landed(rel)
        inputs, _ = sizing_inputs(log, mm, changes)
        sized = size(dataclasses.replace(inputs, release=str(rel)), changes=changes)
        out: dict[str, object] = {}
        for nid, pgdat in sorted(sized.pgdats.items()):
            out[f"zonelists:node[{nid}].node_spanned_pages"] = pgdat.node_spanned_pages
            for z in pgdat.zones:
                for field in ("spanned_pages", "present_pages", "managed_pages"):
                    out[f"zonelists:node[{nid}].zone[{z.name}].{field}"] = getattr(z, field)
        out.update({f"log:{k}": v for k, v in log_rows("\n".join(sized.log))})
        views.append(out)
    between = landed(max(a, b)) - landed(min(a, b))
    rows = diff_views(views[0], views[1], log.arch, between=between)
    return VersionsDiff(
        log.arch,
        f"the firmware of {path.name}",
        f"sized at {a}",
        f"sized at {b}",
        rows,
        old=str(a),
        new=str(b),
    )


__all__ = ["CHANGES", "diff_models"]
