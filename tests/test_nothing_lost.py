"""Nothing lost, nothing half-written taken for whole: atomic writes, the build stamp's record
of vmlinux and image, and interrupted runs refused by the commands that read them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from inspector.arch import get_arch
from inspector.errors import InspectorError
from inspector.kernel import build as kbuild
from inspector.kernel.versions import V6_12
from inspector.paths import write_atomic
from inspector.rundir import COMPLETE, require_complete

REPO = Path(__file__).resolve().parents[1]


def test_an_interrupted_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "01-free_area_init.json"
    target.write_text("old, whole\n")

    def half_then_interrupt(self: Path, text: str) -> int:
        with self.open("w") as f:
            f.write(text[: len(text) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_text", half_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, "new contents that never land\n")
    monkeypatch.undo()
    assert target.read_text() == "old, whole\n"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def _fake_build(tmp_path: Path) -> kbuild.Build:
    b = kbuild.Build(V6_12, get_arch("x86_64"), tmp_path, "6.12.0")
    b.vmlinux.write_bytes(b"\x7fELF" + os.urandom(4096))
    b.image.parent.mkdir(parents=True, exist_ok=True)
    b.image.write_bytes(os.urandom(2048))
    stamp = {"files": {p.name: kbuild._file_record(p) for p in (b.vmlinux, b.image)}}
    (tmp_path / kbuild.STAMP).write_text(json.dumps(stamp))
    return b


def test_build_stamp_detects_a_truncated_vmlinux(tmp_path):
    b = _fake_build(tmp_path)
    assert kbuild._done(b)
    with b.vmlinux.open("r+b") as f:
        f.truncate(100)
    assert not kbuild._done(b)
    # the stamp and both files are gone, so the next build makes them again
    assert not (tmp_path / kbuild.STAMP).exists() and not b.vmlinux.exists()


def test_build_stamp_detects_a_changed_image_of_the_same_size(tmp_path):
    b = _fake_build(tmp_path)
    data = bytearray(b.image.read_bytes())
    data[100] ^= 0xFF
    b.image.write_bytes(bytes(data))  # same size, new mtime, other contents
    assert not kbuild._done(b)


def test_build_stamp_accepts_a_touched_but_unchanged_vmlinux(tmp_path):
    b = _fake_build(tmp_path)
    os.utime(b.vmlinux, ns=(1, 1))  # mtime differs, contents do not: the hash decides
    assert kbuild._done(b)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inspector.cli", *args], capture_output=True, text=True, cwd=REPO
    )


def test_compare_refuses_an_interrupted_run_in_one_line(tmp_path):
    run = tmp_path / "20260101-000000-inspect-6.12-x86_64-x"
    run.mkdir()
    (run / "qemu.argv.json").write_text("[]\n")
    (run / "01-free_area_init.json").write_text("{}\n")
    proc = _cli("compare", str(run))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()[-1:]
    assert "incomplete run" in line and "01-free_area_init.json" in line
    assert "summary.txt" in line and "dmesg.txt" in line
    with pytest.raises(InspectorError, match="incomplete"):
        require_complete(run)
    (run / COMPLETE).write_text("{}\n")
    require_complete(run)  # finished: accepted


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda p: p / "missing", "is not a directory"),
        (lambda p: p, "is not an inspect run"),
    ],
    ids=["no-such-dir", "not-a-run"],
)
def test_compare_refuses_what_is_not_a_run(tmp_path, make, needle):
    proc = _cli("compare", str(make(tmp_path)))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert needle in proc.stderr.strip().splitlines()[-1]
