"""mm-inspector installed as a tool, not run from its checkout: the wheel ``pip wheel .`` makes,
installed into a fresh virtualenv outside the checkout, works from another directory (the
version, ``deps --check``, a build from the shared kernel cache, a boot, one validate cell on
6.12 x86_64), and its pytest plugin is loaded from the installed package by a test file that
lies outside the checkout. Everything the package reads (the kernel config fragments, the gdb
helper, the matrix runner) must therefore be in the wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

USER_TEST = """
import inspector
from inspector.pytest_plugin import mmi_targets


def test_plugin_comes_from_the_installed_package(request):
    assert "site-packages" in inspector.__file__, inspector.__file__
    assert request.config.pluginmanager.has_plugin("mm_inspector")


@pytest.mark.parametrize("target", mmi_targets(("6.12",), ("x86_64",)), ids=str)
def test_a_users_own_check(target, mmi_boot):
    guest = mmi_boot(target, mem="512M")
    assert "MemTotal:" in guest.read("/proc/meminfo")
"""


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 900) -> str:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{argv}: {proc.stdout[-2000:]}{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.mark.vm
def test_the_wheel_works_outside_the_checkout(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["MMI_RUNS_DIR"] = str(tmp_path / "runs")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(REPO)],
        elsewhere,
        env,
    )
    wheel = next(tmp_path.glob("mm_inspector-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "inspector/kernel/configs/common.config" in names
    assert "inspector/debug/mmi_gdb.py" in names and "inspector/validate_matrix.py" in names
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], elsewhere, env)
    _run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], elsewhere, env)
    mmi = str(venv / "bin" / "mm-inspector")
    version = _run([mmi, "--version"], elsewhere, env).strip()
    meta = _run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "from importlib.metadata import version; print(version('mm-inspector'))",
        ],
        elsewhere,
        env,
    ).strip()
    assert version == f"mm-inspector {meta}"
    assert (
        _run([str(venv / "bin" / "python"), "-m", "inspector", "--version"], elsewhere, env).strip()
        == version
    )
    assert "Linux 4.7:" in _run([mmi, "deps", "--check"], elsewhere, env)
    _run([mmi, "build", "--arch", "x86_64", "--kver", "6.12"], elsewhere, env)
    out = _run(
        [
            mmi,
            "boot",
            "--arch",
            "x86_64",
            "--kver",
            "6.12",
            "--mem",
            "512M",
            "--run",
            "cat /proc/cmdline",
        ],
        elsewhere,
        env,
    )
    assert "rdinit=/init" in out
    out = _run(
        [mmi, "validate", "--kver", "6.12", "--arch", "x86_64", "--only", "tiny-160M"],
        elsewhere,
        env,
    )
    assert "1/1 topologies with 0 differences" in out
    (elsewhere / "test_mine.py").write_text("import pytest\n" + USER_TEST)
    out = _run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "test_mine.py",
        ],
        elsewhere,
        env,
    )
    assert "2 passed" in out
    completion = _run([mmi, "completion", "bash"], elsewhere, env)
    assert "complete -F _mm_inspector mm-inspector" in completion and " inspect " in completion


def test_deps_check_names_what_is_missing_and_the_package_that_brings_it(monkeypatch, capsys):
    from inspector import deps

    fake = deps.Package("mmi-no-such-package", "nothing, it is a test")
    monkeypatch.setattr(deps, "PACKAGES", (*deps.PACKAGES, fake))
    lines = deps.missing()
    assert lines[-1].startswith("mmi-no-such-package: missing (Debian package mmi-no-such-pack")
    parser = __import__("inspector.cli", fromlist=["parser"]).parser()
    assert deps.cmd_deps(parser.parse_args(["deps", "--check"])) == 1
    assert "missing: mmi-no-such-package" in capsys.readouterr().out


def test_deps_off_debian_is_one_line(monkeypatch, tmp_path):
    from inspector import deps

    monkeypatch.setenv("PATH", str(tmp_path))  # no dpkg-query
    (line,) = deps.missing()
    assert line.startswith("dpkg-query: this is not a Debian system") and "gdb-multiarch" in line
