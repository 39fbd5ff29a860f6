"""The release commands of the CLI: ``changes`` (every kernel change the model knows, in release
order) and ``diff-versions --model A B`` (the model at two releases on one topology, without
booting)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from inspector.errors import InspectorError


def cmd_changes(args: argparse.Namespace) -> int:
    from inspector.kernel_changes import BY_ID, landed, table

    if args.release:
        have = landed(args.release)
        for c in table.in_release_order():
            mark = "has    " if c.id in have else "has not"
            print(f"{mark}  {table.release_text(c):>8}  {c.id}")
        return 0
    if args.id:
        if args.id not in BY_ID:
            raise InspectorError(f"no change {args.id!r}: `mm-inspector changes` lists them")
        c = BY_ID[args.id]
        print(f"{c.id} (since {table.release_text(c)}): {c.line()}")
        if c.evidence:
            print(f"placed by: {c.evidence}")
        return 0
    out = table.markdown() if args.markdown else table.to_json() if args.json else table.text()
    sys.stdout.write(out)
    return 0


def add_changes_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ch = sub.add_parser(
        "changes",
        help="every kernel change the model knows, in release order: its first release, "
        "commits and what it alters",
    )
    ch.add_argument("id", nargs="?", help="one change, with the evidence that placed it")
    ch.add_argument("--release", help="which changes a release (6.1, 5.10.0-21-amd64) has")
    ch.add_argument("--markdown", action="store_true", help="README.md's table")
    ch.add_argument("--json", action="store_true", help="the records as JSON")
    ch.set_defaults(func=cmd_changes)


def cmd_model_diff(args: argparse.Namespace) -> int:
    """``diff-versions --model A B --from RUN_DIR``."""
    from inspector.releases_diff import diff_models

    old, new = args.model
    if not args.source:
        raise InspectorError(
            "diff-versions --model needs --from RUN_DIR (an inspect run whose stop-1 inputs "
            "both releases are run on) or --from LOG (a real machine's boot log)"
        )
    result = diff_models(Path(args.source), old, new)
    sys.stdout.write(result.to_json() if args.json else result.text())
    return 0
