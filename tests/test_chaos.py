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
