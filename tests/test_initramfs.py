"""The pure-Python cpio writer, read back by GNU cpio."""

import shutil
import subprocess

import pytest

from inspector.kernel.initramfs import Cpio


@pytest.mark.skipif(shutil.which("cpio") is None, reason="cpio not installed (make deps)")
def test_cpio_reads_back(tmp_path):
    c = Cpio()
    c.directory("bin")
    c.file("bin/hello", b"#!/bin/sh\necho hi\n")
    c.symlink("bin/sh", "hello")
    c.chardev("console", 5, 1)
    archive = tmp_path / "a.cpio"
    archive.write_bytes(c.finish())
    assert archive.stat().st_size % 4 == 0
    listing = subprocess.run(
        ["cpio", "-itv", "--quiet"], input=archive.read_bytes(), capture_output=True, check=True
    ).stdout.decode()
    lines = listing.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("d") and lines[0].endswith("bin")
    assert lines[1].startswith("-rwx") and "bin/hello" in lines[1]
    assert lines[2].startswith("l") and "bin/sh -> hello" in lines[2]
    assert lines[3].startswith("c") and "5,   1" in lines[3]
    out = tmp_path / "x"
    out.mkdir()
    subprocess.run(
        ["cpio", "-id", "--quiet", "bin/hello"], input=archive.read_bytes(), cwd=out, check=True
    )
    assert (out / "bin/hello").read_bytes() == b"#!/bin/sh\necho hi\n"
