"""Releases as values, the change records placed by release, the release each model runs, and
the model run at two releases (``diff-versions --model``) on a real 6.1 capture."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from inspector.capture.run import inspect
from inspector.compare import compare
from inspector.errors import InspectorError
from inspector.kernel_changes import BY_ID, CHANGES, first_release, landed, release_of, table
from inspector.model import model_for_release
from inspector.pytest_plugin import Target, mmi_targets
from inspector.release import Release, at_least
from inspector.releases_diff import diff_models
from inspector.vm.guest import BootRequest
from inspector.vm.topology import parse_topology

ROOT = Path(__file__).resolve().parents[1]


def test_releases_compare_as_numbers_not_strings():
    assert Release.parse("6.1.192") < Release.parse("6.12")  # "6.1.192" > "6.12" as strings
    assert Release.parse("5.10.0-21-amd64") == Release(5, 10, 0)
    assert Release.parse("v4.19-rc1").series == Release(4, 19)
    assert Release.parse("4.7.4-casio-testing") > Release.parse("4.7")
    assert at_least("6.1.192", 5, 18) and not at_least("4.7", 4, 14)
    with pytest.raises(InspectorError, match="not a kernel release"):
        Release.parse("linux")


def test_a_change_is_in_exactly_the_releases_from_its_first_one():
    for c in CHANGES:
        first = first_release(c)
        if first is None:
            assert c.backports, f"{c.id}: neither a release nor a stable backport places it"
            continue
        major, minor = first
        assert c.id in landed(Release(major, minor))
        assert c.id in landed(Release(major, minor, 7))
        before = Release(major, minor - 1) if minor else Release(major - 1, 99)
        assert c.id not in landed(before)
        # a commit's release and a "since" agree on the earliest checked one
        checked = [r for x in c.commits if (r := release_of(x.release))]
        if checked:
            assert first == min(checked)


def test_a_stable_backport_is_in_that_series_from_its_patch_level_only():
    c = BY_ID["node-spanned-end-minus-start"]
    stable = Release.parse(c.backports[0])
    assert c.id in landed(stable) and c.id in landed(Release(stable.major, stable.minor, 999))
    assert c.id not in landed(Release(stable.major, stable.minor, stable.patch - 1))
    assert c.id not in landed(Release(stable.major, stable.minor + 1))  # not placed in mainline


def test_each_placed_change_says_what_placed_it():
    for c in CHANGES:
        if not any(x.id and x.release for x in c.commits):
            assert c.evidence, f"{c.id}: placed without a checked commit and without evidence"


def test_6_1_and_6_12_differ_by_the_changes_between_them():
    between = landed("6.12.118") - landed("6.1.192")
    for cid in (
        "managed-equals-present",
        "calc-nr-kernel-pages",
        "pcp-high-autotune",
        "movable-min-watermark",
        "memory-line-late",
        "zonelists-in-mm-core-init",
    ):
        assert cid in between
    assert landed("6.1.192") - landed("6.12.118") == frozenset()


def test_each_release_runs_the_model_of_its_family_and_others_are_refused():
    assert model_for_release("4.19.0-21-amd64").version == "4.7"
    assert model_for_release("5.15.0-91-generic").version == "6.12"
    assert model_for_release(Release(6, 1, 192)).version == "6.12"
    with pytest.raises(InspectorError, match=r"outside .* nearest covered release is 6\.12"):
        model_for_release("6.18.2")
    with pytest.raises(InspectorError, match=r"nearest covered release is 4\.0"):
        model_for_release("3.10.0-1160.el7.x86_64")
    with pytest.raises(InspectorError, match=r"nearest covered release is (4\.19|5\.11)"):
        model_for_release("5.4.0")


def test_the_changes_are_listed_in_release_order():
    order = [first_release(c) or (99, 99) for c in table.in_release_order()]
    assert order == sorted(order)
    assert len(order) == len(CHANGES)
    text = table.text()
    assert all(c.id in text for c in CHANGES)


def test_readme_carries_the_generated_table_of_changes():
    """README.md's table is the records' (``mm-inspector changes --markdown``): it cannot drift."""
    readme = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- changes:begin -->\n(.*?)<!-- changes:end -->", readme, re.S)
    assert m, "README.md lacks the changes table markers"
    assert m.group(1) == table.markdown(), "run `make readme-changes`"


@pytest.mark.vm
@pytest.mark.parametrize("target", mmi_targets(("6.1",), ("x86_64",)))
def test_model_at_two_releases_on_a_real_6_1_capture(target: Target, tmp_path: Path) -> None:
    """``diff-versions --model 6.1 6.12.118`` on a real 6.1 guest's inputs: the model at 6.1
    agrees with the kernel (compare), and every row the model at 6.12 changes is tagged with a
    change that landed between the two releases, none untagged."""
    req = BootRequest(target.version, target.arch, parse_topology(None, 2, "768M,256M", None))
    inspect(req, tmp_path, stop_timeout=120, quiet=True)
    assert not compare(tmp_path).flat
    result = diff_models(tmp_path, "6.1", "6.12.118")
    between = landed("6.12.118") - landed("6.1")
    assert result.differences and not result.untagged
    assert {c for r in result.differences for c in r.changes} <= between
    tags = {c for r in result.differences for c in r.changes}
    # the changes this topology shows: the memmap estimate (managed pages), nr_kernel_pages,
    # pcp high and the Memory: line (the view keys log lines by shape, not by their order)
    assert {
        "managed-equals-present",
        "calc-nr-kernel-pages",
        "pcp-high-autotune",
        "memory-line-late",
    } <= tags
    with pytest.raises(InspectorError, match="family"):
        diff_models(tmp_path, "4.7", "6.1")


def test_a_tree_outside_the_covered_releases_is_refused_naming_the_nearest(tmp_path: Path):
    """KERNEL_TREE= takes the tree's own release: a 6.18 tree is refused in one line that names
    6.12; a 5.15 tree is modelled by the 6.12 package at 5.15."""
    from inspector.kernel.versions import for_tree

    with pytest.raises(InspectorError, match=r"linux-6\.18.*nearest covered release is 6\.12"):
        for_tree(str(tmp_path / "linux-6.18"), "6.18.2")
    assert for_tree(str(tmp_path), "5.15.0").name == "6.12"
    assert for_tree(str(tmp_path), "4.19.1").quirks  # 4.x builds with 4.7's toolchain quirks


def test_model_at_two_releases_on_a_boot_log(tmp_path: Path) -> None:
    """``diff-versions --model 3.14 4.9 --from LOG``: the same firmware sized at both releases;
    every differing row is tagged with a change that landed between them, none untagged."""
    from tests.test_bootlog import _machine_8g

    log = tmp_path / "boot.log"
    log.write_text(_machine_8g("3.14.44-desktop"))
    result = diff_models(log, "3.14", "4.9")
    between = landed("4.9") - landed("3.14")
    tags = {c for r in result.differences for c in r.changes}
    assert result.differences and not result.untagged
    assert tags <= between
    assert {"mem-ranges-018", "initmem-line-from-mm", "zonelist-default-node-order"} <= tags
    # the sizes themselves do not change between the two: only how they are printed
    assert not [r for r in result.differences if r.key.startswith("zonelists:")]


def _fake_tree(root: Path, version: int, patchlevel: int) -> Path:
    tree = root / f"linux-{version}.{patchlevel}"
    (tree / "mm").mkdir(parents=True)
    makefile = f"VERSION = {version}\nPATCHLEVEL = {patchlevel}\nSUBLEVEL = 0\n"
    (tree / "Makefile").write_text(makefile)
    (tree / "mm" / "page_alloc.c").write_text("/* */\n")
    return tree


def test_another_releases_source_is_supplied_like_4_7s(tmp_path: Path, monkeypatch) -> None:
    """``KERNEL_SRC_5_15=DIR --kver 5.15``: the source is copied into the cache and remembered,
    then built and modelled at its own release like a tree; without it the error names the
    variable; a release outside the covered ones is refused naming the nearest."""
    from inspector.kernel.source import get_version

    monkeypatch.setenv("MMI_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(InspectorError, match=r"KERNEL_SRC_5_15=/path/to/linux-5\.15"):
        get_version("5.15")
    monkeypatch.setenv("KERNEL_SRC_5_15", str(_fake_tree(tmp_path, 5, 15)))
    v = get_version("5.15")
    assert v.tree is not None and Path(v.tree).is_relative_to(tmp_path / "cache")
    assert v.name == "6.12" and v.fragments == "6.1"  # the 6.12 package, 6.1's Kconfig symbols
    monkeypatch.delenv("KERNEL_SRC_5_15")
    assert get_version("5.15").tree == v.tree  # remembered
    monkeypatch.setenv("KERNEL_SRC_3_10", str(_fake_tree(tmp_path, 3, 10)))
    with pytest.raises(InspectorError, match=r"nearest covered release is 4\.0"):
        get_version("3.10")
