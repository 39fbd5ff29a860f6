"""Finding, checking and unpacking kernel source trees into the cache.

6.12 and 6.1 come from Debian's ``linux-source-6.12`` and ``linux-source-6.1`` packages. 4.7
comes from ``$KERNEL_SRC_4_7`` (a tarball or a directory), from a tree supplied earlier and
remembered in the cache, or from kernel.org with a pinned checksum. Trees are unpacked to a
temporary name and renamed into place, so an interrupted unpack never looks like a source tree.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path

from inspector.errors import InspectorError
from inspector.kernel.versions import VERSIONS, KernelVersion, for_tree
from inspector.paths import cache_dir

# sha256 of kernel.org's linux-4.7.tar.xz, as pinned by two independent public recipes:
# nixpkgs' pkgs/os-specific/linux/kernel/linux-4.7.nix and openembedded-core's
# linux-libc-headers_4.7.bb (SRC_URI[sha256sum]); both agree.
LINUX_4_7_SHA256 = "5190c3d1209aeda04168145bf50569dc0984f80467159b1dc50ad731e3285f10"
LINUX_4_7_TARBALL = "linux-4.7.tar.xz"
KERNEL_ORG = "https://cdn.kernel.org/pub/linux/kernel/v4.x"
# the versions Debian packages the source of (``mm-inspector deps`` installs them)
DEBIAN_TARBALLS = {v: Path(f"/usr/src/linux-source-{v}.tar.xz") for v in ("6.12", "6.1")}

MARKER = ".mm-inspector-source.json"


@dataclass(frozen=True)
class SourceTree:
    version: KernelVersion
    path: Path
    release: str  # VERSION.PATCHLEVEL.SUBLEVEL + EXTRAVERSION, from the tree's Makefile
    origin: str  # where it came from (for the build key and for messages)


def makefile_release(tree: Path) -> str:
    """``4.7.4-casio-testing``-style release read from a tree's top Makefile."""
    try:
        text = (tree / "Makefile").read_text(errors="replace")[:2000]
    except OSError as e:
        raise InspectorError(f"{tree} is not a kernel source tree (no Makefile): {e}") from None
    fields = {}
    for key in ("VERSION", "PATCHLEVEL", "SUBLEVEL", "EXTRAVERSION"):
        m = re.search(rf"^{key}\s*=\s*(\S*)\s*$", text, re.M)
        fields[key] = m.group(1) if m else ""
    if not fields["VERSION"] or not fields["PATCHLEVEL"]:
        raise InspectorError(f"{tree} is not a kernel source tree (no VERSION in its Makefile)")
    rel = f"{fields['VERSION']}.{fields['PATCHLEVEL']}.{fields['SUBLEVEL'] or 0}"
    return rel + fields["EXTRAVERSION"]


def _src_root(version: KernelVersion) -> Path:
    return cache_dir() / "src" / version.name


def _check_release(version: KernelVersion, release: str, where: object) -> None:
    if not (release == version.name or release.startswith(version.name + ".")):
        raise InspectorError(
            f"{where} holds Linux {release}, not {version.name}.x: supply a {version.name} tree"
        )


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _remembered(version: KernelVersion) -> SourceTree | None:
    root = _src_root(version)
    if not root.is_dir():
        return None
    for marker in sorted(root.glob(f"*/{MARKER}")):
        info = json.loads(marker.read_text())
        return SourceTree(version, marker.parent, info["release"], info["origin"])
    return None


def _install(version: KernelVersion, fill: object, origin: str) -> SourceTree:
    """Create a tree under the cache: ``fill(tmpdir) -> Path`` puts it there; rename into place."""
    root = _src_root(version)
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=root))
    try:
        tree: Path = fill(tmp)  # type: ignore[operator]
        release = makefile_release(tree)
        _check_release(version, release, origin)
        dest = root / f"linux-{release}"
        if dest.exists():
            shutil.rmtree(dest)
        tree.rename(dest)
        (dest / MARKER).write_text(json.dumps({"release": release, "origin": origin}) + "\n")
        return SourceTree(version, dest, release, origin)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _unpack_tarball(tarball: Path) -> object:
    def fill(tmp: Path) -> Path:
        proc = subprocess.run(
            ["tar", "-xf", str(tarball), "-C", str(tmp)], capture_output=True, text=True
        )
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["tar failed"])[-1]
            raise InspectorError(f"cannot unpack {tarball} (corrupt or truncated?): {last}")
        tops = [p for p in tmp.iterdir() if p.is_dir()]
        if len(tops) != 1:
            raise InspectorError(f"{tarball} does not hold one top-level kernel directory")
        return tops[0]

    return fill


def _copy_dir(src: Path) -> object:
    def fill(tmp: Path) -> Path:
        dest = tmp / "tree"
        shutil.copytree(src, dest, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        return dest

    return fill


def _from_user(version: KernelVersion, given: str) -> SourceTree:
    path = Path(given).expanduser()
    if not path.exists():
        raise InspectorError(f"KERNEL_SRC_{version.name.replace('.', '_')}={given} does not exist")
    if path.is_dir():
        _check_release(version, makefile_release(path), path)
        return _install(version, _copy_dir(path.resolve()), _origin_of(path))
    if path.name == LINUX_4_7_TARBALL and version.name == "4.7":
        _verify_4_7(path)
    return _install(version, _unpack_tarball(path.resolve()), _origin_of(path))


def _origin_of(path: Path) -> str:
    """How a user-supplied tree is remembered: a directory by path, a tarball by content."""
    if path.is_dir():
        return f"dir:{path.resolve()}"
    return f"tarball:{sha256_file(path)}" if path.is_file() else f"missing:{path}"


def _verify_4_7(tarball: Path) -> None:
    got = sha256_file(tarball)
    if got != LINUX_4_7_SHA256:
        raise InspectorError(
            f"checksum mismatch for {tarball}: sha256 {got}, expected {LINUX_4_7_SHA256} "
            "(corrupt or not kernel.org's tarball: delete it and supply it again)"
        )


def _download_4_7(version: KernelVersion) -> SourceTree:
    base = os.environ.get("MMI_KERNEL_ORG", KERNEL_ORG).rstrip("/")
    url = f"{base}/{LINUX_4_7_TARBALL}"
    downloads = cache_dir() / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    final = downloads / LINUX_4_7_TARBALL
    if not final.exists():
        part = downloads / (LINUX_4_7_TARBALL + ".part")
        try:
            with urllib.request.urlopen(url, timeout=20) as resp, part.open("wb") as out:
                shutil.copyfileobj(resp, out, 1 << 20)
        except (urllib.error.URLError, OSError, ValueError) as e:
            part.unlink(missing_ok=True)
            reason = getattr(e, "reason", e)
            raise InspectorError(
                f"no Linux 4.7 source: {url} unreachable ({reason}); set "
                "KERNEL_SRC_4_7=/path/to/linux-4.7.tar.xz (or a 4.7.x source directory or "
                "tarball) once and it is remembered, or use KVER=6.12, which works offline"
            ) from None
        part.rename(final)
    try:
        _verify_4_7(final)
    except InspectorError:
        final.unlink(missing_ok=True)
        raise
    return _install(version, _unpack_tarball(final), f"kernel.org:{LINUX_4_7_SHA256}")


def available(version: KernelVersion) -> str | None:
    """Why the source of ``version`` is *not* at hand without a download, or None when it is."""
    if (tarball := DEBIAN_TARBALLS.get(version.name)) is not None:
        if _remembered(version) or tarball.exists():
            return None
        return f"{tarball} missing: run `mm-inspector deps` (Debian's linux-source-{version.name})"
    if os.environ.get("KERNEL_SRC_4_7") or _remembered(version):
        return None
    return (
        "no Linux 4.7 source at hand: set KERNEL_SRC_4_7=/path/to/linux-4.7.tar.xz "
        "(or a 4.7.x directory/tarball) once; it is then remembered in the cache"
    )


def tree_fingerprint(tree: Path) -> str:
    """What identifies the state of a user's tree: every file's path, size and mtime outside
    .git (a change anywhere rebuilds, incrementally, in the same build directory)."""
    h = hashlib.sha256()
    for root, dirs, files in os.walk(tree):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for name in sorted(files):
            p = os.path.join(root, name)
            with contextlib.suppress(OSError):
                st = os.lstat(p)
                h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def user_tree(version: KernelVersion) -> SourceTree:
    """A user's kernel tree (``KERNEL_TREE=``), used where it lies (never copied)."""
    assert version.tree is not None
    path = Path(version.tree).expanduser().resolve()
    if not (path / "Makefile").is_file() or not (path / "mm" / "page_alloc.c").is_file():
        raise InspectorError(f"KERNEL_TREE={version.tree} is not a Linux source tree: name one")
    return SourceTree(version, path, makefile_release(path), f"tree:{path}")


def supplied(version: KernelVersion) -> SourceTree | None:
    """The source of a release that is not pinned, when the user supplied it
    (``KERNEL_SRC_<major>_<minor>=``, copied into the cache) or supplied it once before
    (remembered); None when neither."""
    if os.environ.get(f"KERNEL_SRC_{version.name.replace('.', '_')}") or _remembered(version):
        return resolve(version, download=False)
    return None


def resolve(version: KernelVersion, *, download: bool = True) -> SourceTree:
    """The source tree for ``version``, unpacking or downloading it into the cache if needed."""
    if version.tree:
        return user_tree(version)
    env_name = f"KERNEL_SRC_{version.name.replace('.', '_')}"
    given = os.environ.get(env_name)
    remembered = _remembered(version)
    if given:
        if remembered and remembered.origin == _origin_of(Path(given).expanduser()):
            return remembered
        return _from_user(version, given)
    if remembered:
        return remembered
    if (tarball := DEBIAN_TARBALLS.get(version.name)) is not None:
        if not tarball.exists():
            raise InspectorError(
                f"{tarball} missing: run `mm-inspector deps` to install linux-source-{version.name}"
            )
        return _install(version, _unpack_tarball(tarball), f"debian:linux-source-{version.name}")
    if not download:
        raise InspectorError(available(version) or "no source")
    return _download_4_7(version)


def get_version(name: str) -> KernelVersion:
    """A pinned version (4.7, 6.1, 6.12), or any other release whose source the user supplied
    once with ``KERNEL_SRC_<major>_<minor>=`` (a directory or a tarball, copied into the cache
    and remembered, as 4.7's is): that tree, modelled at its own release."""
    key = {"4.7.0": "4.7", "6.1.0": "6.1", "6.12.0": "6.12"}.get(name, name)
    if key in VERSIONS:
        return VERSIONS[key]
    if key.startswith("debian:"):
        series = key.removeprefix("debian:")
        if series not in VERSIONS or series == "4.7":
            raise InspectorError(
                f"{name}: Debian's own kernels here are debian:6.1 and debian:6.12"
            )
        return replace(VERSIONS[series], prebuilt=key, quirks=())
    env = f"KERNEL_SRC_{key.replace('.', '_')}"
    tree = supplied(KernelVersion(name=key)) if re.fullmatch(r"\d+\.\d+", key) else None
    if tree is None:
        raise InspectorError(
            f"unknown kernel version {name!r}: choose one of {', '.join(VERSIONS)}, or supply "
            f"another release's source once with {env}=/path/to/linux-{key} (a directory or "
            "tarball)"
        )
    return for_tree(str(tree.path), tree.release)
