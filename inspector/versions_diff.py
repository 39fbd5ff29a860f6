"""``mm-inspector diff-versions``: the same topology under Linux 4.7 and 6.12, side by side.

Both kernels boot the same guest (memory, NUMA, CPUs, command line); each run's snapshots are
reduced to one *view*, a flat table of what the two kernels can both be asked (zones matched by
name, not by index: arm64 6.12 has a DMA32 zone that 4.7 lacks), and the two views are diffed
row by row. Every differing row is tagged with the kernel change(s) that cause it, from
:data:`inspector.kernel_changes.CHANGES`; a row no change explains is tagged ``untagged`` and the
report says how many there are. Pageblocks and free blocks are summarised as counts per
migratetype; memblock.reserved as its region count and size; everything else is compared as the
capture recorded it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from inspector.flatten import log_key, snapshot_rows
from inspector.kernel_changes import CHANGES, KernelChange, changes_for
from inspector.model import MODELS
from inspector.paths import write_atomic
from inspector.pool import worker_pool
from inspector.registry import Role, role_of
from inspector.rundir import load_run, require_complete
from inspector.schema import Snapshot

OLD, NEW = "4.7", "6.12"
# The memory-init boot-log lines both versions are asked about: what either model predicts.
LOG_LINES = tuple(spec.log_lines for spec in MODELS.values())
_TIMESTAMP = re.compile(r"^\[ *\d+\.\d+\] ")


@dataclass
class Row:
    """One observable both kernels were asked about: its value under each (None: absent)."""

    key: str  # "<role>:<path>", e.g. "wmarks:node[0].zone[DMA32].watermark[low]"
    old: Any
    new: Any
    changes: list[str] = field(default_factory=list)  # KernelChange ids

    @property
    def differs(self) -> bool:
        return bool(self.old != self.new)


@dataclass
class VersionsDiff:
    """One topology under both kernels."""

    arch: str
    topology: str
    old_run: str
    new_run: str
    rows: list[Row]
    old: str = OLD  # the two releases' labels
    new: str = NEW

    @property
    def differences(self) -> list[Row]:
        return [r for r in self.rows if r.differs]

    @property
    def untagged(self) -> list[Row]:
        return [r for r in self.differences if not r.changes]

    def text(self, *, width: int = 28) -> str:
        diffs = self.differences
        lines = [
            f"{self.arch} {self.topology}: Linux {self.old} ({self.old_run}) vs {self.new} "
            f"({self.new_run})",
            f"{len(self.rows)} observables compared, {len(diffs)} differ",
            f"{'observable':60} {self.old:>{width}} {self.new:>{width}}  kernel change",
        ]
        for r in diffs:
            tags = ", ".join(r.changes) or "untagged"
            lines.append(f"{r.key:60} {_cell(r.old):>{width}} {_cell(r.new):>{width}}  {tags}")
        used = Counter(c for r in diffs for c in r.changes)
        lines.append("kernel changes (rows explained):")
        for change in CHANGES:
            if used[change.id]:
                lines.append(f"  {change.id} ({used[change.id]}): {change.line()}")
        lines.append(f"{len(self.untagged)} differing observables no kernel change explains")
        return "\n".join(lines) + "\n"

    def to_json(self) -> str:
        used = {c for r in self.differences for c in r.changes}
        return (
            json.dumps(
                {
                    "arch": self.arch,
                    "topology": self.topology,
                    "runs": {self.old: self.old_run, self.new: self.new_run},
                    "compared": len(self.rows),
                    "differences": [asdict(r) for r in self.differences],
                    "changes": {c.id: asdict(c) for c in CHANGES if c.id in used},
                },
                indent=1,
                default=str,
            )
            + "\n"
        )


def _cell(v: Any) -> str:
    if v is None:
        return "(absent)"
    s = str(v)
    return s if len(s) <= 28 else s[:25] + "..."


def _globals_first(rows: dict[str, Any]) -> dict[str, Any]:
    """A global at the first stop that carries it only (later stops repeat it)."""
    seen: set[str] = set()
    out = {}
    for key, value in rows.items():
        _role, path = key.split(":", 1)
        if path.startswith("globals["):
            if path in seen:
                continue
            seen.add(path)
        out[key] = value
    return out


def log_rows(dmesg: str) -> Iterator[tuple[str, Any]]:
    """Memory-init boot-log lines, keyed by their text with the numbers taken out (the n-th
    line of that shape), valued by the line as printed."""
    seen: Counter[str] = Counter()
    for raw in dmesg.splitlines():
        line = _TIMESTAMP.sub("", raw).rstrip()
        if not any(p.match(line) for p in LOG_LINES):
            continue
        shape = log_key(line).removeprefix("log:")
        seen[shape] += 1
        yield f"{shape} #{seen[shape]}", line.split(" available")[0].strip()


def view(snapshots: dict[str, Snapshot], dmesg: str | None) -> dict[str, Any]:
    """One run reduced to the rows both versions are compared on, ``<role>:<path>`` → value."""
    out: dict[str, Any] = {}
    for stop, snap in snapshots.items():
        role = role_of(snap.kernel.version, stop)
        out[f"stop:{role.value}"] = stop
        for path, value in snapshot_rows(role, snap):
            out[f"{role.value}:{path}"] = value
    for path, value in log_rows(dmesg or ""):
        out[f"log:{path}"] = value
    return _globals_first(out)


ROLE_ORDER = ["stop", *(r.value for r in Role), "log"]


def diff_views(
    old: dict[str, Any], new: dict[str, Any], arch: str, *, between: frozenset[str] | None = None
) -> list[Row]:
    """Every row either view has, in stop order, tagged where the two kernels differ; with
    ``between`` (the changes that landed between two releases) only those tag a row."""
    keys = list(dict.fromkeys([*old, *new]))
    keys.sort(key=lambda k: ROLE_ORDER.index(k.split(":", 1)[0]))
    rows = []
    for k in keys:
        row = Row(k, old.get(k), new.get(k))
        if row.differs:
            found = changes_for(row.key, row.old, row.new, arch, among=between)
            row.changes = [c.id for c in found]
        rows.append(row)
    return rows


def _read_dmesg(run: Path) -> str | None:
    p = run / "dmesg.txt"
    return p.read_text(errors="replace") if p.exists() else None


def diff_runs(
    old_run: Path,
    new_run: Path,
    topology: str = "",
    expect: tuple[str, str] | None = (OLD, NEW),
) -> VersionsDiff:
    """Diff an older release's run against a newer one's of the same topology (``expect``:
    the versions they must be; None takes them as they are, older first). Rows are tagged with
    the changes that landed between the two releases; one-line errors otherwise."""
    from inspector.errors import InspectorError
    from inspector.kernel_changes import landed
    from inspector.release import Release

    found = []
    for i, run in enumerate((old_run, new_run)):
        require_complete(run)
        snaps = load_run(run)
        if not snaps:
            raise InspectorError(f"{run} holds no snapshots: name an inspect run directory")
        kernel = next(iter(snaps.values())).kernel
        if expect is not None and kernel.version != expect[i]:
            raise InspectorError(f"{run} is a Linux {kernel.version} run, not {expect[i]}")
        found.append((snaps, kernel, run))
    found.sort(key=lambda f: Release.parse(f[1].release or f[1].version))
    (old, ko, orun), (new, kn, nrun) = found
    if ko.arch != kn.arch:
        raise InspectorError(f"{orun} is {ko.arch} but {nrun} is {kn.arch}")
    between = landed(kn.release or kn.version) - landed(ko.release or ko.version)
    rows = diff_views(
        view(old, _read_dmesg(orun)), view(new, _read_dmesg(nrun)), ko.arch, between=between
    )
    return VersionsDiff(
        ko.arch, topology, str(orun), str(nrun), rows, old=ko.version, new=kn.version
    )


def side_by_side_svg(
    old_run: Path, new_run: Path, versions: tuple[str, str] = (OLD, NEW)
) -> str | None:
    """The two runs' memory maps in one picture, 4.7 left and 6.12 right (None without both)."""
    parts = []
    for run in (old_run, new_run):
        p = run / "memmap.svg"
        if not p.exists():
            return None
        parts.append(p.read_text())
    sizes = [_svg_size(s) for s in parts]
    width = sum(w for w, _ in sizes) + 20
    height = max(h for _, h in sizes) + 30
    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width:.0f}' height='{height:.0f}'>",
        "<rect width='100%' height='100%' fill='white'/>",
    ]
    x = 0.0
    titles = (f"Linux {versions[0]}", f"Linux {versions[1]}")
    for (w, _), text, title in zip(sizes, parts, titles, strict=True):
        body = re.sub(r"^<\?xml[^>]*>\s*", "", text)
        body = body.replace("<svg ", f"<svg x='{x:.0f}' y='30' ", 1)
        out.append(
            f"<text x='{x + 10:.0f}' y='20' font-family='sans-serif' font-size='16' "
            f"font-weight='bold'>{title}</text>"
        )
        out.append(body)
        x += w + 20
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _svg_size(svg: str) -> tuple[float, float]:
    m = re.search(r"<svg[^>]*\bwidth=['\"]([\d.]+)['\"][^>]*\bheight=['\"]([\d.]+)['\"]", svg)
    return (float(m.group(1)), float(m.group(2))) if m else (1400.0, 600.0)


def _inspect_one(args: tuple[Any, Path]) -> Path:
    from inspector.capture.run import inspect
    from inspector.report import write_pictures

    req, run_dir = args
    out = inspect(req, run_dir, quiet=True)
    write_pictures(out.run_dir)
    return Path(out.run_dir)


def diff_versions(
    reqs: list[Any], out_dir: Path, topology: str, versions: tuple[str, str] = (OLD, NEW)
) -> VersionsDiff:
    """Boot the two requests (two guests at once: ``versions``, older first), capture both,
    diff them, and write ``versions.txt``, ``versions.json`` and ``memmap-versions.svg`` into
    ``out_dir``."""
    from inspector.vm.machine import new_run_dir

    dirs = [new_run_dir(f"{r.version.name}-{r.arch.name}", out_dir) for r in reqs]
    with worker_pool(2) as pool:
        old_run, new_run = pool.map(_inspect_one, zip(reqs, dirs, strict=True))
    result = diff_runs(old_run, new_run, topology, expect=versions)
    write_atomic(out_dir / "versions.txt", result.text())
    write_atomic(out_dir / "versions.json", result.to_json())
    svg = side_by_side_svg(old_run, new_run, versions)
    if svg is not None:
        write_atomic(out_dir / "memmap-versions.svg", svg)
    return result


__all__ = [
    "CHANGES",
    "KernelChange",
    "Row",
    "VersionsDiff",
    "diff_runs",
    "diff_versions",
    "diff_views",
    "side_by_side_svg",
    "view",
]
