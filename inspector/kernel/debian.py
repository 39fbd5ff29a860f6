"""Debian's own kernels, unmodified: ``--kver debian:6.12`` or ``debian:6.1`` (``KERNEL=`` in
make). The image package and its ``-dbg`` package (the vmlinux with DWARF) come through apt
(``apt-get download``), only the image, the vmlinux and the config are kept, laid out as a build
directory (``inspector.kernel.build.Build``) so that every command boots and inspects them as it
does a kernel it built. The release the model runs at is the Debian package's upstream version
(6.1.0-50-amd64 is 6.1.176): a stable level decides stable backports.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from inspector.arch import Arch
from inspector.errors import InspectorError
from inspector.paths import cache_dir

SERIES = ("6.1", "6.12")
DEB_ARCH = {"x86_64": "amd64", "arm64": "arm64"}
STAMP = "mm-inspector-build.json"


@dataclass(frozen=True)
class DebianKernel:
    """One Debian kernel ABI: ``linux-image-<abi>-unsigned`` and ``linux-image-<abi>-dbg``."""

    abi: str  # "6.12.118+deb12-amd64", "6.1.0-50-amd64": the kernel's uname -r
    version: str  # the package's version, "6.12.118-1~deb12u1"

    @property
    def upstream(self) -> str:
        """The upstream release the package carries: "6.12.118"."""
        return self.version.split("-")[0].split("~")[0]


def _apt(*argv: str, cwd: Path | None = None) -> str:
    if shutil.which(argv[0]) is None:
        raise InspectorError(f"{argv[0]} not found: Debian's kernels come through apt")
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=cwd)
    if proc.returncode:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise InspectorError(f"`{' '.join(argv)}` failed: {last}")
    return proc.stdout


def newest(series: str, arch: Arch) -> DebianKernel:
    """The newest ABI of ``series`` apt knows for ``arch`` (the plain flavour: not -rt, -cloud)."""
    deb = DEB_ARCH[arch.name]
    names = _apt("apt-cache", "search", "--names-only", f"^linux-image-{re.escape(series)}")
    abi_re = re.compile(
        rf"^linux-image-({re.escape(series)}\.\d+(?:\+deb\d+|-\d+)?-{deb}|"
        rf"{re.escape(series)}\.0-\d+-{deb})-dbg\b"
    )
    abis = [m.group(1) for line in names.splitlines() if (m := abi_re.match(line))]
    if not abis:
        raise InspectorError(
            f"apt knows no linux-image-{series}…-{deb}-dbg: run `apt-get update` (with "
            f"`dpkg --add-architecture {deb}` for another arch's packages)"
        )

    def key(abi: str) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", abi))

    abi = max(abis, key=key)
    show = _apt("apt-cache", "show", f"linux-image-{abi}-dbg:{deb}")
    version = re.search(r"^Version: (\S+)", show, re.M)
    if not version:
        raise InspectorError(f"apt-cache show linux-image-{abi}-dbg gives no version")
    return DebianKernel(abi, version.group(1))


def fetch(series: str, arch: Arch, *, quiet: bool = False) -> tuple[Path, str]:
    """The build directory of Debian's newest ``series`` kernel for ``arch`` (fetched and
    extracted once, then kept), and its upstream release."""
    if series not in SERIES:
        raise InspectorError(f"debian:{series}: Debian's kernels here are debian:6.1, debian:6.12")
    k = newest(series, arch)
    out = cache_dir() / "debian" / f"{k.abi}"
    if (out / STAMP).is_file() and (out / "vmlinux").is_file() and (out / arch.image).is_file():
        return out, k.upstream
    deb = DEB_ARCH[arch.name]
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        work = Path(tmp)
        image_pkg = f"linux-image-{k.abi}-unsigned"
        if not _apt("apt-cache", "search", "--names-only", f"^{re.escape(image_pkg)}$").strip():
            image_pkg = f"linux-image-{k.abi}"
        for pkg in (image_pkg, f"linux-image-{k.abi}-dbg"):
            if not quiet:
                print(f"fetching {pkg} ({deb}) with apt-get download", flush=True)
            _apt("apt-get", "download", f"{pkg}:{deb}", cwd=work)
        debs = sorted(work.glob("*.deb"))
        wanted = (f"./boot/vmlinuz-{k.abi}", f"./boot/config-{k.abi}")
        dbg = f"./usr/lib/debug/boot/vmlinux-{k.abi}"
        for d in debs:
            names = (dbg,) if "-dbg_" in d.name else wanted
            tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(d)], stdout=subprocess.PIPE)
            subprocess.run(["tar", "-x", "-C", str(work), *names], stdin=tar.stdout, check=True)
            tar.wait()
            d.unlink()  # the .deb (1 GB for -dbg) is not kept
        (out / arch.image).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(work / wanted[0]), out / arch.image)
        shutil.move(str(work / wanted[1]), out / ".config")
        shutil.move(str(work / dbg), out / "vmlinux")
    stamp = {
        "debian": {"abi": k.abi, "version": k.version, "upstream": k.upstream},
        "build_seconds": round(time.monotonic() - started, 1),
    }
    (out / STAMP).write_text(json.dumps(stamp, indent=2) + "\n")
    return out, k.upstream
