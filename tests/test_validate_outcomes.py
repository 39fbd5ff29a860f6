"""``mm-inspector validate`` cannot lose a cell: a cell that crashes, one whose worker dies and
one with a difference are each in the table, report.json and JUnit with their outcome, counted
in the last line, and make the exit status non-zero, on both engines (real 6.12 guests for the
cells that run; the faults come from tests/validate_inject.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# In the matrix's order: memmap-hole runs and carries one injected difference, mem-768M runs
# clean, 2nodes-uneven raises a KeyError before it boots, tiny-160M's worker dies before it
# reports (last, so the pool engine's broken pool takes nothing else with it)
CELLS = "memmap-hole,mem-768M,2nodes-uneven,tiny-160M"
FAULTS = "x86_64-2nodes-uneven=raise,x86_64-memmap-hole=diff,x86_64-tiny-160M=exit"
ORDER = ["memmap-hole", "mem-768M", "2nodes-uneven", "tiny-160M"]
LAUNCH = (
    "import sys, tests.validate_inject as v; v.install(); "
    "from inspector.cli import main; sys.exit(main(sys.argv[1:]))"
)


def _validate(engine: str, runs: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-c", LAUNCH, "validate", "--kver", "6.12", "--arch", "x86_64"]
    argv += ["--only", CELLS, "--engine", engine, "--jobs", "1"]
    if engine == "xdist":
        argv += ["--xdist-args", "-p tests.validate_inject"]
    env = {**os.environ, "MMI_RUNS_DIR": str(runs), "MMI_VALIDATE_INJECT": FAULTS}
    return subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.vm
@pytest.mark.parametrize("engine", ["pool", "xdist"])
def test_a_crashed_or_lost_cell_fails_the_run(engine: str, tmp_path: Path) -> None:
    proc = _validate(engine, tmp_path)
    assert proc.returncode == 1, proc.stderr[-2000:]
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("1/4 topologies with 0 differences, 2 crashed"), proc.stdout

    (runs,) = tmp_path.glob("*-validate-6.12-*")
    report = json.loads((runs / "report.json").read_text())
    assert report["cells"] == 4
    by_case = {r["case"]: r for r in report["results"]}
    assert [r["case"] for r in report["results"]] == ORDER
    assert by_case["2nodes-uneven"]["outcome"] == "crashed"
    assert "KeyError" in by_case["2nodes-uneven"]["error"]
    tb = Path(by_case["2nodes-uneven"]["traceback"]).read_text()
    assert "KeyError: 'injected: no such zone'" in tb
    assert by_case["memmap-hole"]["outcome"] == "differences"
    assert by_case["memmap-hole"]["differences"] == 1
    assert "injected.value" in by_case["memmap-hole"]["details"][0]
    assert by_case["mem-768M"]["outcome"] == "passed"
    assert by_case["mem-768M"]["differences"] == 0
    assert by_case["tiny-160M"]["outcome"] == "crashed"
    assert by_case["tiny-160M"]["error"].startswith("never reported")
    assert report["outcomes"] == {
        "passed": 1, "differences": 1, "error": 0, "timed out": 0, "crashed": 2,
    }  # fmt: skip

    # the table names every cell with its outcome
    table = (runs / "report.txt").read_text()
    for case, outcome in (
        ("2nodes-uneven", "crashed"),
        ("tiny-160M", "crashed"),
        ("memmap-hole", "differences"),
        ("mem-768M", "passed"),
    ):
        assert any(line.split()[1] == case and f" {outcome}" in line for line in table.splitlines())

    suite = ET.parse(runs / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "1", "2")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == set(ORDER)
    props = {
        name: {p.get("name"): p.get("value") for p in c.iter("property")}
        for name, c in cases.items()
    }
    assert props["mem-768M"]["outcome"] == "passed"
    assert int(props["mem-768M"]["compared"]) > 1000
    assert Path(props["mem-768M"]["run_dir"]).is_dir()
    assert props["memmap-hole"]["differences"] == "1"
    assert cases["memmap-hole"].find("failure") is not None
    for crashed in ("2nodes-uneven", "tiny-160M"):
        err = cases[crashed].find("error")
        assert err is not None and (err.get("message") or "").startswith("crashed")
