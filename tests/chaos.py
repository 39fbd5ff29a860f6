"""Chaos: mm-inspector interrupted at random moments, in every way a person or a job runner does it,
and nothing may be left behind. ``python -m tests.chaos --runs 50`` (``make chaos``); the test
suite runs a dozen (tests/test_chaos.py).

Each run starts one command (boot, inspect, buddy --watch, validate of one cell, or a build whose
make job hangs), from a parent that ignores SIGINT (nohup, CI runners) or does not (a terminal),
waits a random moment, and sends SIGINT, SIGTERM, SIGHUP or SIGKILL to mm-inspector alone. Then:

- the exit status is as documented: 130 and the last line ``mm-inspector: interrupted …`` after
  SIGINT (not ignored), SIGTERM or SIGHUP; killed by SIGKILL; an ignored SIGINT changes nothing
  (the run is then stopped with SIGTERM and judged as such); 0 if it finished first;
- no process whose command line names the run's directory (QEMU), no gdb, make or make job of the
  run, no file in /dev/shm, no socket in the run's directory.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MMI = [sys.executable, "-m", "inspector.cli"]
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL)
COMMANDS = ("boot", "inspect", "buddy", "validate", "build")
SETTLE = 10.0  # seconds for children to go after mm-inspector has exited


@dataclass
class Outcome:
    command: str
    sig: str
    sigint_ignored: bool
    delay: float
    returncode: int | None = None
    last_line: str = ""
    leftovers: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        ign = "SIGINT ignored" if self.sigint_ignored else "SIGINT default"
        head = (
            f"{self.command:8} {self.sig:7} after {self.delay:4.1f} s ({ign}): rc {self.returncode}"
        )
        return head + ("" if not self.problems else "  PROBLEM: " + "; ".join(self.problems))


def _argv(command: str, job_marker: str) -> tuple[list[str], dict[str, str]]:
    env: dict[str, str] = {}
    if command == "boot":
        return [*MMI, "boot", "--arch", "x86_64", "--kver", "6.12", "--run", "sleep 30"], env
    if command == "inspect":
        return [*MMI, "inspect", "--arch", "arm64", "--kver", "6.12"], env
    if command == "buddy":
        return [*MMI, "buddy", "--arch", "x86_64", "--kver", "6.12", "--watch", "1"], env
    if command == "validate":
        args = ["validate", "--kver", "6.12", "--arch", "all", "--only", "2nodes-uneven"]
        return [*MMI, *args], env
    # build: a "4.7 tree" whose make job hangs (the cache is the run's own)
    return [*MMI, "build", "--arch", "x86_64", "--kver", "4.7"], {"CHAOS_JOB": job_marker}


def _fake_tree(where: Path, marker: str) -> Path:
    tree = where / "linux-4.7-slow"
    tree.mkdir()
    (tree / "Makefile").write_text(
        "VERSION = 4\nPATCHLEVEL = 7\nSUBLEVEL = 0\nEXTRAVERSION =\n"
        f"tinyconfig:\n\t@sleep {marker} && echo job-finished\n"
    )
    return tree


def _pids_matching(needle: str) -> list[str]:
    """Live processes (not zombies) whose command line contains ``needle``."""
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if needle in cmd and state != "Z":
            out.append(f"{proc.name}: {cmd[:120]}")
    return out


def _children_of(pid: int) -> set[int]:
    """Every descendant of ``pid`` right now (to find gdb, whose command line names no run)."""
    parents: dict[int, int] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                parents[int(proc.name)] = int(
                    (proc / "stat").read_text().rsplit(")", 1)[1].split()[1]
                )
            except (OSError, ValueError, IndexError):
                continue
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {c for c, p in parents.items() if p in frontier} - found
        found |= frontier
    return found


def _sockets_left(runs: Path) -> list[str]:
    """Sockets in the runs' directories, and in the short sockets directory a run links to
    (``<run>/sockets``) when its own path is too long for a unix socket; that directory too."""
    if not runs.exists():
        return []
    out = [str(s) for s in runs.rglob("*") if s.is_socket()]
    for link in runs.glob("*/sockets"):
        if link.is_symlink() and link.resolve().exists():
            target = link.resolve()
            out += [str(s) for s in target.iterdir() if s.is_socket()] or [f"{target}/ (dir)"]
    return out


def _finished(runs: Path) -> bool:
    """Did the command finish its work (an inspect run marked complete, a validate report)?"""
    return any(runs.glob("*/complete.json")) or any(runs.glob("*/report.json"))


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode(errors="replace")[:100]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def one_run(command: str, sig: int, sigint_ignored: bool, delay: float, base: Path) -> Outcome:
    out = Outcome(command, signal.Signals(sig).name, sigint_ignored, delay)
    work = Path(tempfile.mkdtemp(prefix=f"chaos-{command}-", dir=base))
    runs = work / "runs"
    marker = f"{random.randint(100000, 999999)}.{random.randint(1, 9)}"
    argv, extra = _argv(command, marker)
    env = {**os.environ, "MMI_RUNS_DIR": str(runs), **extra}
    if command == "build":
        env["MMI_CACHE_DIR"] = str(work / "cache")
        env["KERNEL_SRC_4_7"] = str(_fake_tree(work, marker))
    shm_before = set(Path("/dev/shm").iterdir())

    def parent_sigint() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN if sigint_ignored else signal.SIG_DFL)

    err_path = work / "stderr"
    err_file = err_path.open("w")  # a file, not a pipe: a leftover child must not hang us
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=err_file,
        text=True,
        env=env,
        cwd=REPO,
        preexec_fn=parent_sigint,
        start_new_session=True,  # our signal reaches mm-inspector alone, as `kill PID` does
    )
    descendants: set[int] = set()
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline and proc.poll() is None:
        descendants |= _children_of(proc.pid)
        time.sleep(0.05)
    finished_first = proc.poll() is not None
    if not finished_first:
        descendants |= _children_of(proc.pid)
        proc.send_signal(sig)
        if sig == signal.SIGINT and sigint_ignored:
            time.sleep(1.0)  # the caller's wish: nothing happens
            if proc.poll() is not None and proc.returncode != 0:
                out.problems.append(f"an ignored SIGINT stopped it (rc {proc.returncode})")
            descendants |= _children_of(proc.pid)
            proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        out.problems.append("did not exit within 60 s of the signal")
    err_file.close()
    err = err_path.read_text(errors="replace")
    out.returncode = proc.returncode
    out.last_line = (err.strip().splitlines() or [""])[-1]
    if "Traceback" in err:
        out.problems.append("traceback: " + out.last_line)
    if finished_first:
        if proc.returncode != 0:
            out.problems.append(f"finished before the signal with rc {proc.returncode}")
    elif sig == signal.SIGKILL:
        if proc.returncode != -signal.SIGKILL:
            out.problems.append(f"rc {proc.returncode} after SIGKILL")
    elif proc.returncode in (-sig, -signal.SIGTERM) and _finished(runs):
        pass  # the work was done and Python was exiting: its handlers are gone by then
    elif proc.returncode != 130 and proc.returncode != 0:
        out.problems.append(f"rc {proc.returncode}, not 130")
    elif proc.returncode == 130 and not out.last_line.startswith("mm-inspector: interrupted"):
        out.problems.append(f"last line {out.last_line!r}")
    # what is left: give dying children a moment
    end = time.monotonic() + SETTLE
    while True:
        left = _pids_matching(str(work)) + _pids_matching(marker)
        left += [f"{p}: {_cmdline(p)}" for p in sorted(descendants) if _alive(p)]
        left += [f"/dev/shm/{p.name}" for p in set(Path("/dev/shm").iterdir()) - shm_before]
        left += _sockets_left(runs)
        if not left or time.monotonic() > end:
            break
        time.sleep(0.2)
    out.leftovers = left
    if left:
        out.problems.append("left behind: " + ", ".join(left[:4]))
        for pid in sorted(descendants):  # clean up for the next run
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    return out


def chaos(runs: int, seed: int | None = None, base: Path | None = None) -> list[Outcome]:
    rng = random.Random(seed)
    base = base or Path(tempfile.mkdtemp(prefix="mmi-chaos-"))
    outcomes = []
    for i in range(runs):
        command = COMMANDS[i % len(COMMANDS)] if i < len(COMMANDS) else rng.choice(COMMANDS)
        sig = SIGNALS[i % len(SIGNALS)] if runs >= len(SIGNALS) else rng.choice(SIGNALS)
        o = one_run(command, sig, rng.random() < 0.5, round(rng.uniform(0.3, 6.0), 1), base)
        print(o.line(), flush=True)
        outcomes.append(o)
    return outcomes


def summary(outcomes: list[Outcome]) -> str:
    by = Counter((o.command, o.sig) for o in outcomes)
    bad = [o for o in outcomes if o.problems]
    procs = sum(1 for o in outcomes for x in o.leftovers if not x.startswith(("/dev/shm", "/")))
    files = sum(1 for o in outcomes for x in o.leftovers if x.startswith("/dev/shm"))
    socks = sum(1 for o in outcomes for x in o.leftovers if x.endswith((".sock", "(dir)")))
    lines = [f"{n} x {c} {s}" for (c, s), n in sorted(by.items())]
    lines.append(
        f"{len(outcomes)} interrupted runs: {procs} processes, {files} /dev/shm files, "
        f"{socks} sockets left over; {len(bad)} runs with problems"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--seed", type=int, default=None)
    args = p.parse_args(argv)
    outcomes = chaos(args.runs, args.seed)
    print(summary(outcomes))
    return 1 if any(o.problems for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
