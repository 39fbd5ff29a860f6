"""The ``mm-inspector`` command. The Makefile calls it; every failure is one line."""

from __future__ import annotations

import argparse
import dataclasses
import errno
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from inspector import __version__
from inspector.arch import get_arch
from inspector.bootlog.cli import add_parser as add_dmesg_parser
from inspector.cli_args import _opt, add_vm_args, boot_request, target_version
from inspector.cli_releases import add_changes_parser, cmd_model_diff
from inspector.completion import add_parser as add_completion_parser
from inspector.deps import add_parser as add_deps_parser
from inspector.errors import InspectorError
from inspector.kernel import source
from inspector.kernel.build import build
from inspector.kernel.source import get_version
from inspector.kernel.versions import VERSIONS
from inspector.live.parsers import add_parsers as add_live_parsers
from inspector.signals import EXIT_INTERRUPTED, INTERRUPTED, install_handlers
from inspector.vm.guest import BootRequest, booted, prepare
from inspector.vm.machine import Machine, new_run_dir
from inspector.vm.qemu import qemu_argv


def cmd_build(args: argparse.Namespace) -> int:
    arches = ["x86_64", "arm64"] if args.arch == "all" else [args.arch]
    if _opt(args.kernel_tree) or os.environ.get("KERNEL_TREE"):
        version = target_version(args)
        for a in arches:
            b = build(version, get_arch(a))
            print(f"{version.tree} {a}: {b.vmlinux} ({b.info()['build_seconds']} s to build)")
        return 0
    kvers = list(VERSIONS) if args.kver == "all" else [args.kver]
    for kver in kvers:
        version = get_version(kver)
        if args.kver == "all" and (why := source.available(version)):
            print(f"skipping Linux {kver}: {why}", file=sys.stderr)
            continue
        for a in arches:
            b = build(version, get_arch(a))
            print(f"{kver} {a}: {b.vmlinux} ({b.info()['build_seconds']} s to build)")
    return 0


def cmd_boot(args: argparse.Namespace) -> int:
    req = boot_request(args)
    run = _opt(args.run)
    if args.show_command:
        _, spec = prepare(req, interactive=run is None)
        print(shlex.join(qemu_argv(spec, Machine(spec, new_run_dir(req.label())).paths)))
        return 0
    if run is None:
        return _interactive(req)
    with booted(req) as guest:
        rc, out = guest.run_rc(run, timeout=args.timeout)
    sys.stdout.write(out)
    return rc


def _interactive(req: BootRequest) -> int:
    _, spec = prepare(req, interactive=True)
    run_dir = new_run_dir(req.label())
    print(
        f"booting; console log in {run_dir}/console.log. Quit: Ctrl-A x (or `exit` at the shell)",
        file=sys.stderr,
    )
    with Machine(spec, run_dir) as m:
        m.wait()
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from inspector.capture.run import inspect
    from inspector.report import write_pictures
    from inspector.report.walkthrough import write_report

    out = inspect(boot_request(args), stop_timeout=args.stop_timeout)
    sys.stdout.write((out.run_dir / "summary.txt").read_text())
    for picture in write_pictures(out.run_dir):
        print(f"picture: {picture}", file=sys.stderr)
    print(f"walkthrough: {write_report(out.run_dir)}", file=sys.stderr)
    print(f"snapshots and guest files in {out.run_dir}", file=sys.stderr)
    return 0


def cmd_gdb(args: argparse.Namespace) -> int:
    from inspector.debug.interactive import gdb_at_stop

    req = dataclasses.replace(boot_request(args), paused=True)
    return gdb_at_stop(req, args.stop, new_run_dir(f"gdb-{req.label()}"), args.ex or [])


def cmd_drgn(args: argparse.Namespace) -> int:
    from inspector.debug.interactive import drgn_shell

    return drgn_shell(boot_request(args), args.ex)


def cmd_report(args: argparse.Namespace) -> int:
    from inspector.report.walkthrough import write_frames, write_report

    print(write_report(Path(args.run_dir), args.lang))
    if args.frames:
        frames = write_frames(Path(args.run_dir), Path(args.frames))
        print(f"{len(frames)} hand-off frames in {args.frames}", file=sys.stderr)
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from inspector.report.explain import explain

    sys.stdout.write(explain(Path(args.run_dir), args.path, args.stop))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from inspector.compare import compare

    try:
        result = compare(Path(args.run_dir))
    except (ValueError, OSError) as e:
        raise InspectorError(f"cannot compare {args.run_dir}: {e}") from None
    sys.stdout.write(result.to_json() if args.json else result.text())
    n = len(result.flat)
    print(f"{n} difference(s) between model and kernel", file=sys.stderr)
    return 1 if n else 0


def cmd_validate(args: argparse.Namespace) -> int:
    import shlex

    from inspector.validate import run_xdist, validate
    from inspector.validate_results import failed, report

    arches = ["x86_64", "arm64"] if args.arch == "all" else [get_arch(args.arch).name]
    pinned = get_version(args.kver)
    # a distribution's kernel runs its family's matrix on itself (workers get the key)
    version = pinned.prebuilt or pinned.name
    if tree := _opt(args.kernel_tree) or os.environ.get("KERNEL_TREE"):
        # the matrix of the tree's model family, every cell on the tree (workers inherit it)
        version = target_version(args).name
        os.environ["KERNEL_TREE"] = str(Path(tree).expanduser().resolve())
    if args.engine == "xdist":
        results, runs, wall = run_xdist(
            version,
            arches,
            jobs=args.jobs,
            only=_opt(args.only),
            xdist_args=shlex.split(args.xdist_args or ""),
        )
    else:
        results, runs, wall = validate(version, arches, jobs=args.jobs, only=_opt(args.only))
    text = report(results, wall)
    (runs / "report.txt").write_text(text + "\n")
    print(text)
    print(f"runs and report.json in {runs}", file=sys.stderr)
    return 1 if failed(results) else 0


def cmd_diff_versions(args: argparse.Namespace) -> int:
    if args.model:
        return cmd_model_diff(args)
    from inspector.versions_diff import diff_runs, diff_versions
    from inspector.vm.machine import new_run_dir

    if args.runs:
        old, new = (Path(r) for r in args.runs)
        result = diff_runs(old, new, "given runs", expect=None)
        sys.stdout.write(result.to_json() if args.json else result.text())
        return 0
    if not args.arch:
        raise InspectorError("diff-versions boots both kernels: name --arch (x86_64, arm64, all)")
    arches = ["x86_64", "arm64"] if args.arch == "all" else [get_arch(args.arch).name]
    topology = " ".join(
        f"--{k.replace('_', '-')} {v}"
        for k in ("mem", "smp", "numa", "numa_dist", "append")
        if (v := _opt(getattr(args, k)))
    )
    for arch in arches:
        args.arch = arch
        reqs = []
        for kver in args.kvers:
            args.kver = kver
            reqs.append(boot_request(args))
        for req in reqs:
            if why := source.available(req.version):
                raise InspectorError(f"diff-versions needs Linux {req.version.name}: {why}")
        out = new_run_dir(f"versions-{arch}")
        result = diff_versions(reqs, out, topology or "defaults", tuple(args.kvers))
        sys.stdout.write(result.to_json() if args.json else result.text())
        print(f"table, JSON and side-by-side memory maps in {out}", file=sys.stderr)
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    for name, version in VERSIONS.items():
        why = source.available(version)
        print(f"{name}: {'available' if why is None else why}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mm-inspector", description=__doc__)
    p.add_argument("--version", action="version", version=f"mm-inspector {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="build (or reuse) a kernel")
    b.add_argument("--arch", required=True, help="x86_64, arm64 or all")
    b.add_argument(
        "--kver", default="4.7", help="4.7, 6.1, 6.12 or all (all skips missing sources)"
    )
    b.add_argument("--kernel-tree", help="build your own kernel tree instead (as --kver's model)")
    b.set_defaults(func=cmd_build)

    s = sub.add_parser("boot", help="boot a guest: a shell, or --run a command and power off")
    add_vm_args(s)
    s.add_argument("--run", help="run this shell command in the guest, print its output, stop")
    s.add_argument("--show-command", action="store_true", help="print the QEMU command line")
    s.set_defaults(func=cmd_boot)

    i = sub.add_parser(
        "inspect", help="boot paused, capture mm init at gdb stops (JSON per stop), then the shell"
    )
    add_vm_args(i)
    i.add_argument(
        "--stop-timeout",
        type=float,
        default=120.0,
        help="seconds to wait for each stop (times the guest's RAM over 64 GiB when larger)",
    )
    i.set_defaults(func=cmd_inspect)

    g = sub.add_parser(
        "gdb",
        help="boot paused and hand the terminal to gdb at a stop, with the mmi commands",
    )
    add_vm_args(g)
    g.add_argument(
        "--stop",
        default="free_area_init_core",
        help="a function of the stop plan or any function of the vmlinux",
    )
    g.add_argument("--ex", action="append", help="a gdb command to run at the stop (repeatable)")
    g.set_defaults(func=cmd_gdb)

    dr = sub.add_parser(
        "drgn", help="boot and open drgn's interactive shell on the guest, set up as buddy is"
    )
    add_vm_args(dr)
    dr.add_argument("--ex", help="evaluate this Python in the drgn session and exit")
    dr.set_defaults(func=cmd_drgn)

    r = sub.add_parser(
        "report", help="report.html: the run walked in the kernel's call order, model beside it"
    )
    r.add_argument("run_dir", help="a run directory written by `inspect`")
    r.add_argument("--frames", help="also write the hand-off frame by frame as SVGs here")
    r.add_argument(
        "--lang", choices=("en", "zh"), default="en", help="the page's language at first (en)"
    )
    r.set_defaults(func=cmd_report)

    e = sub.add_parser(
        "explain",
        help="where a value came from: the model's chain down to the inputs (no PATH: the "
        "paths it can explain)",
    )
    e.add_argument("run_dir", help="a run directory written by `inspect`")
    e.add_argument("path", nargs="?", help="a field path as compare prints it, or node0.DMA.x")
    e.add_argument("--stop", help="the stop (default: the last one that compares the path)")
    e.set_defaults(func=cmd_explain)

    c = sub.add_parser("compare", help="diff the reference model against a capture run dir")
    c.add_argument("run_dir", help="a run directory written by `inspect`")
    c.add_argument("--json", action="store_true", help="differences as JSON")
    c.set_defaults(func=cmd_compare)

    v = sub.add_parser("validate", help="model vs real kernels over a matrix of topologies")
    v.add_argument("--kver", default="4.7", help="kernel version: 4.7, 6.1 or 6.12")
    v.add_argument("--arch", default="all", help="x86_64, arm64 or all")
    v.add_argument(
        "--kernel-tree", help="your own kernel tree, modelled at its own release (not --kver)"
    )
    v.add_argument("--jobs", type=int, default=None, help="cases at once (default: CPUs)")
    v.add_argument(
        "--only", help="run only topologies whose name contains this (comma-separated: any of)"
    )
    v.add_argument(
        "--engine",
        choices=("xdist", "pool"),
        default="xdist",
        help="xdist: the matrix as pytest tests on pytest-xdist, JUnit XML (default); pool: "
        "mm-inspector's own worker pool",
    )
    v.add_argument(
        "--xdist-args",
        help="more pytest-xdist options, e.g. '--tx 2*popen --tx ssh=HOST//python=PY' "
        "to spread the cells over hosts",
    )
    v.set_defaults(func=cmd_validate)

    d = sub.add_parser(
        "diff-versions",
        help="the same topology under Linux 4.7 and 6.12, field by field, each difference "
        "tagged with the kernel change behind it",
    )
    add_vm_args(d)  # --runs and --model take the arch from the run
    d.set_defaults(kver="4.7")
    d.add_argument("--json", action="store_true", help="the table as JSON")
    d.add_argument(
        "--kvers",
        nargs=2,
        default=["4.7", "6.12"],
        metavar=("OLD", "NEW"),
        help="the two built kernels to boot (default 4.7 6.12; 6.1 6.12, …)",
    )
    d.add_argument(
        "--runs", nargs=2, metavar=("RUN_4_7", "RUN_6_12"), help="diff two existing inspect runs"
    )
    d.add_argument(
        "--model",
        nargs=2,
        metavar=("A", "B"),
        help="no boot: the model at releases A and B (6.1 6.12) on --from's inputs",
    )
    d.add_argument(
        "--from", dest="source", help="with --model: an inspect run directory, or a boot log"
    )
    d.set_defaults(func=cmd_diff_versions)

    add_live_parsers(sub)  # buddy, vmcore
    add_dmesg_parser(sub)  # a real machine's boot log
    add_changes_parser(sub)  # the kernel changes, in release order

    src = sub.add_parser("sources", help="which kernel sources are at hand")
    src.set_defaults(func=cmd_sources)
    add_deps_parser(sub)  # the system packages
    add_completion_parser(sub, p)  # shell completion, from this very parser
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m inspector.cli``: handlers after the imports (the console script and ``python
    -m inspector`` install them first: inspector.entry)."""
    install_handlers()
    return run(argv)


def run(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    os.umask(0o077)  # run directories, sockets, RAM files and captures: the user's alone
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except InspectorError as e:
        if e.detail:
            print(e.detail, file=sys.stderr)
        print(f"mm-inspector: error: {e}", file=sys.stderr)
        return e.exit_code
    except BrokenPipeError:  # `mm-inspector … | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as e:  # a full disk, a read-only or vanished directory, …
        where = f" ({e.filename})" if e.filename else ""
        hint = ": free some space" if e.errno == errno.ENOSPC else ""
        print(f"mm-inspector: error: {e.strerror or e}{where}{hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
