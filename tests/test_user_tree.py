"""Your own kernel: a copy of the 6.12 tree with a one-line change to zone_batchsize() (the pcp
batch capped at 256 KiB instead of 1 MiB), built as a user tree (``--kernel-tree``), inspected,
and compared with the 6.12 model. Compare must report exactly the fields that computation feeds
(every CPU's pageset batch of the zones whose batch the cap changes) and nothing else, and each
captured batch must be what the model's own chain for it gives with the new cap.

The tree lives in the cache (hard links to the Debian 6.12 tree, one file replaced), so its build
is made once per machine and reused; the first run builds it (about five minutes on 2 cores)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from inspector.arch import get_arch
from inspector.capture.run import inspect
from inspector.compare import compare, generic_path
from inspector.errors import InspectorError
from inspector.kernel.source import makefile_release, resolve
from inspector.kernel.versions import V6_12, for_tree
from inspector.model.provenance import walk
from inspector.paths import cache_dir
from inspector.vm.guest import BootRequest
from inspector.vm.topology import parse_topology

pytestmark = pytest.mark.vm

ORIGINAL = "batch = min(zone_managed_pages(zone) >> 10, SZ_1M / PAGE_SIZE);"
CHANGED = "batch = min(zone_managed_pages(zone) >> 10, SZ_256K / PAGE_SIZE);"


def user_tree() -> Path:
    """The 6.12 tree with the one-line change, made once (hard links; the changed file is a
    new file, so the cached Debian tree is untouched)."""
    stock = resolve(V6_12).path
    tree = cache_dir() / "test-trees" / "linux-6.12-batch-256k"
    page_alloc = tree / "mm" / "page_alloc.c"
    if not page_alloc.exists() or CHANGED not in page_alloc.read_text():
        tmp = tree.with_name(tree.name + ".tmp")
        subprocess.run(["rm", "-rf", str(tmp), str(tree)], check=True)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cp", "-al", str(stock), str(tmp)], check=True)
        text = (tmp / "mm" / "page_alloc.c").read_text()
        assert text.count(ORIGINAL) == 1
        (tmp / "mm" / "page_alloc.c").unlink()  # break the hard link before writing
        (tmp / "mm" / "page_alloc.c").write_text(text.replace(ORIGINAL, CHANGED))
        tmp.rename(tree)
    return tree


def test_a_one_line_change_shows_as_exactly_its_fields(tmp_path: Path) -> None:
    tree = user_tree()
    version = for_tree(str(tree), makefile_release(tree))
    assert version.name == "6.12" and version.tree == str(tree)
    req = BootRequest(version, get_arch("x86_64"), parse_topology("1G", 2, None, None))
    (tmp_path / "run").mkdir()
    out = inspect(req, tmp_path / "run", stop_timeout=120, quiet=True)
    cmp = compare(out.run_dir)
    diffs = cmp.flat
    assert diffs, "the changed batch cap must show"
    assert {generic_path(d.path) for d in diffs} == {"zone.pageset.batch"}, [
        d.text() for d in diffs
    ]
    for d in diffs:
        assert d.via.startswith("zone_batchsize()")  # compare names the function behind it
        chains = cmp.chains[d.stop]
        below = list(walk(chains, d.path))
        sizer = next(c for c in below if c.function.startswith("zone_batchsize()"))
        ops = {o.name: o.value for o in sizer.operands}
        assert ops["cap"] == 1 << 20
        # the model's own chain with the tree's cap gives what the kernel computed
        changed = type(sizer)(
            sizer.path,
            None,
            sizer.expr,
            sizer.function,
            tuple(o if o.name != "cap" else type(o)("cap", 256 << 10) for o in sizer.operands),
        )
        assert max(1, changed.evaluate()) == d.captured
        assert d.model == max(1, sizer.value)
    # every CPU of the zones whose batch changed, and no other value of any stop
    zones = {d.path.split(".pageset")[0] for d in diffs}
    assert len(diffs) == len(zones) * 2  # two CPUs


def test_a_tree_without_the_plan_functions_is_one_line(tmp_path: Path) -> None:
    """A tree is modelled at its own release; a vmlinux that lacks a stop's function is a
    one-line error naming it (checked on the 4.7 build under the 6.12 plan)."""
    from inspector.capture.plan import check_plan, plan_for
    from inspector.debug.layout import layout_for
    from inspector.kernel.build import build
    from inspector.kernel.source import available
    from inspector.kernel.versions import V4_7

    if available(V4_7):
        pytest.skip(available(V4_7) or "")
    b = build(V4_7, get_arch("x86_64"), quiet=True)
    layout = layout_for(b.vmlinux, get_arch("x86_64"))
    with pytest.raises(InspectorError, match="has no function memmap_init_range"):
        check_plan(plan_for("6.12"), layout.has_function, b.vmlinux)
