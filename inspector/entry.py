"""The ``mm-inspector`` console script's first instructions.

The signal contract (README, "Cache, runs and processes") holds from the first statement of
``main``: the handlers are installed before any heavy import (``inspector.cli`` and what it
pulls in take about 0.1 s), so a SIGTERM, SIGHUP or SIGINT that lands while Python imports the
commands, parses the arguments, builds, boots or captures ends the run with status 130 and the
``interrupted`` line. Only a signal that lands before this module runs (the interpreter's own
start-up, some 20 ms, in which nothing has been started) takes the signal's default action.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from inspector.signals import EXIT_INTERRUPTED, INTERRUPTED, install_handlers


def main(argv: Sequence[str] | None = None) -> int:
    install_handlers()
    try:
        from inspector.cli import run

        return run(argv)
    except KeyboardInterrupt:  # while importing: nothing had been started yet
        print(INTERRUPTED, file=sys.stderr)
        return EXIT_INTERRUPTED
