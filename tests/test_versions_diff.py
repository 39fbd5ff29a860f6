"""``diff-versions``: 4.7 and 6.12 on the same topology. Unit tests on hand-made views; then both
kernels booted for real on each arch (skipped without a 4.7 source), where every difference
must be explained by a kernel change of ``inspector.kernel_changes`` and the views must hold
what each kernel is known to do differently."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from inspector.kernel import source
from inspector.kernel.versions import V4_7
from inspector.kernel_changes import BY_ID, CHANGES, changes_for
from inspector.versions_diff import Row, diff_views, log_rows

WHY = source.available(V4_7)
REPO = Path(__file__).resolve().parents[1]


def test_rows_on_both_sides_and_one_side():
    old = {"zonelists:globals[vm_total_pages]": 100, "wmarks:globals[min_free_kbytes]": 5}
    new = {"wmarks:globals[min_free_kbytes]": 5, "wmarks:node[0].zone[DMA].watermark[promo]": 9}
    rows = {r.key: r for r in diff_views(old, new, "x86_64")}
    assert not rows["wmarks:globals[min_free_kbytes]"].differs
    assert rows["zonelists:globals[vm_total_pages]"].new is None
    assert rows["zonelists:globals[vm_total_pages]"].changes == ["vm-total-pages-local"]
    assert rows["wmarks:node[0].zone[DMA].watermark[promo]"].old is None
    assert "wmark-promo" in rows["wmarks:node[0].zone[DMA].watermark[promo]"].changes
    # rows come in stop order: zonelists before wmarks
    assert next(iter(rows)).startswith("zonelists:")


def test_a_row_no_change_explains_is_untagged():
    rows = diff_views(
        {"inputs:constants[MAX_ORDER]": 11}, {"inputs:constants[MAX_ORDER]": 10}, "arm64"
    )
    assert rows[0].differs and rows[0].changes == []


def test_zonelist_tags_tell_zone_order_from_node_weights():
    zone_order = "0:Normal 1:Normal 0:DMA32 1:DMA32"
    node_a = "0:DMA32 1:DMA32 2:DMA32"
    node_b = "0:DMA32 2:DMA32 1:DMA32"
    key = "zonelists:zonelist[0,fallback]"
    assert [c.id for c in changes_for(key, zone_order, node_a, "x86_64")] == [
        "zonelist-zone-order-removed"
    ]
    assert "arm64-zone-dma32" in [c.id for c in changes_for(key, zone_order, node_a, "arm64")]
    ids = [c.id for c in changes_for(key, node_a, node_b, "x86_64")]
    assert "node-load-accumulated" in ids and "zonelist-zone-order-removed" not in ids


def test_lowmem_reserve_of_an_empty_zone():
    key = "wmarks:node[0].zone[Normal].lowmem_reserve[Movable]"
    assert "lowmem-reserve-empty-zone" in [c.id for c in changes_for(key, 1234, 0, "x86_64")]
    assert "lowmem-reserve-empty-zone" not in [c.id for c in changes_for(key, 1234, 1200, "x86_64")]


def test_log_rows_key_lines_by_shape():
    dmesg = (
        "[    0.000000] On node 0 totalpages: 262014\n"
        "[    0.000000]   DMA zone: 64 pages used for memmap\n"
        "[    0.000000]   DMA32 zone: 4032 pages used for memmap\n"
        "[    0.000000] unrelated line\n"
        "[    0.100000] Memory: 1000K/2000K available (123K kernel code)\n"
    )
    rows = dict(log_rows(dmesg))
    assert rows["On node # totalpages: # #1"] == "On node 0 totalpages: 262014"
    assert rows["DMA zone: # pages used for memmap #1"] == "DMA zone: 64 pages used for memmap"
    assert rows["DMA# zone: # pages used for memmap #1"] == "DMA32 zone: 4032 pages used for memmap"
    assert rows["Memory: #K/#K #1"] == "Memory: 1000K/2000K"
    assert len(rows) == 4


def test_every_change_is_described_and_cited_only_with_its_subject():
    assert len(BY_ID) == len(CHANGES)
    for c in CHANGES:
        assert c.what and c.function and c.patterns
        for commit in c.commits:
            assert commit.subject, c.id
            if commit.id:  # an id is cited only with its subject and release
                assert len(commit.id) == 12 and int(commit.id, 16) >= 0 and commit.release


def _inspect(arch: str, kver: str, runs: Path, *extra: str) -> Path:
    before = set(runs.glob("*"))
    proc = subprocess.run(
        [sys.executable, "-m", "inspector.cli", "inspect", "--arch", arch, "--kver", kver, *extra],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**__import__("os").environ, "MMI_RUNS_DIR": str(runs)},
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (new,) = set(runs.glob("*")) - before
    return new


@pytest.mark.vm
@pytest.mark.skipif(WHY is not None, reason=WHY or "")
@pytest.mark.parametrize("arch", ["x86_64", "arm64"])
def test_diff_versions_on_real_kernels(arch, tmp_path):
    numa = ["--numa", "768M,256M", "--smp", "2"]
    old = _inspect(arch, "4.7", tmp_path, *numa)
    new = _inspect(arch, "6.12", tmp_path, *numa)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "inspector.cli",
            "diff-versions",
            "--arch",
            arch,
            "--runs",
            str(old),
            str(new),
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    import json

    out = json.loads(proc.stdout)
    rows = [Row(**d) for d in out["differences"]]
    by_key = {r.key: r for r in rows}
    untagged = [r.key for r in rows if not r.changes]
    assert untagged == [], untagged
    assert out["compared"] > 200
    # what each kernel is known to do differently, read from the two captures
    assert by_key["stop:handoff"].old == "free_all_bootmem"
    assert by_key["stop:handoff"].new == "memblock_free_all"
    # managed_pages at build_all_zonelists: 4.7's estimate is below present, 6.12's equals it
    managed = [
        r
        for r in rows
        if r.key.startswith("zonelists:") and r.key.endswith("managed_pages") and r.old
    ]
    assert managed and all(r.changes == ["managed-equals-present"] for r in managed)
    for r in managed:
        present = by_key.get(r.key.replace("managed_pages", "present_pages"))
        new_present = present.new if present else None  # a row only where present differs
        assert r.old < r.new and (new_present is None or r.new == new_present)
    promo = [r for r in rows if r.key.endswith("watermark[promo]")]
    assert promo and all(r.old is None and r.new is not None for r in promo)
    assert any(r.key.startswith("log:Fallback order for Node") for r in rows)
