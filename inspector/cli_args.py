"""The command-line arguments that name a kernel and a guest, shared by every subcommand
(``inspector.cli`` and ``inspector.live.cli``), and the BootRequest they make."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from dataclasses import replace
from pathlib import Path

from inspector.arch import get_arch
from inspector.errors import InspectorError
from inspector.kernel.source import get_version, makefile_release
from inspector.kernel.versions import KernelVersion, for_tree
from inspector.vm.guest import DEFAULT_BOOT_TIMEOUT, BootRequest
from inspector.vm.topology import parse_topology


def _opt(value: str | None) -> str | None:
    """Make passes unset variables as empty strings."""
    return value if value not in (None, "") else None


def add_target_args(p: argparse.ArgumentParser, *, arch_required: bool = True) -> None:
    p.add_argument("--arch", required=arch_required, help="x86_64 or arm64")
    p.add_argument(
        "--kver",
        default="4.7",
        help="4.7 (default), 6.1, 6.12, or another release supplied with KERNEL_SRC_<ver>=",
    )
    p.add_argument(
        "--kernel-tree",
        help="your own kernel tree (instead of --kver): built with the project's fragments, "
        "modelled at its own release (4.0-4.19 and 5.11-6.12; others are refused)",
    )
    p.add_argument(
        "--kernel-config",
        help="your own .config for --kernel-tree (checked for the options mm-inspector needs)",
    )


def target_version(args: argparse.Namespace) -> KernelVersion:
    """--kernel-tree (or $KERNEL_TREE) if given, else --kver."""
    tree = _opt(getattr(args, "kernel_tree", None)) or os.environ.get("KERNEL_TREE") or None
    config = _opt(getattr(args, "kernel_config", None)) or os.environ.get("KERNEL_CONFIG") or None
    if config and not tree:
        raise InspectorError("KERNEL_CONFIG is for your own tree: give KERNEL_TREE too")
    if tree:
        path = Path(tree).expanduser()
        if not (path / "Makefile").is_file():
            raise InspectorError(f"--kernel-tree {tree}: no Makefile there: name a Linux tree")
        version = for_tree(str(path.resolve()), makefile_release(path))
        if config:
            if not Path(config).expanduser().is_file():
                raise InspectorError(f"KERNEL_CONFIG={config} is not a file: name a .config")
            version = replace(version, config=str(Path(config).expanduser().resolve()))
        return version
    return get_version(_opt(args.kver) or "4.7")


def add_vm_args(p: argparse.ArgumentParser) -> None:
    add_target_args(p, arch_required=False)  # --dmesg takes it from the log
    p.add_argument(
        "--dmesg",
        help="a real machine's boot log: the guest replays its memory map (its RAM, NUMA "
        "nodes, CPUs, machine and memory options; x86_64), as `dmesg LOG --boot` does",
    )
    p.add_argument("--mem", help="guest RAM, e.g. 1G (default 1G, or the sum of --numa)")
    p.add_argument("--smp", help="CPU count (default 1)")
    p.add_argument("--numa", help="per-node memory, e.g. 512M,512M (0 = memoryless node)")
    p.add_argument("--numa-dist", help="distances, e.g. 0-1=20,0-2=30 (others: 20)")
    p.add_argument("--append", help="extra kernel command line")
    p.add_argument("--machine", help="QEMU machine (default: pc on x86_64, virt on arm64)")
    p.add_argument("--accel", default="tcg", help="tcg (default) or kvm")
    p.add_argument(
        "--tcg-thread",
        choices=("single", "multi"),
        default="single",
        help="TCG: one host thread for all vCPUs (single, default) or one per vCPU (multi)",
    )
    p.add_argument("--timeout", type=float, default=DEFAULT_BOOT_TIMEOUT, help="boot timeout, s")


def boot_request(args: argparse.Namespace, **kw: object) -> BootRequest:
    version = target_version(args)
    try:
        append = tuple(shlex.split(_opt(args.append) or ""))
    except ValueError:
        raise InspectorError(
            f"APPEND={args.append!r} has a quote that does not close: close it, or drop it"
        ) from None
    if log_path := _opt(getattr(args, "dmesg", None)):
        return _replica(args, log_path, version, append, **kw)
    if not _opt(args.arch):
        raise InspectorError("name the guest's arch: --arch x86_64 or arm64 (ARCH=)")
    arch = get_arch(args.arch)
    topo = parse_topology(_opt(args.mem), _opt(args.smp), _opt(args.numa), _opt(args.numa_dist))
    return BootRequest(
        version=version,
        arch=arch,
        topology=topo,
        append=append,
        machine=_opt(args.machine),
        accel=_opt(args.accel) or "tcg",
        tcg_thread=getattr(args, "tcg_thread", "single"),
        timeout=args.timeout,
        **kw,  # type: ignore[arg-type]
    )


def _replica(
    args: argparse.Namespace,
    log_path: str,
    version: KernelVersion,
    append: tuple[str, ...],
    **kw: object,
) -> BootRequest:
    """``--dmesg LOG``: the log's replica (inspector.bootlog.replica), the user's --append
    after its own options."""
    from inspector.bootlog.read import read
    from inspector.bootlog.replica import replica_request

    taken = [f"--{n.replace('_', '-')}" for n in ("mem", "smp", "numa", "numa_dist", "machine")]
    given = [o for o in taken if _opt(getattr(args, o[2:].replace("-", "_"), None))]
    if given:
        raise InspectorError(
            f"--dmesg sets the guest's memory, CPUs, NUMA nodes and machine from the log: drop "
            f"{', '.join(given)}"
        )
    log = read(log_path)
    if _opt(args.arch) and get_arch(args.arch).name != log.arch:
        raise InspectorError(f"--arch {args.arch} but {log.name} is an {log.arch} log: drop --arch")
    req, r = replica_request(
        log,
        version,
        append=append,
        accel=_opt(args.accel) or "tcg",
        tcg_thread=getattr(args, "tcg_thread", "single"),
        timeout=args.timeout,
        **kw,
    )
    print(f"replica of {log.name}: {r.describe()}", file=sys.stderr)
    return req
