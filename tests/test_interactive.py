"""A person at the terminal: ``mm-inspector gdb`` reaches a stop and answers every ``mmi``
command, ``mmi next`` runs to the next stop of the plan, and quitting gdb leaves nothing running;
``mm-inspector drgn`` opens drgn's shell on the live guest and evaluates an expression. Driven
with pexpect on a pseudo-terminal, as a person would type."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from inspector.kernel import source
from inspector.kernel.versions import V4_7

pytestmark = pytest.mark.vm
WHY_4_7 = source.available(V4_7)
PROMPT = r"\(gdb\) "


def _spawn(tmp_path: Path, *args: str) -> pexpect.spawn:
    env = {**os.environ, "MMI_RUNS_DIR": str(tmp_path / "runs"), "TERM": "dumb"}
    return pexpect.spawn(
        sys.executable,
        ["-m", "inspector.cli", *args],
        env=env,
        encoding="utf-8",
        timeout=120,
        dimensions=(50, 200),
    )


def _nothing_left(tmp_path: Path) -> None:
    """No QEMU or gdb of this test's runs is still running."""
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    left = [line for line in out.splitlines() if str(tmp_path) in line and "ps -eo" not in line]
    assert left == []


@pytest.mark.parametrize(
    ("kver", "arch", "zone", "after"),
    [
        ("6.12", "x86_64", "DMA32", "memmap_init_range"),
        pytest.param(
            "4.7",
            "arm64",
            "DMA",
            "memmap_init_zone",
            marks=pytest.mark.skipif(WHY_4_7 is not None, reason=WHY_4_7 or ""),
        ),
    ],
)
def test_gdb_at_a_stop(tmp_path: Path, kver: str, arch: str, zone: str, after: str) -> None:
    child = _spawn(tmp_path, "gdb", "--arch", arch, "--kver", kver, "--stop", "free_area_init_core")
    log = tmp_path / "gdb-session.txt"
    child.logfile_read = log.open("w")
    try:
        child.expect("stopped at free_area_init_core")
        child.expect("quit stops the guest")
        child.expect(PROMPT)
        checks = [
            ("mmi zones", r"node 0: start_pfn 0x[0-9a-f]+ spanned \d+"),
            ("mmi memblock", r"memblock.memory: \d+ regions"),
            ("mmi pageblocks", rf"node 0 {zone}\s*:"),
            ("mmi zonelists", r"node 0 fallback"),
            ("mmi freelists --node 0", rf"node 0 {zone}:\s+order  0 nr_free"),
            ("p $pc", r"\$1 = "),  # plain gdb, as ever
            ("mmi next", rf"stopped at {after}.*pageblocks by migratetype"),
            ("mmi freelists --order x", r"mmi freelists: .*--order"),
        ]
        for command, answer in checks:
            child.sendline(command)
            child.expect(answer)
            child.expect(PROMPT)
        child.sendline("quit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, log.read_text()[-2000:]
    _nothing_left(tmp_path)
    keep = Path("runs") / f"gdb-session-{kver}-{arch}.txt"  # the transcript, for the note
    keep.parent.mkdir(exist_ok=True)
    keep.write_text(log.read_text())


def test_unknown_stop_is_one_line(tmp_path: Path) -> None:
    argv = ["gdb", "--arch", "x86_64", "--kver", "6.12", "--stop", "no_such_fn"]
    out = subprocess.run(
        [sys.executable, "-m", "inspector.cli", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "MMI_RUNS_DIR": str(tmp_path / "runs")},
    )
    assert out.returncode != 0
    assert out.stderr.count("\n") == 1 and "no_such_fn is neither" in out.stderr


def test_drgn_shell_on_the_live_guest(tmp_path: Path) -> None:
    child = _spawn(tmp_path, "drgn", "--arch", "x86_64", "--kver", "6.12")
    try:
        child.expect("mm-inspector: drgn on the live guest")
        child.expect(">>> ")
        child.sendline('prog["init_uts_ns"].name.release.string_()')
        child.expect("b'6.12")
        child.expect(">>> ")
        child.sendline("len(list(for_each_online_pgdat(prog)))")  # drgn's helpers are there
        child.expect(r"\r\n1\r\n")
        child.expect(">>> ")
        child.sendline("buddy()")  # mm-inspector's dump, a call away
        child.expect("DMA32")
        child.expect(">>> ")
        child.sendline("exit()")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    _nothing_left(tmp_path)
