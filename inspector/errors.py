"""The one exception type the CLI turns into a one-line error."""

from __future__ import annotations


class InspectorError(Exception):
    """A failure the user can fix; ``str(err)`` is one line that names the fix.

    ``detail`` (optional) is printed after the line, e.g. the tail of a build log or console.
    """

    def __init__(self, message: str, detail: str = "", exit_code: int = 2) -> None:
        super().__init__(message)
        self.detail = detail
        self.exit_code = exit_code


class GuestPanic(InspectorError):
    """The guest kernel panicked."""


class GuestTimeout(InspectorError):
    """The guest did not reach the expected point in time."""


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP: unwinds like Ctrl-C (every process a run started is stopped), but is
    never taken for a user's "stop watching"."""
