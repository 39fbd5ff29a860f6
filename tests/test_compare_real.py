"""The strict compare on a real capture of every built target (4.7 and 6.12, x86_64 and
arm64): one value changed in each class of compared values is caught as exactly that class,
every class is compared at all, and the model's inputs really drive its predictions.

One inspection of a real guest per target (two nodes, memblock=debug) is shared; each test copies
its run directory, changes one thing and runs ``compare`` on the copy.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from inspector.capture.run import inspect
from inspector.compare import compare, value_class
from inspector.model import model_for
from inspector.pytest_plugin import Target, mmi_targets
from inspector.registry import Role, stop_name
from inspector.schema import Snapshot
from inspector.vm.guest import BootRequest
from inspector.vm.topology import parse_topology

pytestmark = pytest.mark.vm


@pytest.fixture(scope="module", params=mmi_targets())
def real_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target: Target = request.param
    run_dir = tmp_path_factory.mktemp(f"real-{target}")
    req = BootRequest(
        target.version,
        target.arch,
        parse_topology(None, 2, "768M,256M", None),
        append=("memblock=debug",),
    )
    inspect(req, run_dir, stop_timeout=120, quiet=True)
    assert not compare(run_dir).flat, "the unchanged capture must agree with the model"
    return run_dir


def version_of(run: Path) -> str:
    snap = Snapshot.read(sorted(run.glob("[0-9]*-*.json"))[0])
    return snap.kernel.version


def edit(run: Path, role: Role, change: Callable[[Snapshot], None]) -> str:
    """Apply ``change`` to the last snapshot file of ``role``'s stop in ``run``; its name."""
    stop = stop_name(version_of(run), role)
    path = sorted(run.glob(f"[0-9]*-{stop}.json"))[-1]
    snap = Snapshot.read(path)
    change(snap)
    snap.write(path)
    return stop


def zones(snap: Snapshot) -> list[Any]:
    return [z for n in snap.nodes for z in n.zones]


def big(snap: Snapshot) -> Any:
    """Node 0's zone with the most present pages (DMA32 on x86_64, DMA on arm64)."""
    return max(snap.nodes[0].zones, key=lambda z: z.present_pages or 0)


def first(snap: Snapshot) -> Any:
    """Node 0's lowest populated zone."""
    return next(z for z in snap.nodes[0].zones if z.present_pages)


def _bump_blocks(s: Snapshot) -> None:
    fa = next(f for f in big(s).free_area or [] if f.blocks and any(f.blocks))
    lst = next(b for b in fa.blocks or [] if b)
    lst[0] += 1 << fa.order  # another pfn at the head of that list


def _swap_zonelist(s: Snapshot) -> None:
    zl = next(z for z in s.zonelists or [] if len(z.zones) > 1)
    zl.zones[0], zl.zones[1] = zl.zones[1], zl.zones[0]


def _grow_reserved(s: Snapshot) -> None:
    assert s.memblock is not None
    s.memblock.reserved[-1].size += 4096


def _flip_pageblock(s: Snapshot) -> None:
    z = next(z for z in zones(s) if z.pageblock_migratetypes)
    z.pageblock_migratetypes[0] = 2 if z.pageblock_migratetypes[0] != 2 else 1


def _global_of(cls: str) -> Callable[[Snapshot], None]:
    """Change the first integer global the capture holds of class ``cls``."""

    def change(s: Snapshot) -> None:
        name = next(
            k
            for k, v in sorted(s.globals.items())
            if isinstance(v, int)
            and not isinstance(v, bool)
            and value_class(f"globals[{k}]") == cls
        )
        s.globals[name] = s.globals[name] + 1 if s.globals[name] else 3

    return change


MUTATIONS: dict[str, tuple[Role, Callable[[Snapshot], None]]] = {
    "node and zone sizes": (
        Role.NODE,
        lambda s: setattr(first(s), "spanned_pages", first(s).spanned_pages + 1),
    ),
    "pageblocks": (Role.MEMMAP, _flip_pageblock),
    "zonelists": (Role.ZONELISTS, _swap_zonelist),
    "globals": (Role.ZONELISTS, _global_of("globals")),
    "memblock at the hand-off": (Role.HANDOFF, _grow_reserved),
    "hash tables": (Role.HANDOFF, _global_of("hash tables")),
    "per-cpu and swiotlb": (Role.HANDOFF, _global_of("per-cpu and swiotlb")),
    "free blocks": (Role.BUDDY, _bump_blocks),
    "free-list counts": (
        Role.BUDDY,
        lambda s: setattr(big(s), "nr_free_pages", big(s).nr_free_pages + 1),
    ),
    "watermarks": (Role.WMARKS, lambda s: big(s).watermark.__setitem__(0, 1)),
    "lowmem_reserve": (Role.WMARKS, lambda s: first(s).lowmem_reserve.__setitem__(1, 7)),
    "pcp": (Role.WMARKS, lambda s: setattr(big(s).pageset[0], "batch", 5)),
}
# Compared on every target besides the mutated classes: the boot log, and the memblock=debug
# trace, and the kernel id. A class whose count drops to zero is a check gone silent.
ALWAYS = {"log lines", "memblock trace", "kernel id"}


def test_every_class_is_compared(real_run: Path) -> None:
    counts = compare(real_run).counts
    assert {c for c in [*MUTATIONS, *ALWAYS] if counts[c] == 0} == set(), dict(counts)


@pytest.mark.parametrize("cls", list(MUTATIONS))
def test_one_changed_value_is_one_difference_of_its_class(cls: str, real_run: Path, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(real_run, run)
    role, change = MUTATIONS[cls]
    stop = edit(run, role, change)
    diffs = compare(run).flat
    assert diffs, f"a changed {cls} value went unnoticed"
    assert {value_class(d.path) for d in diffs} == {cls}, [d.text() for d in diffs]
    assert {d.stop for d in diffs} == {stop}


def test_a_changed_log_line_and_trace_line_are_differences(real_run: Path, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(real_run, run)
    dmesg = (run / "dmesg.txt").read_text()
    line = next(x for x in dmesg.splitlines() if "Policy zone:" in x)
    start = model_for(version_of(run)).trace_start
    offset, trace_at = 0, -1
    for text in dmesg.splitlines(keepends=True):  # the first line the trace starts at
        if start.match(re.sub(r"^\[ *\d+\.\d+\] ", "", text)):
            trace_at = offset
            break
        offset += len(text)
    assert trace_at >= 0, f"no line matches {start.pattern}"
    later = dmesg.index("memblock_reserve: [", trace_at)
    end = dmesg.index("\n", later)
    changed = dmesg[:later] + dmesg[later:end].replace("0x", "0x1", 1) + dmesg[end:]
    (run / "dmesg.txt").write_text(changed.replace(line, line.replace("Policy", "Polic")))
    result = compare(run)
    assert {d.stop for d in result.flat} == {"dmesg", "memblock=debug"}
    assert result.counts["memblock trace"] > 10


def test_the_model_reads_its_inputs(real_run: Path, tmp_path):
    # drop one reservation from stop 1's memblock: what the buddy allocator gets must change,
    # and the memblock the model predicts at the hand-off with it
    run = tmp_path / "run"
    shutil.copytree(real_run, run)

    def drop(s: Snapshot) -> None:
        assert s.inputs is not None
        reserved = s.inputs.memblock.reserved
        reserved.remove(max(reserved, key=lambda r: r.size))  # the kernel image, say

    edit(run, Role.INPUTS, drop)
    classes = {value_class(d.path) for d in compare(run).flat}
    assert {"memblock at the hand-off", "free-list counts", "free blocks"} <= classes
