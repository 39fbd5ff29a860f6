"""Chaos: mm-inspector interrupted at random moments, in every way a person or a job runner does it,
and nothing may be left behind. ``python -m tests.chaos --runs 50`` (``make chaos``); the test
suite runs a dozen (tests/test_chaos.py).

Each run starts one command (boot, inspect, buddy --watch, validate of one cell, or a build whose
make job hangs) as a user does (the ``mm-inspector`` console script), from a parent that ignores
SIGINT (nohup, CI runners) or does not (a terminal), waits a random moment, and sends SIGINT,
SIGTERM, SIGHUP or SIGKILL to mm-inspector alone. A third of the moments fall in the first half
second, on purpose: interpreter start-up, imports and argument parsing. Then:

- the exit status is as documented: 130 and the last line ``mm-inspector: interrupted …`` after
  SIGINT (not ignored), SIGTERM or SIGHUP; killed by SIGKILL; an ignored SIGINT changes nothing
  (the run is then stopped with SIGTERM and judged as such); 0 if it finished first. The one
  exception the README names: a signal that lands before mm-inspector's first instruction (the
  interpreter's start-up; ``/proc/PID/status`` shows the signal not yet caught when it is sent)
  takes its default action, and then the run must have started nothing;
- nothing of the run's own is left: no descendant of mm-inspector (QEMU, gdb, make, its jobs,
  the janitor), no process whose command line names the run's directory or marker, no process
  holding one of the run's RAM memfds (named after its run directory), no socket in the run's
  directory. Nothing host-wide is looked at: another run on the same host cannot fail this one.

The runs follow from one seed (``--seed``, or CHAOS_SEED in the test suite), printed first;
``--only K`` replays run K of that seed's plan alone.
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
_SCRIPT = Path(sys.executable).with_name("mm-inspector")
# as a user runs it: the console script (inspector.entry), else the same through python -m
MMI = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "inspector"]
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL)
COMMANDS = ("boot", "inspect", "buddy", "validate", "build")
SETTLE = 10.0  # seconds for children to go after mm-inspector has exited


@dataclass(frozen=True)
class Plan:
    """One run of the harness, all of it drawn from the seed."""

    index: int
    command: str
    sig: int
    sigint_ignored: bool
    delay: float
    marker: str


def plan(runs: int, seed: int) -> list[Plan]:
    """The seed's runs: every command and every signal among the first ones, a third of the
    delays inside the first half second (start-up), the rest up to 6 s."""
    rng = random.Random(seed)
    out = []
    for i in range(runs):
        command = COMMANDS[i % len(COMMANDS)] if i < len(COMMANDS) else rng.choice(COMMANDS)
        sig = SIGNALS[i % len(SIGNALS)] if runs >= len(SIGNALS) else rng.choice(SIGNALS)
        ignored = rng.random() < 0.5
        # a third in the first half second, half of those in the interpreter's start-up and
        # the imports (about the first 0.1 s)
        if i % 3 == 1:
            delay = rng.uniform(0.005, 0.08) if i % 6 == 1 else rng.uniform(0.08, 0.5)
        else:
            delay = rng.uniform(0.5, 6.0)
        delay = round(delay, 3)
        marker = f"{rng.randint(100000, 999999)}.{rng.randint(1, 9)}"
        out.append(Plan(i, command, sig, ignored, delay, marker))
    return out


@dataclass
class Outcome:
    command: str
    sig: str
    sigint_ignored: bool
    delay: float
    index: int = 0
    caught: bool = True  # the signal was caught by mm-inspector's handler when it was sent
    returncode: int | None = None
    last_line: str = ""
    leftovers: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        ign = "SIGINT ignored" if self.sigint_ignored else "SIGINT default"
        head = (
            f"#{self.index:<3} {self.command:8} {self.sig:7} after {self.delay:5.3f} s ({ign}): "
            f"rc {self.returncode}" + ("" if self.caught else " (the signal not caught when sent)")
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


def memfds_left(runs: Path) -> list[str]:
    """Processes still holding one of these runs' RAM memfds (each named after its run)."""
    names = [d.name for d in runs.iterdir() if d.is_dir()] if runs.exists() else []
    if not names:
        return []
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("/memfd:mmi-guest-ram") and any(
                        n in target for n in names
                    ):
                        out.append(f"memfd {target} held by {proc.name}")
    return out


def caught(pid: int, sig: int) -> bool:
    """Has process ``pid`` a handler for ``sig`` now (``SigCgt`` in /proc/PID/status)?"""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    for line in status.splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (sig - 1)))
    return False


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


def _started_nothing(runs: Path, descendants: set[int]) -> bool:
    return not descendants and not (runs.exists() and any(runs.iterdir()))


def one_run(p: Plan, base: Path) -> Outcome:
    command, sig = p.command, p.sig
    out = Outcome(command, signal.Signals(sig).name, p.sigint_ignored, p.delay, p.index)
    work = Path(tempfile.mkdtemp(prefix=f"chaos-{p.index}-{command}-", dir=base))
    runs = work / "runs"
    marker = p.marker
    argv, extra = _argv(command, marker)
    env = {**os.environ, "MMI_RUNS_DIR": str(runs), **extra}
    if command == "build":
        env["MMI_CACHE_DIR"] = str(work / "cache")
        env["KERNEL_SRC_4_7"] = str(_fake_tree(work, marker))

    def parent_sigint() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN if p.sigint_ignored else signal.SIG_DFL)

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
    deadline = time.monotonic() + p.delay
    while (left := deadline - time.monotonic()) > 0 and proc.poll() is None:
        if left > 0.1:
            descendants |= _children_of(proc.pid)
        time.sleep(min(0.05, max(left, 0)))
    finished_first = proc.poll() is not None
    if not finished_first:
        descendants |= _children_of(proc.pid)
        judged = signal.SIGTERM if sig == signal.SIGINT and p.sigint_ignored else sig
        if sig == signal.SIGINT and p.sigint_ignored:
            proc.send_signal(sig)
            time.sleep(1.0)  # the caller's wish: nothing happens
            if proc.poll() is not None and proc.returncode != 0:
                out.problems.append(f"an ignored SIGINT stopped it (rc {proc.returncode})")
            descendants |= _children_of(proc.pid)
        # a handler once installed stays until Python exits: caught now is caught at the kill
        out.caught = judged == signal.SIGKILL or caught(proc.pid, judged)
        proc.send_signal(judged)
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
    judged_rc = -signal.SIGTERM if sig == signal.SIGINT and p.sigint_ignored else -sig
    if finished_first:
        if proc.returncode != 0:
            out.problems.append(f"finished before the signal with rc {proc.returncode}")
    elif sig == signal.SIGKILL:
        if proc.returncode != -signal.SIGKILL:
            out.problems.append(f"rc {proc.returncode} after SIGKILL")
    elif proc.returncode == judged_rc and not out.caught:
        # before mm-inspector's first instruction (start-up) or after its last (exit)
        if not (_started_nothing(runs, descendants) or _finished(runs)):
            out.problems.append(f"rc {proc.returncode} before its handler, yet it had started")
    elif proc.returncode in (-sig, -signal.SIGTERM) and _finished(runs):
        pass  # the work was done and Python was exiting: its handlers are gone by then
    elif proc.returncode != 130 and proc.returncode != 0:
        out.problems.append(f"rc {proc.returncode}, not 130")
    elif proc.returncode == 130 and not out.last_line.startswith("mm-inspector: interrupted"):
        out.problems.append(f"last line {out.last_line!r}")
    # what is left of this run's own: give dying children a moment
    end = time.monotonic() + SETTLE
    while True:
        left_over = _pids_matching(str(work)) + _pids_matching(marker)
        left_over += [f"{p}: {_cmdline(p)}" for p in sorted(descendants) if _alive(p)]
        left_over += memfds_left(runs)
        left_over += _sockets_left(runs)
        if not left_over or time.monotonic() > end:
            break
        time.sleep(0.2)
    out.leftovers = left_over
    if left_over:
        out.problems.append("left behind: " + ", ".join(left_over[:4]))
        for pid in sorted(descendants):  # clean up for the next run
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    return out


def chaos(
    runs: int, seed: int | None = None, base: Path | None = None, only: int | None = None
) -> tuple[int, list[Outcome]]:
    """Run the seed's plan (a fresh seed when none is given); returns the seed and outcomes."""
    if seed is None:
        seed = random.SystemRandom().randrange(1, 2**31)
    print(f"chaos: seed {seed} ({runs} runs)", flush=True)
    base = base or Path(tempfile.mkdtemp(prefix="mmi-chaos-"))
    outcomes = []
    for p in plan(runs, seed):
        if only is not None and p.index != only:
            continue
        o = one_run(p, base)
        print(o.line(), flush=True)
        outcomes.append(o)
    return seed, outcomes


def replay_hint(seed: int, runs: int, outcome: Outcome) -> str:
    return f"replay: python -m tests.chaos --seed {seed} --runs {runs} --only {outcome.index}"


def summary(outcomes: list[Outcome]) -> str:
    by = Counter((o.command, o.sig) for o in outcomes)
    bad = [o for o in outcomes if o.problems]
    procs = sum(1 for o in outcomes for x in o.leftovers if x.split(":")[0].isdigit())
    memfds = sum(1 for o in outcomes for x in o.leftovers if x.startswith("memfd"))
    socks = sum(1 for o in outcomes for x in o.leftovers if x.endswith((".sock", "(dir)")))
    early = sum(1 for o in outcomes if o.delay < 0.5)
    before = sum(1 for o in outcomes if not o.caught)
    lines = [f"{n} x {c} {s}" for (c, s), n in sorted(by.items())]
    lines.append(
        f"{len(outcomes)} interrupted runs ({early} in the first half second; {before} "
        f"signals not caught when sent: start-up or exit): {procs} processes, {memfds} "
        f"memfds, {socks} sockets left over; "
        f"{len(bad)} runs with problems"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--only", type=int, default=None, help="replay run K of the seed's plan")
    args = p.parse_args(argv)
    seed, outcomes = chaos(args.runs, args.seed, only=args.only)
    print(summary(outcomes))
    for o in outcomes:
        if o.problems:
            print(replay_hint(seed, args.runs, o))
    return 1 if any(o.problems for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
