"""The parsers of ``mm-inspector buddy`` and ``vmcore`` (``add_parsers(subparsers)``), apart
from the commands themselves (inspector.live.cli): every other command starts without importing
drgn and numpy."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from inspector.cli_args import add_vm_args


def _lazy(name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from inspector.live import cli

        func: Callable[[argparse.Namespace], int] = getattr(cli, name)
        return func(args)

    return run


def _common(p: argparse.ArgumentParser) -> None:

    add_vm_args(p)
    p.add_argument("--run", help="run this shell command in the guest first (e.g. to fragment)")
    p.add_argument(
        "--derive-vmcoreinfo",
        action="store_true",
        help="build VMCOREINFO from the vmlinux and guest memory even if the guest has one",
    )


def add_parsers(subparsers: Any) -> None:
    b = subparsers.add_parser("buddy", help="live buddy allocator state through drgn")
    _common(b)
    b.add_argument("--blocks", action="store_true", help="list every free block")
    b.add_argument(
        "--scan",
        action="store_true",
        help="find the free lists by scanning the memmap (numpy) instead of walking them",
    )
    b.add_argument("--check", action="store_true", help="check the invariants (exit 1 if not)")
    b.add_argument("--json", metavar="PATH", help="write JSON to PATH ('-' for stdout)")
    b.add_argument("--watch", type=float, metavar="N", help="dump again every N seconds")
    b.add_argument("--node", type=int, help="only this node")
    b.add_argument("--zone", help="only this zone (DMA, DMA32, Normal, Movable)")
    b.add_argument("--order", type=int, help="only this order")
    b.add_argument("--mtype", help="only this migratetype (Unmovable, Movable, …; a prefix)")
    b.add_argument("--cpu", type=int, help="only this CPU's per-cpu lists")
    b.add_argument("--pcp-only", action="store_true", help="only the per-cpu lists")
    b.add_argument(
        "--find",
        metavar="ADDR",
        help="where is it: a physical address, pfn:N, va:ADDR or page:ADDR (a struct page)",
    )
    b.set_defaults(func=_lazy("cmd_buddy"))

    v = subparsers.add_parser("vmcore", help="write an ELF core of the guest with VMCOREINFO")
    _common(v)
    v.add_argument("--output", "-o", default="vmcore", help="where to write it (default ./vmcore)")
    v.set_defaults(func=_lazy("cmd_vmcore"))
