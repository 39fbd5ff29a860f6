"""Cached kernel builds: one build directory per (version, source, arch, fragments, toolchain).

A build directory whose stamp exists is reused as it is, so a second ``make`` compiles nothing.
All of make's output goes to ``build.log`` there; the terminal shows progress, and a failure
shows the log's tail and its path.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from inspector.arch import Arch
from inspector.errors import InspectorError
from inspector.kernel import config as kconfig
from inspector.kernel.elf import dwarf_versions
from inspector.kernel.source import SourceTree, resolve, tree_fingerprint
from inspector.kernel.versions import KernelVersion
from inspector.paths import cache_dir, write_atomic

STAMP = "mm-inspector-build.json"


@dataclass(frozen=True)
class Build:
    version: KernelVersion
    arch: Arch
    dir: Path
    release: str

    @property
    def vmlinux(self) -> Path:
        return self.dir / "vmlinux"

    @property
    def image(self) -> Path:
        return self.dir / self.arch.image

    @property
    def config(self) -> Path:
        return self.dir / ".config"

    def info(self) -> dict[str, object]:
        info: dict[str, object] = json.loads((self.dir / STAMP).read_text())
        return info


def _tool_version(tool: str) -> str:
    exe = shutil.which(tool)
    if exe is None:
        raise InspectorError(
            f"{tool} not found on PATH: run `mm-inspector deps` (it names the package)"
        )
    out = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else tool


def make_args(version: KernelVersion, arch: Arch, src: Path, out: Path) -> list[str]:
    """make's command line (without targets) for this version and arch, quirks applied."""
    prefix = arch.cross_prefix()
    args = ["make", "-C", str(src), f"O={out}", f"ARCH={arch.kernel_arch}"]
    if prefix:
        args.append(f"CROSS_COMPILE={prefix}")
    cc_flags = [f for q in version.quirks_for(arch) for f in q.cc_flags]
    if cc_flags:
        args.append("CC=" + " ".join([f"{prefix}gcc", *cc_flags]))
    for q in version.quirks_for(arch):
        args += [f"{k}={v}" for k, v in q.make_vars]
    return args


def build_key(source: SourceTree, arch: Arch, frags: list[Path], argv: list[str]) -> str:
    h = hashlib.sha256()
    compiler = _tool_version(f"{arch.cross_prefix()}gcc")
    parts: list[str] = [source.release, source.origin, arch.name, compiler, *argv[4:]]
    if source.version.config:  # the user's own .config, by content
        parts.append(Path(source.version.config).read_text(errors="replace"))
    parts += [f"{f.name}\n{f.read_text()}" for f in frags]
    for p in parts:
        h.update(p.encode() + b"\0")
    return h.hexdigest()[:12]


def _run_make(argv: list[str], log: Path, what: str, quiet: bool) -> None:
    """Run make with output to ``log``; show progress; raise with the log tail on failure."""
    start = time.monotonic()
    tty = sys.stderr.isatty() and not quiet
    with log.open("ab") as f:
        f.write(("\n$ " + " ".join(argv) + "\n").encode())
        f.flush()
        # make and its jobs get a process group of their own, so that however we stop
        # (Ctrl-C, an error) the whole group is stopped with us and nothing is orphaned.
        # inspector.reaper takes the group down if we die without a word (SIGKILL)
        proc = subprocess.Popen(
            [sys.executable, "-m", "inspector.reaper", "--", *argv],
            stdout=f,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            last_note = start
            while proc.poll() is None:
                time.sleep(0.5)
                now = time.monotonic()
                if tty:
                    sys.stderr.write(f"\r  {what}: {now - start:5.0f} s")
                    sys.stderr.flush()
                elif not quiet and now - last_note >= 60:
                    print(f"  {what}: {now - start:.0f} s …", file=sys.stderr, flush=True)
                    last_note = now
        except BaseException:
            _stop_group(proc)
            raise
        finally:
            if tty:
                sys.stderr.write("\n")
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise InspectorError(
            f"kernel build failed ({what}, exit {proc.returncode}): see {log}", detail=tail
        )


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM make's process group, then SIGKILL it if it lingers; reap make."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # jobs that outlived make itself


def _dwarf_version(vmlinux: Path) -> int | None:
    """DWARF version of most compilation units (assembler units may carry an older one)."""
    counts = dwarf_versions(vmlinux)
    return max(counts, key=lambda v: counts[v]) if counts else None


def build(version: KernelVersion, arch: Arch, *, quiet: bool = False) -> Build:
    """Build (or reuse) the kernel for ``version`` and ``arch``; a distribution's kernel
    (``version.prebuilt``) is fetched instead (inspector.kernel.debian)."""
    if version.prebuilt:
        from inspector.kernel import debian

        out, release = debian.fetch(version.name, arch, quiet=quiet)
        return Build(version, arch, out, release)
    source = resolve(version)
    frags = kconfig.fragments(version, arch)
    root = cache_dir() / "build"
    probe = make_args(version, arch, source.path, root)
    key = build_key(source, arch, frags, probe)
    out = root / f"{version.label}-{arch.name}-{key}"
    result = Build(version, arch, out, source.release)
    tree = tree_fingerprint(source.path) if version.tree else None
    if _done(result, tree):
        return result
    out.mkdir(parents=True, exist_ok=True)
    # One make per build directory: parallel runs (validate's workers, two terminals) wait here.
    with (out / ".lock").open("w") as lock:
        if not quiet and _locked_elsewhere(lock):
            print(f"waiting for another build of {out.name} to finish", file=sys.stderr)
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _done(result, tree):
            return result
        return _build_locked(version, arch, source, frags, result, quiet, tree)


def _file_record(path: Path) -> dict[str, object]:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": h.hexdigest()}


def _intact(path: Path, rec: dict[str, object]) -> bool:
    """``path`` is the file the stamp recorded: same size, and same mtime or same sha256."""
    try:
        st = path.stat()
    except OSError:
        return False
    if st.st_size != rec.get("size"):
        return False
    return st.st_mtime_ns == rec.get("mtime_ns") or _file_record(path)["sha256"] == rec.get(
        "sha256"
    )


def _done(result: Build, tree: str | None = None) -> bool:
    """A finished build whose vmlinux and image are the ones it wrote. A truncated or changed
    file drops the stamp and both files, so the next build makes them again. A user's tree
    (``tree``: its fingerprint now) that changed since is built again, incrementally."""
    stamp_path = result.dir / STAMP
    try:
        stamp = json.loads(stamp_path.read_text())
    except (OSError, ValueError):
        return False
    if tree is not None and stamp.get("tree") != tree:
        return False
    files = stamp.get("files")
    if files is None:  # a stamp from before files were recorded: record them now
        if not (result.vmlinux.exists() and result.image.exists()):
            return False
        stamp["files"] = {p.name: _file_record(p) for p in (result.vmlinux, result.image)}
        write_atomic(stamp_path, json.dumps(stamp, indent=2) + "\n")
        return True
    if all(_intact(p, files.get(p.name, {})) for p in (result.vmlinux, result.image)):
        return True
    for p in (stamp_path, result.vmlinux, result.image):
        p.unlink(missing_ok=True)
    return False


def _locked_elsewhere(lock: IO[str]) -> bool:
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(lock, fcntl.LOCK_UN)
    return False


def _build_locked(
    version: KernelVersion,
    arch: Arch,
    source: SourceTree,
    frags: list[Path],
    result: Build,
    quiet: bool,
    tree: str | None = None,
) -> Build:
    out = result.dir
    log = out / "build.log"
    argv = make_args(version, arch, source.path, out)

    def say(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr, flush=True)

    say(f"building Linux {source.release} for {arch.name} in {out} (log: {log})")
    for q in version.quirks_for(arch):
        say(f"  quirk {q.name}: {q.why}")
    start = time.monotonic()
    config_ok = out / ".mm-inspector-config-ok"
    if not config_ok.exists():
        dot = out / ".config"
        given = Path(version.config) if version.config else None
        if given is not None:  # the user's .config, checked for what mm-inspector needs
            shutil.copyfile(given, dot)
        else:
            _run_make([*argv, "tinyconfig"], log, "tinyconfig", quiet)
            base = dot.read_text()
            dot.write_text(base + "".join(f"\n# {f.name}\n{f.read_text()}" for f in frags))
        _run_make([*argv, "olddefconfig"], log, "olddefconfig", quiet)
        kconfig.check(dot, frags, given)
        config_ok.touch()
    jobs = str(os.cpu_count() or 1)
    image_target = Path(arch.image).name
    _run_make([*argv, f"-j{jobs}", "vmlinux", image_target], log, "compiling", quiet)
    seconds = time.monotonic() - start
    dwarf = _dwarf_version(result.vmlinux)
    if dwarf is None:
        raise InspectorError(f"{result.vmlinux} has no DWARF debug info: check CONFIG_DEBUG_INFO")
    if version.name == "4.7" and dwarf != 4:
        raise InspectorError(
            f"{result.vmlinux} carries DWARF {dwarf}, not 4: the compiler dropped -gdwarf-4 "
            "(is the no-pie quirk on CC?)"
        )
    stamp = {
        "version": version.name,
        "release": source.release,
        "arch": arch.name,
        "origin": source.origin,
        "make": argv[3:],
        "fragments": [f.name for f in frags],
        "quirks": [q.name for q in version.quirks_for(arch)],
        "dwarf": dwarf,
        "build_seconds": round(seconds, 1),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "files": {p.name: _file_record(p) for p in (result.vmlinux, result.image)},
        "tree": tree,
    }
    write_atomic(out / STAMP, json.dumps(stamp, indent=2) + "\n")
    say(f"built Linux {source.release} {arch.name} in {seconds:.0f} s")
    return result
