"""The validation matrix as pytest tests, one per (arch, topology): what ``make validate`` runs
under pytest-xdist (``mm-inspector validate``; inspector.validate's ``run_xdist``).

Run by file name (pytest does not collect it otherwise). The cells come from the environment
``mm-inspector validate`` sets: MMI_VALIDATE_KVER, MMI_VALIDATE_ARCHES (comma-separated),
MMI_VALIDATE_ONLY and MMI_VALIDATE_RUNS (the directory for the runs and each cell's result). A
cell passes when the model and the kernel agree on every compared value; its result lands in
``RUNS/results/<arch>-<case>.json`` for the report table, and in the JUnit XML pytest writes.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pytest

from inspector.errors import Terminated
from inspector.resource import die_with_parent
from inspector.validate import Case, cells, run_case


def _terminate(signum: int, frame: object) -> None:
    raise Terminated  # unwind: the cell's guest and gdb stop, its sockets go


if os.environ.get("PYTEST_XDIST_WORKER"):  # a worker dies with the session that started it
    die_with_parent(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _terminate)

KVER = os.environ.get("MMI_VALIDATE_KVER", "4.7")
ARCHES = os.environ.get("MMI_VALIDATE_ARCHES", "x86_64,arm64").split(",")
ONLY = os.environ.get("MMI_VALIDATE_ONLY") or None
RUNS = Path(os.environ.get("MMI_VALIDATE_RUNS", "runs/validate-matrix"))
STOP_TIMEOUT = float(os.environ.get("MMI_VALIDATE_STOP_TIMEOUT", "120"))


@pytest.mark.vm
@pytest.mark.parametrize(
    ("arch", "case"), cells(KVER, ARCHES, ONLY), ids=lambda x: getattr(x, "name", x)
)
def test_cell(arch: str, case: Case, record_property: Callable[[str, object], None]) -> None:
    res = run_case(KVER, arch, case, RUNS, STOP_TIMEOUT)
    out = RUNS / "results" / f"{arch}-{case.name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(asdict(res), indent=1) + "\n")
    record_property("run_dir", res.run_dir)
    record_property("compared", sum(res.compared.values()))
    record_property("differences", res.differences)
    record_property("worker", os.environ.get("PYTEST_XDIST_WORKER", "-"))
    assert not res.error, res.error
    assert res.differences == 0, "\n".join(res.details[:10])
