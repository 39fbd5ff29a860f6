"""A dozen interrupted runs in every ``make test`` (``make chaos`` runs 50): boot, inspect,
buddy --watch, validate and build, stopped at random moments with SIGINT, SIGTERM, SIGHUP or
SIGKILL from parents that ignore SIGINT and parents that do not; nothing may be left behind and
every exit must be as documented (tests/chaos.py)."""

from __future__ import annotations

import os

import pytest

from .chaos import chaos, summary

RUNS = int(os.environ.get("CHAOS_RUNS", "12"))


@pytest.mark.vm
def test_interrupted_runs_leave_nothing_behind(tmp_path):
    outcomes = chaos(RUNS, seed=int(os.environ.get("CHAOS_SEED", "0")) or None, base=tmp_path)
    print(summary(outcomes))
    problems = [o.line() for o in outcomes if o.problems]
    assert problems == [], "\n".join(problems)
    # every command and every signal was exercised
    assert {o.command for o in outcomes} >= {"boot", "inspect", "buddy", "validate", "build"}
    assert {o.sig for o in outcomes} == {"SIGINT", "SIGTERM", "SIGHUP", "SIGKILL"}


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
