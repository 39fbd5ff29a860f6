"""The reference models against real kernels: a few cells of ``make validate``'s matrix run in
every ``make test`` (the whole matrix is ``make validate KVER=4.7`` / ``KVER=6.12``). 6.12's
source is always at hand, so its cells always run; 4.7's skip without a 4.7 source."""

import pytest

from inspector.kernel import source
from inspector.kernel.versions import V4_7
from inspector.validate import MATRIX, run_case

SMOKE = ("1G", "2nodes-uneven", "memmap-hole")
WHY = source.available(V4_7)


@pytest.mark.vm
@pytest.mark.skipif(WHY is not None, reason=WHY or "")
@pytest.mark.parametrize("arch", ["x86_64", "arm64"])
@pytest.mark.parametrize("case", [c for c in MATRIX if c.name in SMOKE], ids=lambda c: c.name)
def test_model_matches_real_kernel(case, arch, tmp_path):
    res = run_case("4.7", arch, case, tmp_path, stop_timeout=120)
    assert res.error == ""
    assert res.stops >= 7
    assert res.differences == 0, "\n".join(res.details)


SMOKE_6_12 = ("2nodes-uneven", "memmap-hole", "movablecore-25pct")


@pytest.mark.vm
@pytest.mark.parametrize("arch", ["x86_64", "arm64"])
@pytest.mark.parametrize("case", [c for c in MATRIX if c.name in SMOKE_6_12], ids=lambda c: c.name)
def test_6_12_model_matches_real_kernel(case, arch, tmp_path):
    res = run_case("6.12", arch, case, tmp_path, stop_timeout=120)
    assert res.error == ""
    assert res.stops >= 7
    assert res.differences == 0, "\n".join(res.details)
    # the 6.12 model compares every stop but the hand-off's entry
    assert {"node and zone sizes", "pageblocks", "zonelists", "free blocks", "watermarks"} <= set(
        res.compared
    )


@pytest.mark.vm
def test_a_server_sized_guest_matches_the_model(tmp_path):
    """64 GiB over 4 nodes with 16 CPUs on 6.12 x86_64, its RAM backed only where written: the
    path to server-sized guests (the 256 GiB cells are in ``make validate``) stays held."""
    case = next(c for c in MATRIX if c.name == "64G-4nodes-16cpus")
    res = run_case("6.12", "x86_64", case, tmp_path, stop_timeout=120)
    assert res.error == ""
    assert res.differences == 0, "\n".join(res.details)
    assert res.compared["pageblocks"] >= 64 << 30 >> 21  # one per 2 MiB pageblock of RAM
