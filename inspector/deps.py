"""``mm-inspector deps``: the system packages mm-inspector runs (QEMU, gdb-multiarch, the cross
compiler, Debian's kernel sources), the arm64 busybox it puts in guests, and where a Linux 4.7
source comes from. ``--check`` says what is missing, one line each with the package that brings
it; without it, installs what is missing (as root, or through sudo) and downloads the arm64
busybox into the cache. ``scripts/deps.sh`` (``make deps``) calls it with the system Python
before the virtualenv exists, so this module imports nothing outside the standard library and
``inspector.paths``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from inspector.paths import cache_dir


@dataclass(frozen=True)
class Package:
    name: str  # the Debian package
    why: str  # what mm-inspector does with it


PACKAGES: tuple[Package, ...] = (
    Package("qemu-system-x86", "boots x86_64 guests (qemu-system-x86_64)"),
    Package("qemu-system-arm", "boots arm64 guests (qemu-system-aarch64)"),
    Package("gdb-multiarch", "the debugger every stop goes through"),
    Package("gcc", "builds x86_64 kernels"),
    Package("make", "builds kernels"),
    Package("flex", "builds kernels (Kconfig)"),
    Package("bison", "builds kernels (Kconfig)"),
    Package("bc", "builds kernels"),
    Package("libelf-dev", "builds kernels (objtool)"),
    Package("libssl-dev", "builds kernels (sign-file)"),
    Package("cpio", "packs the guests' initramfs"),
    Package("xz-utils", "unpacks kernel sources"),
    Package("kmod", "builds kernels (depmod)"),
    Package("gcc-aarch64-linux-gnu", "builds arm64 kernels"),
    Package("binutils-aarch64-linux-gnu", "builds arm64 kernels"),
    Package("busybox-static", "the x86_64 guests' userland"),
    Package("linux-source-6.12", "the Linux 6.12 source"),
    Package("linux-source-6.1", "the Linux 6.1 source"),
    Package("python3-venv", "the checkout's virtualenv (make deps)"),
    Package("crash", "the crash utility, a peer of the live buddy dump"),
    Package("chromium", "the tests that open report.html as a reader would"),
    Package("chromium-driver", "the tests that open report.html as a reader would"),
    Package("fonts-wqy-microhei", "the walkthrough's Chinese in the browser's screenshots"),
)
BUSYBOX_ARM64 = "busybox-static:arm64"


def debs_dir() -> Path:
    return cache_dir() / "debs"


def installed(pkg: str) -> bool:
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True, check=False
    )
    return proc.returncode == 0 and "install ok installed" in proc.stdout


def arm64_enabled() -> bool:
    proc = subprocess.run(
        ["dpkg", "--print-foreign-architectures"], capture_output=True, text=True, check=False
    )
    return "arm64" in proc.stdout.split()


def busybox_arm64() -> Path | None:
    return next(iter(sorted(debs_dir().glob("busybox-static_*_arm64.deb"))), None)


def source_4_7_line() -> str:
    """Where a 4.7 source comes from, and whether one is at hand (never an error: 4.7's tests
    skip without one)."""
    try:
        from inspector.kernel import source
        from inspector.kernel.versions import V4_7

        why = source.available(V4_7)
    except Exception as e:  # a checkout run before its virtualenv exists
        why = f"not checked here ({type(e).__name__})"
    where = (
        "kernel.org's linux-4.7.tar.xz (pinned sha256, fetched on the first 4.7 build) or, "
        "where kernel.org cannot be reached, KERNEL_SRC_4_7=/path to a linux-4.7 tarball or a "
        "4.7.x tree (remembered in the cache); 4.7's tests skip without one"
    )
    return f"Linux 4.7: {'at hand' if why is None else why}; it comes from {where}"


def missing() -> list[str]:
    """One line per missing thing, naming the package that brings it."""
    if shutil.which("dpkg-query") is None:
        return [
            "dpkg-query: this is not a Debian system; install the equivalents of: "
            + " ".join(p.name for p in PACKAGES)
        ]
    out = [
        f"{p.name}: missing (Debian package {p.name}): {p.why}"
        for p in PACKAGES
        if not installed(p.name)
    ]
    if not arm64_enabled():
        out.append(
            "arm64: dpkg has no arm64 architecture (dpkg --add-architecture arm64), "
            "needed for the arm64 guests' busybox"
        )
    if busybox_arm64() is None:
        out.append(
            f"{BUSYBOX_ARM64}: not in {debs_dir()} (apt-get download {BUSYBOX_ARM64}): "
            "the arm64 guests' userland"
        )
    return out


def _root(argv: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return argv
    if shutil.which("sudo") is None:
        raise SystemExit(f"mm-inspector: error: {' '.join(argv)} needs root: run as root")
    return ["sudo", *argv]


def install(quiet: bool = False) -> int:
    """Install what ``missing()`` names; 0 when nothing is missing afterwards."""
    if shutil.which("dpkg-query") is None:
        print("mm-inspector: error: " + missing()[0], file=sys.stderr)
        return 1
    want = [p.name for p in PACKAGES if not installed(p.name)]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if want or not arm64_enabled():
        if not quiet:
            print(f"deps: installing {' '.join(want) or '(arm64 package index)'}", file=sys.stderr)
        if not arm64_enabled():
            subprocess.run(_root(["dpkg", "--add-architecture", "arm64"]), check=True)
        subprocess.run(_root(["apt-get", "update", "-qq"]), check=True, env=env)
        if want:
            argv = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *want]
            subprocess.run(_root(argv), check=True, env=env, stdout=subprocess.DEVNULL)
    if busybox_arm64() is None:
        if not quiet:
            print(f"deps: downloading {BUSYBOX_ARM64}", file=sys.stderr)
        debs_dir().mkdir(parents=True, exist_ok=True)
        get = ["apt-get", "download", "-qq", BUSYBOX_ARM64]
        if subprocess.run(get, cwd=debs_dir(), check=False).returncode != 0:
            subprocess.run(_root(["apt-get", "update", "-qq"]), check=True)
            subprocess.run(get, cwd=debs_dir(), check=True)
    left = missing()
    for line in left:
        print(f"mm-inspector: error: {line}", file=sys.stderr)
    return 1 if left else 0


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    d = sub.add_parser(
        "deps",
        help="check (--check) or install the system packages and downloads mm-inspector needs",
    )
    d.add_argument("--check", action="store_true", help="only say what is missing (exit 1 if any)")
    d.add_argument("--quiet", action="store_true", help="say nothing when all is there")
    d.set_defaults(func=cmd_deps)


def cmd_deps(args: argparse.Namespace) -> int:
    if not args.check:
        return install(args.quiet)
    left = missing()
    for line in left:
        print(f"missing: {line}")
    if not left and not args.quiet:
        print(f"all {len(PACKAGES)} packages and the arm64 busybox are here")
    if not args.quiet:
        print(source_4_7_line())
    return 1 if left else 0


def main(argv: list[str] | None = None) -> int:
    """``python3 -m inspector.deps``: the same command before any virtualenv exists."""
    p = argparse.ArgumentParser(prog="mm-inspector")
    add_parser(p.add_subparsers(dest="cmd", required=True))
    args = p.parse_args(["deps", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.func(args))
    except subprocess.CalledProcessError as e:
        print(
            f"mm-inspector: error: {' '.join(map(str, e.cmd))} failed ({e.returncode})",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
