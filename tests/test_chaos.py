"""A dozen interrupted runs in every ``make test`` (``make chaos`` runs 50): boot, inspect,
buddy --watch, validate and build, stopped at random moments (a third of them in the first half
second: start-up) with SIGINT, SIGTERM, SIGHUP or SIGKILL from parents that ignore SIGINT and
parents that do not; nothing may be left behind and every exit must be as documented
(tests/chaos.py). The seed is printed, and CHAOS_SEED= replays it."""

from __future__ import annotations

import os

import pytest

from .chaos import chaos, replay_hint, summary

RUNS = int(os.environ.get("CHAOS_RUNS", "12"))


@pytest.mark.vm
def test_interrupted_runs_leave_nothing_behind(tmp_path):
    seed, outcomes = chaos(RUNS, seed=int(os.environ.get("CHAOS_SEED", "0")) or None, base=tmp_path)
    print(summary(outcomes))
    problems = [
        f"{o.line()}\n  CHAOS_SEED={seed} ({replay_hint(seed, RUNS, o)})"
        for o in outcomes
        if o.problems
    ]
    assert problems == [], "\n".join(problems)
    # every command and every signal was exercised
    assert {o.command for o in outcomes} >= {"boot", "inspect", "buddy", "validate", "build"}
    assert {o.sig for o in outcomes} == {"SIGINT", "SIGTERM", "SIGHUP", "SIGKILL"}
    assert any(o.delay < 0.5 for o in outcomes)  # the start-up window, on purpose


def test_janitor_cleans_when_its_parent_died_before_it_started(tmp_path):
    """The parent SIGKILLed while the janitor was still starting: the janitor sees it was handed
    to another process and removes the sockets at once, instead of waiting forever."""
    import os
    import subprocess
    import sys

    sock = tmp_path / "console.sock"
    sock.write_text("")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that is no longer our child's parent
    env = {**os.environ, "MMI_JANITOR_PARENT": str(gone.pid)}
    j = subprocess.run(
        [sys.executable, "-m", "inspector.reaper", "--remove", str(sock)], env=env, timeout=30
    )
    assert j.returncode == 0 and not sock.exists()
