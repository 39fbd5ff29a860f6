"""A busybox initramfs per arch, written as a newc cpio archive in pure Python.

The busybox binary is Debian's busybox-static: the host's ``/bin/busybox`` for the native arch,
and for arm64 the binary extracted (not installed) from the ``busybox-static:arm64`` package that
``mm-inspector deps`` downloads into the cache.
"""

from __future__ import annotations

import hashlib
import io
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

from inspector.arch import Arch
from inspector.errors import InspectorError
from inspector.paths import cache_dir

BANNER = "mm-inspector: userspace up"
PROMPT = "mmi-guest# "

INIT = f"""#!/bin/sh
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root PS1='{PROMPT}'
# From here on only KERN_EMERG (panics) interrupts command output on the console; the whole
# log stays in the kernel's buffer (dmesg).
dmesg -n 1
echo "{BANNER} ($(uname -r), $(nproc) cpus)"
setsid cttyhack sh
echo "mm-inspector: shell exited, powering off"
poweroff -f
"""

_DIRS = ["bin", "sbin", "usr", "usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp", "root", "etc"]


class Cpio:
    """Writer of the kernel's initramfs format (``newc``, see Documentation/early-userspace)."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()
        self.ino = 300000

    def _entry(
        self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)
    ) -> None:
        self.ino += 1
        namez = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(namez), 0]
        self.buf.write(b"070701" + b"".join(b"%08X" % f for f in fields) + namez)
        self._pad()
        self.buf.write(data)
        self._pad()

    def _pad(self) -> None:
        self.buf.write(b"\0" * (-self.buf.tell() % 4))

    def directory(self, name: str) -> None:
        self._entry(name, 0o040755)

    def file(self, name: str, data: bytes, perm: int = 0o755) -> None:
        self._entry(name, 0o100000 | perm, data)

    def symlink(self, name: str, target: str) -> None:
        self._entry(name, 0o120777, target.encode())

    def chardev(self, name: str, major: int, minor: int) -> None:
        self._entry(name, 0o020600, rdev=(major, minor))

    def finish(self) -> bytes:
        self._entry("TRAILER!!!", 0)
        self._pad()
        return self.buf.getvalue()


def busybox_binary(arch: Arch) -> Path:
    """A static busybox for ``arch``."""
    native = {"x86_64": "x86_64", "aarch64": "arm64"}.get(platform.machine())
    if native == arch.name:
        host = Path("/bin/busybox")
        if host.exists():
            return host
        raise InspectorError(
            "/bin/busybox missing: run `mm-inspector deps` (Debian package busybox-static)"
        )
    out = cache_dir() / "busybox" / arch.busybox_deb_arch / "busybox"
    if out.exists():
        return out
    debs = sorted((cache_dir() / "debs").glob(f"busybox-static_*_{arch.busybox_deb_arch}.deb"))
    if not debs:
        raise InspectorError(
            f"no busybox-static:{arch.busybox_deb_arch} package in {cache_dir() / 'debs'}: "
            "run `mm-inspector deps`"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        argv = ["dpkg-deb", "-x", str(debs[-1]), tmp]
        proc = subprocess.run(argv, capture_output=True, text=True)
        if proc.returncode != 0:
            raise InspectorError(f"cannot extract {debs[-1]}: {proc.stderr.strip()}")
        shutil.move(str(Path(tmp) / "bin" / "busybox"), out)
    return out


def build_initramfs(arch: Arch) -> Path:
    """The initramfs for ``arch`` (cached by content)."""
    busybox = busybox_binary(arch).read_bytes()
    key = hashlib.sha256(busybox + INIT.encode()).hexdigest()[:12]
    out = cache_dir() / "initramfs" / f"{arch.name}-{key}.cpio"
    if out.exists():
        return out
    cpio = Cpio()
    for d in _DIRS:
        cpio.directory(d)
    cpio.chardev("dev/console", 5, 1)
    cpio.file("bin/busybox", busybox)
    cpio.symlink("bin/sh", "busybox")
    cpio.file("init", INIT.encode())
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_bytes(cpio.finish())
    tmp.rename(out)
    return out
