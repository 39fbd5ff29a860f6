"""Debian's own kernels, unmodified (``--kver debian:6.12`` / ``debian:6.1``): fetched through
apt with their -dbg vmlinux, booted, inspected and compared. The model reads their configuration
(DEFERRED_STRUCT_PAGE_INIT, HUGETLB's pageblock order, FIRMWARE_MEMMAP, HIBERNATION,
CPUMASK_OFFSTACK, NR_CPUS 8192, ZONE_DEVICE): the captures of an x86_64 guest, its log and its
memblock trace must equal the model's. The tests skip only when apt cannot fetch the packages
(no network), and say so."""

from __future__ import annotations

import re

import pytest

from inspector.arch import get_arch
from inspector.errors import InspectorError
from inspector.schema import Memblock, Snapshot

from .cli import mmi


def _fetched(kver: str, arch: str) -> None:
    from inspector.kernel.build import build
    from inspector.kernel.source import get_version

    try:
        build(get_version(kver), get_arch(arch), quiet=True)
    except InspectorError as e:
        if "apt-get" in str(e) or "apt knows no" in str(e):
            pytest.skip(f"Debian's {kver} {arch} packages cannot be fetched here: {e}")
        raise


def test_a_debian_name_is_a_version_and_a_bad_one_is_one_line():
    from inspector.kernel.source import get_version

    v = get_version("debian:6.12")
    assert v.prebuilt == "debian:6.12" and v.name == "6.12" and v.label == "debian-6.12"
    with pytest.raises(InspectorError, match=r"debian:6\.1 and debian:6\.12"):
        get_version("debian:5.10")


@pytest.mark.vm
@pytest.mark.parametrize("kver", ["debian:6.12", "debian:6.1"])
def test_debians_unmodified_kernel_equals_the_model(kver, tmp_path):
    """2 GiB, 2 CPUs, memblock=debug: every stop (the deferred struct pages left out of the
    memmap's pageblocks and the hand-off, then freed before the watermarks), the log lines and
    the memblock trace (the firmware map entries, the nosave regions, the off-stack cpumasks)
    equal the model at the package's own release (6.12.118, 6.1.192)."""
    _fetched(kver, "x86_64")
    args = ["--arch", "x86_64", "--kver", kver, "--mem", "2G", "--smp", "2"]
    inspect = mmi(["inspect", *args, "--append", "memblock=debug"], tmp_path)
    assert inspect.returncode == 0, inspect.stderr[-3000:]
    run = next((tmp_path / "runs").iterdir())
    assert "deferred pages initialised" in (run / "dmesg.txt").read_text()
    compare = mmi(["compare", str(run)], tmp_path, timeout=300)
    out = compare.stdout + compare.stderr
    assert compare.returncode == 0, out[-3000:]
    assert "0 differences between model and kernel" in out
    for stop in (
        "memmap_init_range",
        "memblock_free_all.return",
        "page_alloc_init_late",
        "memblock=debug",
    ):
        assert f"\n{stop} (" in out, stop
    # the deferred stop holds what deferred_init_memmap() freed, in the kernel's own numbers:
    # the zones' managed pages grew by the free memblock pages (memblock_free_all's entry) at
    # or above each node's first_deferred_pfn (the hand-off's), and by the image's SMP
    # alternatives that alternative_instructions() freed meanwhile (its log line); most of the
    # deferred pages are MOVABLE blocks
    snaps = {p.stem.split("-", 1)[1]: Snapshot.read(p) for p in run.glob("[0-9]*-*.json")}
    memblock = snaps["memblock_free_all"].memblock
    handoff, late = snaps["memblock_free_all.return"], snaps["page_alloc_init_late"]
    assert memblock is not None
    dmesg = (run / "dmesg.txt").read_text()
    alternatives = re.search(r"Freeing SMP alternatives memory: (\d+)K", dmesg)
    grown = -(int(alternatives.group(1)) // 4 if alternatives else 0)
    deferred = 0
    for before, after in zip(handoff.nodes, late.nodes, strict=True):
        first = before.first_deferred_pfn
        assert first is not None and first < 1 << 40
        assert after.first_deferred_pfn == (1 << 64) - 1  # reset by deferred_init_memmap()
        for zb, za in zip(before.zones, after.zones, strict=True):
            lo, hi = max(first, za.zone_start_pfn), za.zone_start_pfn + za.spanned_pages
            free = _free_pfns(memblock, before.node_id, lo, hi)
            movable = sum(n << o for o, n in enumerate(za.deferred_movable_nr_free or []))
            assert free >= movable > free // 2 or free == movable == 0, za.name
            grown += (za.managed_pages or 0) - (zb.managed_pages or 0)
            deferred += free
    assert deferred > 0 and grown == deferred
    report = mmi(["report", str(run)], tmp_path, timeout=300)
    assert report.returncode == 0, report.stderr[-2000:]
    page = (run / "report.html").read_text()
    assert "page_alloc_init_late()</code></h2>" in page
    assert "deferred pages initialised" in page


@pytest.mark.vm
def test_a_stop_that_sleeps_returns_on_any_vcpu(tmp_path):
    """6.12's init_per_zone_wmark_min() ends in khugepaged_min_free_kbytes_update(), which takes
    a mutex: its task may sleep and return on the other vCPU. gdb's finish stays bound to the
    vCPU that entered and ended at a later return into do_one_initcall()'s frame, after
    khugepaged had raised min_free_kbytes (seen 1 time in 2 on this cell before the return was
    caught on any vCPU). Two nodes of 3 GiB, 2 CPUs: the watermark stop equals the model."""
    _fetched("debian:6.12", "x86_64")
    proc = mmi(
        ["validate", "--kver", "debian:6.12", "--arch", "x86_64", "--only", "6G-2nodes"], tmp_path
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "1/1 topologies with 0 differences" in proc.stdout


def _free_pfns(memblock: Memblock, nid: int, lo: int, hi: int) -> int:
    """Pages of node ``nid`` in [lo, hi) that memblock.memory has and memblock.reserved lacks."""
    pages = set()
    for r in memblock.memory:
        if r.nid == nid:
            pages.update(range(max(lo, -(-r.base >> 12)), min(hi, (r.base + r.size) >> 12)))
    for r in memblock.reserved:
        pages.difference_update(range(r.base >> 12, -(-(r.base + r.size) >> 12)))
    return len(pages)
