"""pytest fixtures for writing your own checks against real kernels (a pytest11 plugin).

``mmi_targets()`` lists (version, arch) pairs whose kernel source is at hand, and as pytest
params marks the others skipped with the reason. ``mmi_boot`` boots a guest and stops it after
the test::

    @pytest.mark.parametrize("target", mmi_targets(), ids=str)
    def test_two_nodes(target, mmi_boot):
        guest = mmi_boot(target, numa="512M,512M")
        assert "Node 1" in guest.read("/proc/zoneinfo")
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from inspector.arch import ARCHES, Arch, get_arch
from inspector.kernel import source
from inspector.kernel.source import get_version
from inspector.kernel.versions import VERSIONS, KernelVersion
from inspector.vm.guest import BootRequest, Guest, booted
from inspector.vm.topology import parse_topology


@dataclass(frozen=True)
class Target:
    version: KernelVersion
    arch: Arch

    def __str__(self) -> str:
        return f"{self.version.name}-{self.arch.name}"


def mmi_targets(
    versions: tuple[str, ...] = tuple(VERSIONS), arches: tuple[str, ...] = tuple(ARCHES)
) -> list[object]:
    """pytest params for every (version, arch); those without a source are skipped, saying why."""
    params: list[object] = []
    for v in versions:
        version = get_version(v)
        why = source.available(version)
        for a in arches:
            t = Target(version, get_arch(a))
            marks = [pytest.mark.skip(reason=why)] if why else []
            params.append(pytest.param(t, id=str(t), marks=marks))
    return params


BootFactory = Callable[..., Guest]


@pytest.fixture
def mmi_boot(tmp_path: Path) -> Iterator[BootFactory]:
    """``mmi_boot(target, mem=, smp=, numa=, numa_dist=, append=)`` → a Guest at its shell."""
    with contextlib.ExitStack() as stack:

        def boot(
            target: Target,
            mem: str | None = None,
            smp: int | None = None,
            numa: str | None = None,
            numa_dist: str | None = None,
            append: tuple[str, ...] = (),
            timeout: float = 180.0,
        ) -> Guest:
            req = BootRequest(
                target.version,
                target.arch,
                parse_topology(mem, smp, numa, numa_dist),
                append=append,
                timeout=timeout,
            )
            run_dir = tmp_path / f"run-{len(list(tmp_path.iterdir()))}-{target}"
            run_dir.mkdir()
            return stack.enter_context(booted(req, run_dir, quiet=True))

        yield boot
