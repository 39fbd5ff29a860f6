"""report.html: a real run walked in the kernel's call order (6.12 always, 4.7 with its source),
opened as a reader would: every step of the call graph in order with its source from the built
tree, the captured values beside the model's, nothing fetched from anywhere."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html import escape as _e
from html.parser import HTMLParser
from pathlib import Path

import pytest

from inspector.arch import get_arch
from inspector.capture.run import inspect
from inspector.kernel import source
from inspector.kernel.versions import V4_7, V6_12
from inspector.report.steps import function_source, steps_for
from inspector.report.walkthrough import write_report
from inspector.rundir import load_run
from inspector.vm.guest import BootRequest
from inspector.vm.topology import parse_topology

WHY_4_7 = source.available(V4_7)
PAGE_BOUND = 450_000  # bytes of a 2-node guest's report.html
NO_4_7 = WHY_4_7 or ""
NO_CHROMIUM = "chromium is not installed (make deps)"


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.steps: list[str] = []
        self.fetches: list[str] = []
        self.frames: list[tuple[str, str]] = []
        self._in_h2 = False
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section" and (a.get("id") or "").startswith("step-"):
            self.steps.append(a["id"] or "")
        for key in ("src", "href", "data"):  # an inline <script> fetches nothing
            v = a.get(key) or ""
            if v and not v.startswith("#"):
                self.fetches.append(f"{tag} {key}={v}")
        if tag in ("link", "iframe", "img", "object", "embed"):
            self.fetches.append(tag)
        if tag == "div" and (a.get("id") or "").startswith("frame-"):
            self.frames.append((a["id"] or "", a.get("style") or ""))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _run(tmp_path: Path, kver: str, arch: str) -> Path:
    version = V4_7 if kver == "4.7" else V6_12
    req = BootRequest(version, get_arch(arch), parse_topology(None, 2, "768M,256M"))
    out = inspect(req, tmp_path / "run", quiet=True)
    from inspector.report import write_pictures

    write_pictures(out.run_dir)
    return out.run_dir


@pytest.mark.vm
@pytest.mark.parametrize(
    ("kver", "arch"),
    [
        ("6.12", "x86_64"),
        ("6.12", "arm64"),
        pytest.param(
            "4.7", "arm64", marks=pytest.mark.skipif(WHY_4_7 is not None, reason=WHY_4_7 or "")
        ),
        pytest.param(
            "4.7", "x86_64", marks=pytest.mark.skipif(WHY_4_7 is not None, reason=WHY_4_7 or "")
        ),
    ],
)
def test_walkthrough_page(tmp_path, kver, arch):
    (tmp_path / "run").mkdir()
    run_dir = _run(tmp_path, kver, arch)
    page_path = write_report(run_dir)
    text = page_path.read_text()
    page = _Page()
    page.feed(text)
    steps = steps_for(kver, arch, load_run(run_dir))
    assert page.steps == [f"step-{i}" for i in range(1, len(steps) + 1)]
    body = "".join(page.text)
    # the call graph in the kernel's order, each with its source file and lines from the tree
    positions = [body.index(f"{i}. {s.function}()") for i, s in enumerate(steps, 1)]
    assert positions == sorted(positions)
    assert "source not found" not in body
    for s in steps:
        assert re.search(rf"{re.escape(s.file_for(arch))}:\d+–\d+", body), s.function
    # captured and model side by side, and they agree on a real kernel
    assert "0 differences from the model" in body
    assert not re.search(r"[1-9]\d* differences? from the model", body)
    assert "<tr class='diff'>" not in text
    # self-contained: nothing to fetch (the SVG namespace URI is a name, not a request)
    assert page.fetches == []
    assert "<svg" in text and "Memory map" in body
    # the hand-off frame by frame: one frame per memblock range freed, the last one shown
    assert len(page.frames) >= 2
    assert all("display:none" in style for _, style in page.frames[:-1])
    assert "display:block" in page.frames[-1][1]
    # both languages on the page, each step's words in each, English shown first; --lang zh
    # shows Chinese first, on the same page (the switch toggles the body's class)
    assert "<body class='lang-en'>" in text and "id='lang-switch'" in text
    for section in re.findall(r"<section class='step'.*?</section>", text, re.S):
        zh = re.search(r"<p class='what' data-lang='zh' lang='zh-Hans'>([^<]*)</p>", section)
        assert zh and re.search(r"[\u4e00-\u9fff]", zh.group(1)), section[:200]
        assert "<p class='what' data-lang='en'>" in section
    assert "<body class='lang-zh'>" in write_report(run_dir, "zh").read_text()
    # a story in both languages on every step that has one, the full tables folded, and the
    # headline of each stop: its numbers are the captured ones (the chains are drawn by the page)
    from inspector.report.story import STORY

    for s in steps:
        if s.function in STORY:
            assert _e(STORY[s.function][0]) in text and _e(STORY[s.function][1]) in text
    assert "<details class='full'>" in text and "<pre class='chain'>" not in text.replace(
        "<pre class='chain'></pre>", ""
    )
    captured = load_run(run_dir)
    core = next(snap for k, snap in captured.items() if k.startswith("free_area_init_core"))
    section = re.search(r"<code>free_area_init_core\(\)</code>.*?</section>", text, re.S)
    assert section is not None
    headline = section.group(0).split("<details class='full'>")[0]
    for node in core.nodes:
        for z in node.zones:
            if z.present_pages:
                assert f"node {node.node_id} {z.name}</th>" in headline
                assert re.search(rf">{z.present_pages}</(summary|td)>", headline), z
    # memblock drawn at stop 1 and at the hand-off: one bar per memory region, one per reserved
    svgs = re.findall(r"<svg[^>]*class='memblock'.*?</svg>", text, re.S)
    assert len(svgs) == 2
    first = next(snap for k, snap in captured.items() if snap.inputs is not None)
    assert first.inputs is not None
    mb = first.inputs.memblock
    assert svgs[0].count("<title>memory [") == len(mb.memory)
    assert svgs[0].count("<title>reserved [") == len(mb.reserved)
    # the page stays small: each chain stored once (a 2-node guest's page was 0.7-0.9 MB)
    assert len(text.encode()) < PAGE_BOUND, len(text.encode())


def test_function_source_reads_a_definition(tmp_path):
    (tmp_path / "mm").mkdir()
    (tmp_path / "mm" / "x.c").write_text(
        "static int helper(void);\n"
        "void __init\n"
        "free_area_init(unsigned long *max_zone_pfn)\n"
        "{\n"
        "\tint i;\n"
        "\thelper();\n"
        "}\n"
    )
    first, lines = function_source(tmp_path, "mm/x.c", "free_area_init") or (0, [])
    assert first == 2 and lines[0] == "void __init" and lines[-1] == "}"
    assert function_source(tmp_path, "mm/x.c", "helper") is None  # only a prototype
    assert function_source(tmp_path, "mm/nope.c", "helper") is None


@pytest.mark.vm
@pytest.mark.skipif(
    shutil.which("chromium") is None, reason="chromium is not installed (make deps)"
)
def test_page_loads_in_a_real_browser_with_no_request(tmp_path):
    (tmp_path / "run").mkdir()
    page = write_report(_run(tmp_path, "6.12", "x86_64"))
    shot = Path("runs") / "report-screenshot.png"
    shot.parent.mkdir(exist_ok=True)
    common = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1400,2000"]
    # chromium's own traffic (updates, sync) off: what is left would be the page's
    common += ["--disable-background-networking", "--disable-component-update", "--no-first-run"]
    dom = subprocess.run(
        [*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert dom.returncode == 0, dom.stderr[-1000:]
    assert "memblock_free_all()" in dom.stdout and "step-13" in dom.stdout
    # the slider's script runs: asked for the first frame, it shows it and hides the last
    first = subprocess.run(
        [*common, "--dump-dom", page.as_uri() + "#frame=0"], capture_output=True, text=True
    )
    shown = re.findall(r'<div class="frame" id="frame-(\d+)" style="display: ?(\w+)', first.stdout)
    assert shown and dict(shown)["0"] == "block"
    assert [n for n, d in shown if d == "block"] == ["0"]

    def requests(url: str, *extra: str) -> set[str]:
        """The URLs chromium asked the network for while loading ``url``."""
        out = subprocess.run(
            [*common, "--enable-logging=stderr", "--v=1", *extra, url],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr[-1000:]
        return set(re.findall(r"NotifyBeforeURLRequest: (\S+?)(?:[?#]\S*)?$", out.stderr, re.M))

    def hosts(urls: set[str]) -> set[str]:
        return {re.sub(r"^(\w+://[^/]+).*", r"\1", u) for u in urls}

    # chromium itself calls home (updates, accounts) whatever the page: an empty page is the
    # baseline, and the report may ask for nothing beyond it
    baseline = hosts(requests("about:blank", "--dump-dom"))
    asked = requests(page.as_uri(), f"--screenshot={shot.resolve()}")
    assert hosts(asked) - baseline == set(), asked
    assert shot.exists() and shot.stat().st_size > 10_000


def test_every_step_of_every_release_speaks_chinese():
    from inspector.report.lang import ZH
    from inspector.report.steps import STEPS

    functions = {s.function for steps in STEPS.values() for s in steps}
    assert functions <= set(ZH), functions - set(ZH)
    assert all(re.search(r"[\u4e00-\u9fff]", ZH[f]) for f in functions)


@pytest.mark.vm
@pytest.mark.skipif(shutil.which("chromedriver") is None, reason=NO_CHROMIUM)
def test_the_language_switches_on_the_page(tmp_path):
    """In headless Chromium: English first; the switch shows every step's words in Chinese and
    hides the English, without loading anything; once more and English is back."""
    from selenium import webdriver
    from selenium.webdriver.common.by import By

    (tmp_path / "run").mkdir()
    page = write_report(_run(tmp_path, "6.12", "arm64"))
    opts = webdriver.ChromeOptions()
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,1600"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(options=opts)
    try:
        driver.get(page.as_uri())

        def shown(lang: str) -> list[str]:
            found = driver.find_elements(By.CSS_SELECTOR, f"p.what[data-lang='{lang}']")
            return [e.text for e in found if e.is_displayed()]

        en_steps = len(driver.find_elements(By.CSS_SELECTOR, "section.step"))
        assert len(shown("en")) == en_steps > 10 and shown("zh") == []
        driver.find_element(By.ID, "lang-switch").click()
        assert len(shown("zh")) == en_steps and shown("en") == []
        assert all(re.search(r"[\u4e00-\u9fff]", t) for t in shown("zh"))
        driver.find_element(By.ID, "lang-switch").click()
        assert len(shown("en")) == en_steps and shown("zh") == []
    finally:
        driver.quit()


def test_every_step_of_every_release_has_a_story_in_both_languages():
    from inspector.report.steps import STEPS
    from inspector.report.story import STORY

    functions = {s.function for steps in STEPS.values() for s in steps}
    assert functions <= set(STORY), functions - set(STORY)
    for en, zh in STORY.values():
        assert len(re.findall(r"[.:;]( |$)", en)) + 1 >= 2 and re.search(r"[\u4e00-\u9fff]", zh)


@pytest.mark.vm
@pytest.mark.skipif(shutil.which("chromedriver") is None, reason=NO_CHROMIUM)
def test_the_page_reads_on_a_desktop_and_a_phone(tmp_path):
    """In headless Chromium at a desktop's and a phone's width, in each language: nothing wider
    than the window (tables and pictures scroll inside), n and p move between the steps in
    order, a number's chain is the tree `mm-inspector explain` prints, no request and no
    script error; a screenshot of free_area_init_core() per width and language is kept."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    from inspector.compare import compare
    from inspector.model.provenance import tree_lines

    (tmp_path / "run").mkdir()
    run_dir = _run(tmp_path, "6.12", "x86_64")
    page = write_report(run_dir)
    chains = compare(run_dir).chains
    shots = Path("runs") / "report-screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    for width, height, lang in (
        (1400, 1000, "en"),
        (1400, 1000, "zh"),
        (390, 1400, "en"),
        (390, 1400, "zh"),
    ):
        opts = Options()
        for arg in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            f"--window-size={width},{height}",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
        ):
            opts.add_argument(arg)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        d = webdriver.Chrome(service=Service(shutil.which("chromedriver") or ""), options=opts)
        try:
            d.get(page.as_uri())
            if lang == "zh":
                d.find_element(By.ID, "lang-switch").click()
            wide = "var e = document.documentElement; return e.scrollWidth <= e.clientWidth"
            assert d.execute_script(wide)
            # the keyboard: n three times from the top, then p
            for _ in range(3):
                d.switch_to.active_element.send_keys("n")
            assert d.execute_script("return document.activeElement.id") == "step-3"
            d.switch_to.active_element.send_keys("p")
            assert d.execute_script("return document.activeElement.id") == "step-2"
            # free_area_init_core(): a headline number opens its chain, explain's own tree
            sec = d.find_element(By.XPATH, "//section[.//h2[contains(., 'free_area_init_core()')]]")
            d.execute_script("arguments[0].scrollIntoView()", sec)
            chain = sec.find_element(By.CSS_SELECTOR, "table.headline details.chain")
            chain.find_element(By.TAG_NAME, "summary").click()
            tree = chain.find_element(By.TAG_NAME, "pre").get_attribute("textContent") or ""
            path = tree.split(" = ")[0]
            assert any("\n".join(tree_lines(c, path)) == tree for c in chains.values() if path in c)
            d.save_screenshot(str(shots / f"free_area_init_core-{width}-{lang}.png"))
            assert d.get_log("browser") == []
            sent = {
                json.loads(e["message"])["message"]["params"].get("request", {}).get("url")
                for e in d.get_log("performance")
                if "Network.requestWillBeSent" in e["message"]
            }
            assert sent == {page.as_uri()}
        finally:
            d.quit()
    assert len(list(shots.glob("free_area_init_core-*.png"))) == 4


def test_a_real_machines_log_as_the_walkthrough(tmp_path):
    """`mm-inspector dmesg LOG --html` on the hand-written 3.14 machine of test_bootlog: the
    seed's outline at 3.14 in order, a story in both languages per step, the machine's lines
    judged equal, the zones' sizes as derived by hand there (DMA32: 782336 present of 1044480
    spanned, 770112 managed) each opening its chain, the PID hash's size, nothing fetched."""
    import subprocess
    import sys

    from inspector.report.story import STORY
    from tests.test_bootlog import _machine_8g

    log = tmp_path / "machine.log"
    log.write_text(_machine_8g("3.14.44-desktop"))
    out = tmp_path / "machine.html"
    done = subprocess.run(
        [sys.executable, "-m", "inspector", "dmesg", str(log), "--html", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    page = _Page()
    page.feed(text)
    steps = steps_for("4.7", "x86_64", {})
    assert page.steps == [f"step-{i}" for i in range(1, len(steps) + 1)]
    assert page.fetches == []
    for s in steps:
        assert _e(STORY[s.function][0]) in text and _e(STORY[s.function][1]) in text
    assert "class='differ'" not in text
    row = re.search(r"node 0 DMA32</th>(.*?)</tr>", text, re.S)
    assert row is not None
    values = re.findall(r"<summary>(\d+)</summary>", row.group(1))
    assert values == ["4096", "1044480", "782336", "770112"]
    assert ">4096</td><td>3</td><td>32768</td>" in text  # PID: entries, order, bytes
    assert len(text.encode()) < 100_000
