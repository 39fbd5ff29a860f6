"""Where mm-inspector keeps its cache (sources, builds) and its run directories."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$MMI_CACHE_DIR``, else ``$XDG_CACHE_HOME/mm-inspector``, else ``~/.cache/mm-inspector``."""
    if env := os.environ.get("MMI_CACHE_DIR"):
        return Path(env).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return (Path(base) / "mm-inspector").resolve()


def runs_dir() -> Path:
    """``$MMI_RUNS_DIR``, else ``./runs``: one sub-directory per VM run."""
    return Path(os.environ.get("MMI_RUNS_DIR") or "runs").expanduser().resolve()


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary name beside ``path`` and rename it into place: an
    interrupted write never leaves a truncated file under the real name."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise OSError(e.errno, e.strerror, str(path)) from None  # name the file, not the tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
