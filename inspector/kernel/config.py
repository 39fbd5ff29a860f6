"""Kconfig fragments (``kernel-configs/`` in a checkout, package data ``inspector/kernel/configs``
in an installed mm-inspector): which apply, what they ask, checking the result."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from inspector.arch import Arch
from inspector.errors import InspectorError
from inspector.kernel.versions import KernelVersion

# the package's own files, wherever it is installed (a checkout's kernel-configs/ links here)
CONFIGS_DIR = Path(str(resources.files("inspector.kernel").joinpath("configs")))

_SET = re.compile(r"^(CONFIG_\w+)=(.*)$")
_UNSET = re.compile(r"^# (CONFIG_\w+) is not set$")


def fragments(version: KernelVersion, arch: Arch, configs_dir: Path = CONFIGS_DIR) -> list[Path]:
    """The fragments for a build, in the order they are applied (later ones win)."""
    name = version.fragments or version.name
    names = ["common", arch.name, name, f"{name}-{arch.name}"]
    found = [configs_dir / f"{n}.config" for n in names]
    if not found[0].exists():
        raise InspectorError(
            f"{found[0]} missing: reinstall mm-inspector (its kernel config fragments are "
            "package data)"
        )
    return [p for p in found if p.exists()]


def parse(text: str) -> dict[str, str]:
    """``{"CONFIG_X": "y" | "n" | value}``; ``# CONFIG_X is not set`` reads as ``"n"``."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if m := _SET.match(line):
            out[m.group(1)] = m.group(2)
        elif m := _UNSET.match(line):
            out[m.group(1)] = "n"
    return out


def requested(frags: list[Path]) -> dict[str, str]:
    """What the fragments ask for, later fragments overriding earlier ones."""
    out: dict[str, str] = {}
    for f in frags:
        out.update(parse(f.read_text()))
    return out


def dropped(final: dict[str, str], wanted: dict[str, str]) -> list[str]:
    """Requested options the final config does not honour, as ``CONFIG_X=want (got …)``."""
    bad = []
    for sym, want in wanted.items():
        got = final.get(sym, "n")
        if got != want:
            bad.append(f"{sym}={want} (got {got if sym in final else 'absent'})")
    return bad


def check(config_path: Path, frags: list[Path], given: Path | None = None) -> None:
    """Every option the fragments ask for is in the final .config; ``given``: the user's own
    .config it came from (the error then names it, not the fragments)."""
    missing = dropped(parse(config_path.read_text()), requested(frags))
    if missing and given is not None:
        raise InspectorError(
            f"{given} lacks {len(missing)} option(s) mm-inspector needs: "
            + ", ".join(missing)
            + " — set them (kernel-configs/ lists them), or leave KERNEL_CONFIG out"
        )
    if missing:
        raise InspectorError(
            f"Kconfig dropped {len(missing)} requested option(s) in {config_path}: "
            + ", ".join(missing)
            + " — fix the fragments in kernel-configs/ (a missing dependency?)"
        )


def read_config(path: Path) -> dict[str, str]:
    """A built ``.config`` as {CONFIG_X: value}: options set, quotes stripped ("is not set"
    lines and =n left out, so ``"CONFIG_X" in cfg`` means it is on or has a value)."""
    return {k: v.strip('"') for k, v in parse(path.read_text()).items() if v != "n"}
