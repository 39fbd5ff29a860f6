"""Provenance: every number the model computes carries the chain that produced it.

Checked against the model itself: each chain's expression, evaluated on its operands' values,
gives the value shown; each operand that names another chain holds that chain's value; the
chain of a compared path holds the model's value there. On synthetic layouts (both versions,
kernelcore=/movablecore=, two nodes) and on real guests (6.12 always, 4.7 with its source),
where ``mm-inspector explain`` must answer for every path compare compares, and report.html
must open the chains in a real browser with no console error and no request."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from inspector.arch import get_arch
from inspector.capture.run import inspect
from inspector.compare import Comparison, compare, generic_path
from inspector.kernel import source
from inspector.kernel.versions import V4_7, V6_12
from inspector.model.inputs import synthetic_inputs
from inspector.model.linux import Linux
from inspector.model.provenance import Chain, walk
from inspector.report.explain import chain_map, explainable, normalise
from inspector.schema import Inputs, Memblock, MemblockRegion
from inspector.vm.guest import BootRequest
from inspector.vm.topology import parse_topology

WHY_4_7 = source.available(V4_7)
ZONES = ["DMA", "DMA32", "Normal", "Movable"]

# Values the model computes in closed form: their chains must carry an expression.
CLOSED = {
    "node.node_start_pfn",
    "node.node_spanned_pages",
    "node.node_present_pages",
    "zone.zone_start_pfn",
    "zone.spanned_pages",
    "zone.present_pages",
    "zone.managed_pages",
    "zone.memmap_pages",
    "zone.watermark",
    "zone.lowmem_reserve",
    "zone.nr_free_pages",
    "zone.free_area.nr_free",
    "zone.free_area.free_list",
    "zone.pageset.batch",
    "zone.pcp_high_min",
    "zone.pcp_high_max",
    "globals.min_free_kbytes",
    "globals.totalram_pages",
    "globals.arch_zone_lowest_possible_pfn",
    "globals.arch_zone_highest_possible_pfn",
}


def check_chains(stops: dict[str, dict[str, Chain]]) -> int:
    """Every chain at every stop evaluates to its value and its operands hold what they name.
    Returns the number of expressions evaluated."""
    n = 0
    for stop, chains in stops.items():
        for path, c in chains.items():
            for o in c.operands:
                if o.ref is not None:
                    assert o.ref in chains, f"{stop}: {path} names {o.ref}, not recorded"
                    assert chains[o.ref].value == o.value, f"{stop}: {path}.{o.name}"
            if c.expr is not None:
                assert c.evaluate() == c.value, f"{stop}: {path} = {c.expr} on {c.operands}"
                n += 1
    return n


def region(start: int, end: int, nid: int = 0) -> MemblockRegion:
    return MemblockRegion(start << 12, (end - start) << 12, nid)


def layout(cmdline: str) -> Inputs:
    memory = [region(1, 0x9F), region(0x100, 0x7FFE0), region(0x100000, 0x140000, 1)]
    return Inputs(
        max_zone_pfn=[4096, 0x100000, 0x140000, 0],
        zone_names=ZONES,
        memblock=Memblock(memory=memory, reserved=[region(0x1000, 0x1400)]),
        node_distance=[[10, 20], [20, 10]],
        cpu_to_node=[0, 1],
        online_nodes=[0, 1],
        cmdline=cmdline,
        constants={"memblock.current_limit": 0x140000 << 12},
    )


@pytest.mark.parametrize("cmdline", ["", "movablecore=512M", "kernelcore=600M"])
@pytest.mark.parametrize("version", ["4.7", "6.12"])
def test_chains_evaluate_on_synthetic_layouts(version: str, cmdline: str) -> None:
    inp = layout(cmdline)
    if version == "4.7":
        m47 = Linux(synthetic_inputs(inp, "x86_64"), handoff=inp.memblock)
        m47.run()
        stops = m47.prov.stops
    else:
        m612 = Linux(synthetic_inputs(inp, "x86_64", version="6.12"))
        m612.run()
        stops = m612.prov.stops
    assert check_chains(stops) > 500
    last = stops[list(stops)[-1]]
    assert last["node[0].zone[DMA32].watermark[low]"].expr  # a closed form to the inputs
    below = {c.path for c in walk(last, "node[0].zone[DMA32].watermark[low]")}
    assert "globals[min_free_kbytes]" in below and "node[0].zone[DMA32].managed_pages" in below
    if cmdline:  # ZONE_MOVABLE's start hangs under its span, where it has one
        movable = [n for n in (0, 1) if last[f"node[{n}].zone[Movable].spanned_pages"].value]
        assert movable
        for n in movable:
            spans = {c.path for c in walk(last, f"node[{n}].zone[Movable].spanned_pages")}
            assert f"globals[zone_movable_pfn[{n}]]" in spans


def test_a_wrong_expression_is_caught() -> None:
    """The check can fail: a chain whose expression does not give its value."""
    inp = layout("")
    m = Linux(synthetic_inputs(inp, "x86_64", version="6.12"))
    m.run()
    stops = m.prov.stops
    last = stops[list(stops)[-1]]
    path = "node[0].zone[DMA32].watermark[high]"
    last[path] = Chain(
        path, last[path].value, "wmark_min + 3 * step", last[path].function, last[path].operands
    )
    with pytest.raises(AssertionError, match="watermark"):
        check_chains({"x": last})


def test_short_paths() -> None:
    assert normalise("node0.DMA32.managed_pages") == "node[0].zone[DMA32].managed_pages"
    assert normalise("node1.node_present_pages") == "node[1].node_present_pages"
    assert normalise("globals[min_free_kbytes]") == "globals[min_free_kbytes]"


def _real(tmp: Path, version_name: str, arch: str, append: tuple[str, ...] = ()) -> Comparison:
    tmp.mkdir()
    version = V4_7 if version_name == "4.7" else V6_12
    req = BootRequest(
        version,
        get_arch(arch),
        parse_topology(None, 2, "768M,256M", None),
        append=append,
    )
    out = inspect(req, tmp, stop_timeout=120, quiet=True)
    return compare(out.run_dir)


@pytest.mark.vm
@pytest.mark.parametrize(
    ("kver", "arch"),
    [
        ("6.12", "x86_64"),
        pytest.param(
            "4.7", "arm64", marks=pytest.mark.skipif(WHY_4_7 is not None, reason=WHY_4_7 or "")
        ),
    ],
)
def test_explain_answers_for_every_compared_path(tmp_path: Path, kver: str, arch: str) -> None:
    cmp = _real(tmp_path / "run", kver, arch, ("movablecore=128M",))
    assert not cmp.flat, [d.text() for d in cmp.flat][:5]
    check_chains(cmp.chains)
    paths = explainable(cmp)
    fields = {p for leaves in cmp.leaves.values() for p in leaves}
    logs = [p for p in paths if p.startswith("log[")]
    assert fields and len(paths) == len(fields) + len(logs) and logs
    closed = 0
    for stop, leaves in cmp.leaves.items():
        for path, (model, _) in leaves.items():
            chains = chain_map(cmp, stop, path)
            assert chains[path].value == model, (stop, path)
            check_chains({stop: {c.path: c for c in walk(chains, path)}})
            g = generic_path(path)
            if any(g == k or g.startswith(k + ".") for k in CLOSED):
                assert chains[path].expr is not None, f"{stop}: {path} has no closed form"
                closed += 1
    assert closed > 300
    # the CLI: a list, one path a line, and a tree down to the inputs
    run_dir = str(cmp.run_dir)
    listed = subprocess.run(
        [sys.executable, "-m", "inspector.cli", "explain", run_dir],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert listed == paths
    line = subprocess.run(
        [sys.executable, "-m", "inspector.cli", "explain", run_dir, logs[0]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "the kernel printed" in line and "the model prints it too" in line
    zone = "DMA32" if arch == "x86_64" else "DMA"
    tree = subprocess.run(
        [sys.executable, "-m", "inspector.cli", "explain", run_dir, f"node0.{zone}.managed_pages"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "(same)" in tree and "= sum(freed)" in tree and "<-" in tree
    bad = subprocess.run(
        [sys.executable, "-m", "inspector.cli", "explain", run_dir, "node9.Nope.x"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert bad.stderr.count("\n") == 1 and "explain RUN_DIR" in bad.stderr


@pytest.mark.vm
def test_page_opens_chains_in_a_real_browser(tmp_path: Path) -> None:
    """report.html in chromium through selenium: no console error, no request but the page,
    a chain opens when its value is clicked, the slider changes the frame; screenshot kept."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from inspector.report import write_pictures
    from inspector.report.walkthrough import write_report

    cmp = _real(tmp_path / "run", "6.12", "x86_64")
    write_pictures(cmp.run_dir)
    page = write_report(cmp.run_dir)
    opts = Options()
    for a in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1400,2000",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
    ):
        opts.add_argument(a)
    opts.binary_location = "/usr/bin/chromium"
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        d.get(page.as_uri())
        assert d.get_log("browser") == []
        sent = [
            json.loads(e["message"])["message"]["params"].get("request", {}).get("url")
            for e in d.get_log("performance")
            if "Network.requestWillBeSent" in e["message"]
        ]
        assert sent == [page.as_uri()]
        # a managed_pages value of the full table at the hand-off's return: its chain is drawn
        # from the page's table of chains when opened
        chain = next(
            c
            for c in d.find_elements(By.CSS_SELECTOR, "table.values tr")
            if ".managed_pages" in (c.get_attribute("textContent") or "")
            and c.find_elements(By.CSS_SELECTOR, "details.chain")
        ).find_element(By.CSS_SELECTOR, "details.chain")
        d.execute_script("arguments[0].closest('details.full').open = true", chain)
        d.execute_script("arguments[0].scrollIntoView()", chain)
        pre = chain.find_element(By.TAG_NAME, "pre")
        assert not pre.is_displayed() and not pre.get_attribute("textContent")
        chain.find_element(By.TAG_NAME, "summary").click()
        assert pre.is_displayed() and re.search(r"\n  = ", pre.text)
        assert "managed_pages = " in pre.text
        shot = Path("runs") / "report-chain.png"
        shot.parent.mkdir(exist_ok=True)
        d.save_screenshot(str(shot))
        slider = d.find_element(By.CSS_SELECTOR, "input[type=range]")
        d.execute_script("arguments[0].scrollIntoView()", slider)
        slider.send_keys(Keys.HOME)  # the first frame, as a reader's keyboard asks for it
        shown = [
            f.get_attribute("id")
            for f in d.find_elements(By.CSS_SELECTOR, "div.frame")
            if f.is_displayed()
        ]
        assert shown == ["frame-0"]
        assert d.get_log("browser") == []
    finally:
        d.quit()
    for name in ("zonelists.svg", "watermarks.svg"):
        assert (cmp.run_dir / name).exists()
    text = page.read_text()
    assert "Zonelists: the fallback graph" in text and "Watermarks and lowmem_reserve" in text
