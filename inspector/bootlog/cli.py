"""``mm-inspector dmesg LOG…``: a real machine's memory-init boot log, predicted and judged line
by line (inspector.bootlog.judge), one report per log, and over many logs one summary."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from inspector.errors import InspectorError

if TYPE_CHECKING:
    from inspector.bootlog.backports import Explained
    from inspector.bootlog.judge import Judgement


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    d = sub.add_parser(
        "dmesg",
        help="a real machine's boot log: its memory-init lines predicted from its firmware "
        "lines and judged line by line",
    )
    d.add_argument(
        "logs",
        nargs="*",
        help="boot logs (dmesg, journalctl -k, a serial console); - reads standard input; "
        "none: this machine's own (/var/log/dmesg or dmesg)",
    )
    d.add_argument("--json", action="store_true", help="every judgement as JSON")
    d.add_argument("--quiet", action="store_true", help="only the summary over all logs")
    d.add_argument(
        "--explain",
        metavar="PATH",
        help="where a predicted value came from, down to the log's lines: node0.Normal."
        "present_pages, node[1].node_present_pages; 'list' lists the paths",
    )
    d.add_argument(
        "--boot",
        action="store_true",
        help="replay the log's memory map in a QEMU guest (x86_64), inspect and compare it, "
        "and print the machine's lines beside the replica's",
    )
    d.add_argument("--kver", default="4.7", help="the replica's kernel: 4.7 or 6.12")
    d.add_argument(
        "--with",
        dest="with_",
        action="append",
        default=[],
        metavar="CHANGE",
        help="declare that the kernel has this change although its release does not "
        "(a distribution's backport); repeatable",
    )
    d.add_argument("--without", action="append", default=[], metavar="CHANGE", help="the opposite")
    d.add_argument("--changes", action="store_true", help="list the changes and their releases")
    d.add_argument(
        "--html",
        metavar="FILE",
        help="write the log as the walkthrough's page (one log): the seed's outline at its "
        "release, each step's story in English and Chinese, its lines judged, its numbers' "
        "chains",
    )
    d.set_defaults(func=cmd_dmesg)


def _own_log() -> str:
    import subprocess
    import tempfile

    for p in ("/var/log/dmesg",):
        if Path(p).is_file():
            return p
    try:
        out = subprocess.run(["dmesg"], capture_output=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise InspectorError(
            f"cannot read this machine's log ({e}): give a saved log, e.g. "
            "`journalctl -k -b > boot.log; mm-inspector dmesg boot.log`"
        ) from None
    with tempfile.NamedTemporaryFile("wb", suffix=".dmesg", delete=False) as f:
        f.write(out)
    return f.name


def text(j: Judgement, ex: Explained | None = None) -> str:
    log = j.log
    lines = [f"{log.name}: Linux {log.release} {log.arch}, judged with {j.model}"]
    lines.append("inputs:")
    lines += [f"  {d.text()}" for d in j.inputs]
    for r in j.results:
        mark = "=" if r.equal else "≠"
        where = f"{r.line:6d}" if r.line else "     -"
        if r.equal:
            lines.append(f"  {where} {mark} {r.printed}")
            continue
        lines.append(f"  {where} {mark} printed: {r.printed!s}")
        lines.append(f"         model:   {r.predicted!s}")
        lines += [f"         change: {c}" for c in r.changes]
    lines.append(f"  {'class':20} {'judged':>6} {'equal':>6} {'differ':>6}")
    for cls, (n, e) in j.counts().items():
        lines.append(f"  {cls:20} {n:6d} {e:6d} {n - e:6d}")
    for cls, (n, why) in j.not_judged.items():
        lines.append(f"  not judged: {cls} ({n} line{'s' if n != 1 else ''}): {why}")
    if ex and ex.declarations:
        lines.append(
            f"  {ex.lines} of the {len(j.differences)} differing lines are equal with "
            f"{' '.join(ex.declarations)} (a backport this kernel carries, declared by you)"
        )
    return "\n".join(lines)


def as_json(j: Judgement) -> dict[str, object]:
    return {
        "log": j.log.path,
        "release": j.log.release,
        "arch": j.log.arch,
        "model": j.model,
        "inputs": [d.text() for d in j.inputs],
        "lines": [
            {
                "class": r.cls,
                "line": r.line,
                "printed": r.printed,
                "predicted": r.predicted,
                "equal": r.equal,
                "changes": r.changes,
            }
            for r in j.results
        ],
        "not_judged": {k: {"lines": n, "why": w} for k, (n, w) in j.not_judged.items()},
    }


def explain(j: Judgement, path: str) -> str:
    """The chain of a predicted value as ``mm-inspector explain`` prints it."""
    from inspector.model.provenance import tree_lines
    from inspector.report.explain import normalise

    chains = j.sizing.state.prov.chains
    if path == "list":
        return "\n".join(sorted(p for p in chains if "@" not in p))
    full = normalise(path)
    if full not in chains:
        raise InspectorError(
            f"no predicted value {path!r} for {j.log.name}: `--explain list` lists them"
        )
    return "\n".join(tree_lines(chains, full))


def boot(path: str, kver: str) -> int:
    """``--boot``: the log's map in QEMU, inspected and compared; both logs judged, side by
    side."""
    from inspector.bootlog.judge import JUDGED, judge
    from inspector.bootlog.read import parse, read
    from inspector.bootlog.replica import replica_request
    from inspector.capture.run import inspect
    from inspector.compare import compare
    from inspector.kernel.source import get_version
    from inspector.vm.machine import new_run_dir

    log = read(path)
    real = judge(log)
    req, r = replica_request(log, get_version(kver))
    print(f"replica of {log.name} on Linux {kver}: {r.describe()}")
    for note in r.notes:
        print(f"  {note}")
    run_dir = new_run_dir(f"dmesg-boot-{kver}-{log.arch}")
    inspect(req, run_dir, quiet=True)
    result = compare(run_dir)
    replica_log = judge(parse((run_dir / "dmesg.txt").read_text(), str(run_dir / "dmesg.txt")))
    print(f"{'machine (Linux ' + log.release + ')':58} | replica (Linux {kver})")
    for cls, _ in JUDGED:
        mine = [x.printed or "" for x in real.results if x.cls == cls and x.printed]
        theirs = [x.printed or "" for x in replica_log.results if x.cls == cls and x.printed]
        for k in range(max(len(mine), len(theirs))):
            a = mine[k] if k < len(mine) else "-"
            b = theirs[k] if k < len(theirs) else "-"
            print(f"{'=' if a == b else '≠'} {a:56} | {b}")
    n = len(result.flat)
    from inspector.report import write_pictures
    from inspector.report.walkthrough import write_report

    write_pictures(run_dir)  # the replica's walkthrough, as inspect writes it
    print(f"walkthrough of the replica: {write_report(run_dir)}", file=sys.stderr)
    print(
        f"machine: {sum(1 for x in real.results if x.equal)}/{len(real.results)} lines as the "
        f"model predicts; replica: {len(replica_log.differences)} log lines and {n} captured "
        f"values differ from the model; run in {run_dir}",
        file=sys.stderr,
    )
    return 1 if n or replica_log.differences else 0


def changes_text() -> str:
    """``dmesg --changes``: the same list as ``mm-inspector changes``."""
    from inspector.kernel_changes import table

    return table.text().rstrip("\n")


def cmd_dmesg(args: argparse.Namespace) -> int:
    from inspector.bootlog.backports import explain_by_backports
    from inspector.bootlog.judge import judge
    from inspector.bootlog.read import read

    if args.changes:
        print(changes_text())
        return 0
    paths = list(args.logs) or [_own_log()]
    declared = {"with_": frozenset(args.with_), "without": frozenset(args.without)}
    if args.boot:
        if len(paths) != 1:
            raise InspectorError("--boot takes one log")
        return boot(paths[0], args.kver)
    if args.html:
        if len(paths) != 1:
            raise InspectorError("--html takes one log")
        from inspector.paths import write_atomic
        from inspector.report.dmesg_page import dmesg_html

        out = Path(args.html)
        write_atomic(out, dmesg_html(judge(read(paths[0]), **declared)))
        print(out)
        return 0
    if args.explain:
        if len(paths) != 1:
            raise InspectorError("--explain takes one log")
        print(explain(judge(read(paths[0]), **declared), args.explain))
        return 0
    judged: list[Judgement] = []
    explained: list[Explained] = []
    refused: list[str] = []
    for p in paths:
        try:
            j = judge(read(p), **declared)
        except InspectorError as err:
            if len(paths) == 1:
                raise
            refused.append(str(err))
            print(f"mm-inspector: {err}", file=sys.stderr)
            continue
        except Exception as err:  # a log this reader does not understand: name it, go on
            if len(paths) == 1:
                raise InspectorError(
                    f"{p}: this log is not understood ({type(err).__name__}: {err}): a reader "
                    "bug, please report it with the log"
                ) from None
            refused.append(f"{p}: {type(err).__name__}: {err}")
            print(
                f"mm-inspector: internal error on {p}: {type(err).__name__}: {err}", file=sys.stderr
            )
            continue
        judged.append(j)
        explained.append(explain_by_backports(j, **declared))
        if args.json:
            continue
        if not args.quiet:
            print(text(j, explained[-1]))
    if args.json:
        json.dump([as_json(j) for j in judged], sys.stdout, indent=1)
        print()
    per: Counter[str] = Counter()
    equal: Counter[str] = Counter()
    for j in judged:
        for cls, (n, e) in j.counts().items():
            per[cls] += n
            equal[cls] += e
    differ = sum(per.values()) - sum(equal.values())
    if len(paths) > 1:
        print(f"{len(judged)} logs judged, {len(refused)} refused:", file=sys.stderr)
        for cls in per:
            print(f"  {cls:20} {per[cls]:7d} judged {equal[cls]:7d} equal", file=sys.stderr)
        by_release: dict[str, list[int]] = {}
        for j in judged:
            key = f"{j.log.version[0]}.{j.log.version[1]} {j.log.arch}"
            row = by_release.setdefault(key, [0, 0, 0])
            row[0] += 1
            row[1] += len(j.results)
            row[2] += sum(1 for r in j.results if r.equal)
        for key in sorted(by_release, key=lambda k: tuple(map(int, k.split()[0].split(".")))):
            n, lines, eq = by_release[key]
            print(f"  {key:20} {n:4d} logs {lines:6d} judged {eq:6d} equal", file=sys.stderr)
        reasons: Counter[str] = Counter()
        for j in judged:
            for cls, (_, why) in j.not_judged.items():
                reasons[f"{cls}: {why}"] += 1
        for why, n in reasons.most_common():
            print(f"  not judged in {n} logs: {why}", file=sys.stderr)
        backports: Counter[str] = Counter()
        for ex in explained:
            backports.update(ex.declarations)
        for decl, n in backports.most_common():
            print(f"  equal in {n} logs with {decl}", file=sys.stderr)
    unexplained = sum(
        ex.left if ex.declarations else len(j.differences)
        for j, ex in zip(judged, explained, strict=True)
    )
    print(
        f"{sum(per.values())} lines judged, {sum(equal.values())} equal, {differ} differ"
        + (
            f" ({differ - unexplained} of them equal with the backports named, "
            f"{unexplained} unexplained)"
            if differ
            else ""
        ),
        file=sys.stderr,
    )
    return 1 if unexplained or (refused and not judged) else 0
