"""Running ``mm-inspector`` as a user would, from a test: ``python -m inspector`` from the
checkout, runs under the test's own directory (``MMI_RUNS_DIR``), output captured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def mmi(args: list[str], tmp_path: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MMI_RUNS_DIR": str(tmp_path / "runs")}
    return subprocess.run(
        [sys.executable, "-m", "inspector", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=timeout,
    )
