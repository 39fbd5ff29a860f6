"""The strict compare on a real 4.7 capture: one value changed in each class of compared values
is caught as exactly that class, and the model's inputs really drive its predictions.

One inspection of a real guest (x86_64, two nodes, memblock=debug) is shared; each test copies
its run directory, changes one thing and runs ``compare`` on the copy.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from inspector.arch import get_arch
from inspector.capture.run import inspect
from inspector.compare import compare, value_class
from inspector.kernel import source
from inspector.kernel.versions import V4_7
from inspector.schema import Snapshot
from inspector.vm.guest import BootRequest
from inspector.vm.topology import parse_topology

WHY = source.available(V4_7)
pytestmark = [pytest.mark.vm, pytest.mark.skipif(WHY is not None, reason=WHY or "")]


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("real-4.7-x86_64")
    req = BootRequest(
        V4_7,
        get_arch("x86_64"),
        parse_topology(None, 2, "768M,256M", None),
        append=("memblock=debug",),
    )
    inspect(req, run_dir, stop_timeout=120, quiet=True)
    assert not compare(run_dir).flat, "the unchanged capture must agree with the model"
    return run_dir


def edit(run: Path, stop: str, change: Callable[[Snapshot], None]) -> None:
    """Apply ``change`` to the last snapshot file of ``stop`` in ``run``."""
    path = sorted(run.glob(f"[0-9]*-{stop}.json"))[-1]
    snap = Snapshot.read(path)
    change(snap)
    snap.write(path)


def zone(snap: Snapshot, name: str):
    return next(z for n in snap.nodes for z in n.zones if z.name == name)


def _bump_blocks(s: Snapshot) -> None:
    fa = next(f for f in zone(s, "DMA32").free_area or [] if f.blocks and any(f.blocks))
    lst = next(b for b in fa.blocks or [] if b)
    lst[0] += 1 << fa.order  # another pfn at the head of that list


def _swap_zonelist(s: Snapshot) -> None:
    zl = next(z for z in s.zonelists or [] if len(z.zones) > 1)
    zl.zones[0], zl.zones[1] = zl.zones[1], zl.zones[0]


def _grow_reserved(s: Snapshot) -> None:
    assert s.memblock is not None
    s.memblock.reserved[-1].size += 4096


MUTATIONS: dict[str, tuple[str, Callable[[Snapshot], None]]] = {
    "node and zone sizes": (
        "free_area_init_core",
        lambda s: setattr(zone(s, "DMA"), "spanned_pages", zone(s, "DMA").spanned_pages + 1),
    ),
    "pageblocks": (
        "memmap_init_zone",
        lambda s: s.nodes[0].zones[0].pageblock_migratetypes.__setitem__(0, 2),  # type: ignore[union-attr]
    ),
    "zonelists": ("build_all_zonelists", _swap_zonelist),
    "globals": (
        "build_all_zonelists",
        lambda s: s.globals.__setitem__("nr_kernel_pages", s.globals["nr_kernel_pages"] + 1),
    ),
    "memblock at the hand-off": ("free_all_bootmem", _grow_reserved),
    "hash tables": (
        "free_all_bootmem",
        lambda s: s.globals.__setitem__("pidhash_shift", s.globals["pidhash_shift"] + 1),
    ),
    "per-cpu and swiotlb": (
        "free_all_bootmem",
        lambda s: s.globals.__setitem__("pcpu_unit_size", s.globals["pcpu_unit_size"] // 2),
    ),
    "free blocks": ("free_all_bootmem.return", _bump_blocks),
    "free-list counts": (
        "free_all_bootmem.return",
        lambda s: setattr(zone(s, "DMA32"), "nr_free_pages", zone(s, "DMA32").nr_free_pages + 1),
    ),
    "watermarks": (
        "init_per_zone_wmark_min",
        lambda s: zone(s, "DMA32").watermark.__setitem__(0, 1),  # type: ignore[union-attr]
    ),
    "lowmem_reserve": (
        "init_per_zone_wmark_min",
        lambda s: zone(s, "DMA").lowmem_reserve.__setitem__(1, 7),  # type: ignore[union-attr]
    ),
    "pcp": (
        "init_per_zone_wmark_min",
        lambda s: setattr(zone(s, "DMA32").pageset[0], "batch", 5),  # type: ignore[index]
    ),
}


@pytest.mark.parametrize("cls", list(MUTATIONS))
def test_one_changed_value_is_one_difference_of_its_class(cls: str, real_run: Path, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(real_run, run)
    stop, change = MUTATIONS[cls]
    edit(run, stop, change)
    diffs = compare(run).flat
    assert diffs, f"a changed {cls} value went unnoticed"
    assert {value_class(d.path) for d in diffs} == {cls}, [d.text() for d in diffs]
    assert {d.stop for d in diffs} == {stop}


def test_a_changed_log_line_and_trace_line_are_differences(real_run: Path, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(real_run, run)
    dmesg = (run / "dmesg.txt").read_text()
    line = next(x for x in dmesg.splitlines() if "Policy zone:" in x)
    trace_at = dmesg.index("On node 0 totalpages")
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

    edit(run, "free_area_init_nodes", drop)
    classes = {value_class(d.path) for d in compare(run).flat}
    assert {"memblock at the hand-off", "free-list counts", "free blocks"} <= classes
