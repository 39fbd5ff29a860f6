"""Faults injected into ``mm-inspector validate``'s cells, to prove that none is lost.

``MMI_VALIDATE_INJECT="x86_64-memmap-hole=raise,x86_64-2nodes-uneven=diff"`` makes a cell:

- ``raise``: raise ``KeyError`` where the capture would start (what a model bug looks like to
  the engine: not a one-line error);
- ``exit``: end its worker process at once (``os._exit``), so the cell never reports;
- ``diff``: run for real, then carry one more difference than the model and kernel have.

Loaded as a pytest plugin (``-p tests.validate_inject``, which pytest-xdist hands to every
worker) or by ``install()`` before the pool engine forks its workers. Test-only: nothing in
``inspector`` knows of it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ENV = "MMI_VALIDATE_INJECT"


def _faults() -> dict[str, str]:
    out = {}
    for item in os.environ.get(ENV, "").split(","):
        if "=" in item:
            cell, what = item.split("=", 1)
            out[cell] = what
    return out


def _fault_for(run_dir: Path) -> str | None:
    # run directories are named <stamp>-validate-<version>-<arch>-<case>-<random>
    name = run_dir.name
    for cell, what in _faults().items():
        if f"-{cell}-" in name:
            return what
    return None


def install() -> None:
    import inspector.capture.run as run
    import inspector.compare as compare_mod
    from inspector.compare import Difference

    real_inspect = run.inspect
    real_compare = compare_mod.compare

    def inspect(req: Any, run_dir: Path, *args: Any, **kwargs: Any) -> Any:
        what = _fault_for(run_dir)
        if what == "raise":
            raise KeyError("injected: no such zone")
        if what == "exit":
            os._exit(3)
        return real_inspect(req, run_dir, *args, **kwargs)

    def compare(run_dir: Path) -> Any:
        result = real_compare(run_dir)
        if _fault_for(run_dir) == "diff":
            stop = next(iter(result.diffs), "injected")
            result.diffs.setdefault(stop, []).append(
                Difference("injected.value", 1, 2, "injected()", stop)
            )
        return result

    run.inspect = inspect  # type: ignore[assignment]
    compare_mod.compare = compare  # type: ignore[assignment]


def pytest_configure(config: Any) -> None:
    install()
