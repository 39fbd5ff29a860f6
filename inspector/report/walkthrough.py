"""``report.html``: one run, walked in the kernel's call order, as the walkthroughs of buddy
allocator initialisation tell it, with this kernel's numbers.

For each step of the call graph (``start_kernel → setup_arch → … → free_area_init_core →
memmap_init → build_all_zonelists → mem_init → free_all_bootmem / memblock_free_all``, per version
and arch): the function's source, read from the very tree that was built (file and line numbers);
what the capture read at the stop that step owns; the model's value beside each one, differences
marked; and the boot-log lines the step printed. The hand-off is shown frame by frame (the free
lists after each memblock range, from the model's replay, on a slider); the memory map and the
free lists are drawn inline. One self-contained file: its only script is inline, and nothing is
fetched from anywhere.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inspector.compare import Comparison, compare, kernel_log_lines, why_not_compared
from inspector.errors import InspectorError
from inspector.flatten import generic_path, snapshot_rows
from inspector.model.provenance import Chain
from inspector.model.spec import HandoffFrame
from inspector.paths import write_atomic
from inspector.registry import Role
from inspector.report.chains_js import ChainTable
from inspector.report.freelists import free_lists_svg
from inspector.report.headline import (
    hash_tables_html,
    headline_html,
    memblock_svg,
    rows_of,
    zones_with_memory,
)
from inspector.report.keys import KEYS_JS
from inspector.report.lang import LANGS, SWITCH_JS, both, page_head
from inspector.report.steps import Step, function_source, role_in, steps_for
from inspector.report.story import step_head
from inspector.rundir import load_run, require_complete
from inspector.schema import FreeArea, Snapshot

REPORT_FILE = "report.html"
MAX_SOURCE_LINES = 140


def _source_tree(run_dir: Path) -> Path | None:
    try:
        build = json.loads((run_dir / "build.json").read_text())
    except (OSError, ValueError):
        return None
    tree = Path(build.get("vmlinux", "")).parent / "source"
    return tree if tree.is_dir() else None


def _e(x: Any) -> str:
    return html.escape(str(x))


def _chain_path(key: str) -> str:
    """A flat row's key as compare names the value (one CPU's pageset stands for all)."""
    return re.sub(r"\.pageset\.(batch|high)$", r".pageset[0].\1", key)


@dataclass
class _Walk:
    """What the page's steps share as they are written in order: the chain table (each chain
    once), the zones that hold memory, the previous stop's values (what changed), the log."""

    chains: ChainTable
    zones: set[tuple[str, str]]
    log: list[str]
    handoff: Snapshot | None
    previous: tuple[str, dict[str, Any]] | None = None


def _model_cell(value: Any, chains: dict[str, Chain], key: str, table: ChainTable) -> str:
    """The model's value; when the model recorded how it computed it, the value opens its chain
    (the same tree ``mm-inspector explain`` prints, drawn from the page's chain table)."""
    path = _chain_path(key)
    if path not in chains or chains[path].value != value:  # e.g. set after this stop
        return _e(value)
    cid = table.add(chains, path, {})
    return (
        f"<details class='chain' data-c='{cid}'><summary>{_e(value)}</summary>"
        "<pre class='chain'></pre></details>"
    )


def _values_table(
    role: Role,
    stop: str,
    captured: Snapshot,
    model: Snapshot | None,
    arch: str,
    chains: dict[str, Chain],
    table: ChainTable,
) -> str:
    cap = dict(snapshot_rows(role, captured, whole=True))
    mod = dict(snapshot_rows(role, model, whole=True)) if model is not None else {}
    keys = list(dict.fromkeys([*cap, *mod]))
    if not keys:
        return "<p class='none'>nothing captured at this stop</p>"
    rows = []
    for k in keys:
        a, b = cap.get(k), mod.get(k)
        why = why_not_compared(generic_path(k), captured.kernel.version, arch, stop)
        differs = model is not None and a != b and why is None
        mark = " class='diff'" if differs else (" class='skip'" if why and a != b else "")
        model_cell = _model_cell(b, chains, k, table) if model is not None else "<i>input</i>"
        note = "≠" if differs else (_e(f"not compared: {why}") if why and a != b else "")
        rows.append(
            f"<tr{mark}><td>{_e(k)}</td><td>{_e(a)}</td><td>{model_cell}</td><td>{note}</td></tr>"
        )
    head = "<tr><th>field</th><th>captured</th><th>model</th><th></th></tr>"
    summary = both(
        f"all {len(keys)} values, captured and model", f"全部 {len(keys)} 个值：实测与模型"
    )
    return (
        f"<details class='full'><summary>{summary}</summary>"
        f"<div class='scroll'><table class='values'>{head}{''.join(rows)}</table></div></details>"
    )


CSS = """
body{font-family:DejaVu Sans,Verdana,sans-serif;margin:2em;max-width:1500px;color:#222}
h1{font-size:1.5em} h2{font-size:1.15em;margin:1.4em 0 .3em} .step{border-left:3px solid #9ab;
padding-left:1em;margin:1em 0} .what{color:#555} .where{font-family:monospace;color:#666}
pre{background:#f6f6f6;padding:.6em;overflow:auto;font-size:12px;line-height:1.3}
table.values{border-collapse:collapse;font-size:12px}
table.values td,table.values th{border:1px solid #ddd;padding:2px 6px;text-align:left;
font-family:monospace} tr.diff{background:#fdd} tr.skip{color:#888}
details.chain summary{cursor:pointer;text-decoration:underline dotted}
pre.chain{max-width:900px;white-space:pre-wrap;font-size:11px}
.log{background:#eef6ee} .none{color:#888} .summary{background:#f0f4ff;padding:.6em 1em}
.story{max-width:60em;line-height:1.45} .keys{color:#666;font-size:12px}
table.headline{border-collapse:collapse;font-size:13px;margin:.4em 0}
table.headline td,table.headline th{border:1px solid #ccd;padding:2px 8px;text-align:right;
font-family:monospace} table.headline th{background:#f4f6fa;text-align:left}
td.changed{background:#fff3c4} details.full>summary{cursor:pointer;color:#456}
table.headline pre.chain{text-align:left;min-width:24em}
.scroll{overflow-x:auto} section.step:focus{outline:2px solid #9ab}
svg.memblock{max-width:900px;display:block} .picture,.frame{overflow-x:auto}
.picture svg,.frame svg{max-width:100%;height:auto}
@media (max-width:700px){body{margin:.4em} section.step{margin-left:0 !important;
padding-left:.5em} h1{font-size:1.2em} table.headline{display:block;overflow-x:auto}
pre{font-size:11px} #lang-switch{position:static}}
"""


def _step_html(
    step: Step,
    n: int,
    arch: str,
    tree: Path | None,
    captured: dict[str, Snapshot],
    cmp: Comparison | None,
    walk: _Walk,
) -> str:
    file = step.file_for(arch)
    parts = step_head(n, step)
    src = function_source(tree, file, step.function) if tree is not None else None
    if src is None:
        parts.append(f"<p class='where'>{_e(file)}: source not found in the built tree</p>")
    else:
        first, lines = src
        shown = lines[:MAX_SOURCE_LINES]
        body = "\n".join(f"{first + i:5d}  {line}" for i, line in enumerate(shown))
        if len(lines) > len(shown):
            body += f"\n       … {len(lines) - len(shown)} more lines"
        parts.append(
            f"<details><summary class='where'>{_e(file)}:{first}–{first + len(lines) - 1}"
            f"</summary><pre>{_e(body)}</pre></details>"
        )
    hashes = hash_tables_html(step.function, walk.log, walk.handoff)
    if hashes:
        parts.append(hashes)
    if step.role is not None:
        stop = next((s for s in captured if role_in(captured[s], s) == step.role), None)
        if stop is not None:
            parts += _stop_html(step.role, stop, arch, captured, cmp, walk)
    if step.log is not None:
        pat = re.compile(step.log)
        printed = [line for line in walk.log if pat.match(line)]
        if printed:
            parts.append("<pre class='log'>" + _e("\n".join(printed)) + "</pre>")
    parts.append("</section>")
    return "\n".join(parts)


def _stop_html(
    role: Role,
    stop: str,
    arch: str,
    captured: dict[str, Snapshot],
    cmp: Comparison | None,
    walk: _Walk,
) -> list[str]:
    """A step's stop: how many values differ from the model, the headline numbers (changes since
    the previous stop marked), memblock's picture where the stop shows memblock, the full table
    folded."""
    model = cmp.predicted.get(stop) if cmp is not None else None
    ndiff = len(cmp.diffs.get(stop, [])) if cmp is not None else 0
    code = f"<code>{_e(stop)}</code>"
    if cmp is not None and role != Role.INPUTS:
        title = both(
            f"stop {code}: {ndiff} difference{'s' if ndiff != 1 else ''} from the model",
            f"断点 {code}：与模型相差 {ndiff} 处",
        )
    elif role == Role.INPUTS:
        title = both(f"stop {code}: the model's inputs", f"断点 {code}：模型的输入")
    else:
        title = f"stop {code}"
    chains = cmp.chains.get(stop, {}) if cmp is not None else {}
    rows = rows_of(role, captured[stop])
    model_rows = rows_of(role, model) if model is not None else {}

    def cell(value: Any, key: str) -> str:
        if model_rows.get(key) == value:
            return _model_cell(value, chains, key, walk.chains)
        return _e(value)

    out = [f"<p>{title}</p>", headline_html(role, rows, walk.previous, walk.zones, cell)]
    # memblock as stop 1 reads it, and as the hand-off takes it (the buddy stop's entry)
    snap = captured[stop]
    memblock = snap.inputs.memblock if snap.inputs is not None else None
    if role == Role.BUDDY and walk.handoff is not None:
        memblock = walk.handoff.memblock
    if memblock is not None and memblock.memory:
        out.append(f"<div class='picture'>{memblock_svg(memblock)}</div>")
    out.append(_values_table(role, stop, captured[stop], model, arch, chains, walk.chains))
    walk.previous = (stop, {**(walk.previous[1] if walk.previous else {}), **rows})
    return out


def frame_snapshot(buddy: Snapshot, frame: HandoffFrame) -> Snapshot:
    """The captured hand-off snapshot's nodes and zones, with the free lists of one frame of the
    model's hand-off (block counts per order and migratetype)."""
    nodes = []
    for n in buddy.nodes:
        zones = []
        for z in n.zones:
            counts = frame.free_area.get((z.node, z.idx))
            fa = (
                [FreeArea(o, sum(c), list(c)) for o, c in enumerate(counts)]
                if counts is not None
                else None
            )
            zones.append(dataclasses.replace(z, free_area=fa))
        nodes.append(dataclasses.replace(n, zones=zones))
    return dataclasses.replace(buddy, nodes=nodes)


def handoff_frames_svg(run_dir: Path, cmp: Comparison) -> list[tuple[str, str]]:
    """(caption, SVG) per memblock range the model's hand-off freed, in the kernel's order."""
    captured = load_run(run_dir)
    buddy = next((s for k, s in captured.items() if role_in(s, k) == Role.BUDDY), None)
    if buddy is None:
        return []
    out = []
    total = len(cmp.handoff_frames)
    for i, f in enumerate(cmp.handoff_frames, 1):
        pages = f.end_pfn - f.start_pfn
        caption = (
            f"{i}/{total}: after freeing pfn [{f.start_pfn:#x}, {f.end_pfn:#x}) ({pages} pages)"
        )
        out.append((caption, free_lists_svg(frame_snapshot(buddy, f))))
    return out


def write_frames(run_dir: Path, out_dir: Path) -> list[Path]:
    """``--frames DIR``: one SVG per hand-off frame, ``frame-NNN.svg``."""
    cmp = compare(run_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (_, svg) in enumerate(handoff_frames_svg(run_dir, cmp), 1):
        p = out_dir / f"frame-{i:03d}.svg"
        write_atomic(p, svg)
        paths.append(p)
    return paths


SLIDER_JS = """
function mmiFrame(v){var f=document.querySelectorAll('.frame');
for(var i=0;i<f.length;i++){f[i].style.display=(i==v)?'block':'none';}
document.getElementById('frame-no').textContent=(+v+1)+'/'+f.length;
document.getElementById('frame-slider').value=v;}
var m=location.hash.match(/frame=(\\d+)/); if(m){mmiFrame(m[1]);}
"""


def _frames_html(run_dir: Path, cmp: Comparison) -> str:
    frames = handoff_frames_svg(run_dir, cmp)
    if not frames:
        return ""
    last = len(frames) - 1
    parts = [
        "<h2 id='handoff-frames'>The hand-off, range by range</h2>",
        "<p>The model's page-by-page replay of the hand-off: the free lists after each memblock "
        "range is freed. The last frame is the state the capture read at the hand-off's return"
        f" ({len(cmp.diffs.get(_buddy_stop(cmp), []))} differences there).</p>",
        f"<input type='range' id='frame-slider' min='0' max='{last}' value='{last}' "
        "oninput='mmiFrame(this.value)' style='width:60%'> <span id='frame-no'>"
        f"{last + 1}/{last + 1}</span>",
    ]
    for i, (caption, svg) in enumerate(frames):
        shown = "block" if i == last else "none"
        parts.append(
            f"<div class='frame' id='frame-{i}' style='display:{shown}'><p>{_e(caption)}</p>"
            f"{svg}</div>"
        )
    parts.append(f"<script>{SLIDER_JS}</script>")
    return "\n".join(parts)


def _buddy_stop(cmp: Comparison) -> str:
    return next((k for k in cmp.predicted if k.endswith(".return")), "")


def report_html(run_dir: Path, lang: str = "en") -> str:
    """The walkthrough page of one finished inspect run, shown first in ``lang`` (the page
    carries every language of inspector.report.lang and switches without reloading)."""
    if lang not in LANGS:
        raise InspectorError(f"no walkthrough in {lang!r}: choose one of {', '.join(LANGS)}")
    require_complete(run_dir)
    captured = load_run(run_dir)
    if not captured:
        raise InspectorError(f"{run_dir} holds no snapshots: not an inspect run")
    kernel = next(iter(captured.values())).kernel
    cmp: Comparison | None
    note = ""
    try:
        cmp = compare(run_dir)
    except InspectorError as e:
        cmp, note = None, f"the model could not run on this capture: {e}"
    dmesg_path = run_dir / "dmesg.txt"
    dmesg = dmesg_path.read_text(errors="replace") if dmesg_path.exists() else ""
    log = kernel_log_lines(dmesg, re.compile(r".*")) if dmesg else []
    tree = _source_tree(run_dir)
    steps = steps_for(kernel.version, kernel.arch, captured)
    stops = [(r, snap) for k, snap in captured.items() if (r := role_in(snap, k)) is not None]
    handoff = next((snap for role, snap in stops if role == Role.HANDOFF), None)
    walk = _Walk(ChainTable(), zones_with_memory(stops), log, handoff)
    total = len(cmp.flat) if cmp is not None else None
    summary = (
        f"Linux {_e(kernel.release)} on {_e(kernel.arch)}; run <code>{_e(run_dir.name)}</code>; "
        + (
            f"{sum(cmp.counts.values())} values compared with the model, {total} difference"
            f"{'s' if total != 1 else ''}."
            if cmp is not None
            else _e(note)
        )
        + (f" Source: <code>{_e(tree)}</code>." if tree else " Source tree not found.")
    )
    toc = "".join(
        f"<li style='margin-left:{s.depth}em'><a href='#step-{i}'>{_e(s.function)}()</a></li>"
        for i, s in enumerate(steps, 1)
    )
    release, arch = _e(kernel.release), _e(kernel.arch)
    body = page_head(
        f"Linux {release} {arch}", f"Linux {release} ({arch})", summary, toc, CSS, lang
    )
    body += [
        _step_html(s, i, kernel.arch, tree, captured, cmp, walk) for i, s in enumerate(steps, 1)
    ]
    if cmp is not None:
        body.append(_frames_html(run_dir, cmp))
    for name, title in (
        ("memmap.svg", "Memory map"),
        ("zonelists.svg", "Zonelists: the fallback graph"),
        ("watermarks.svg", "Watermarks and lowmem_reserve"),
        ("freelists.svg", "Free lists"),
    ):
        p = run_dir / name
        if p.exists():
            svg = re.sub(r"^<\?xml[^>]*>\s*", "", p.read_text())
            body.append(f"<h2>{title}</h2><div class='picture'>{svg}</div>")
    body.append(walk.chains.script())
    body.append(f"<script>{SWITCH_JS}{KEYS_JS}</script></body></html>")
    return "\n".join(body) + "\n"


def write_report(run_dir: Path, lang: str = "en") -> Path:
    path = run_dir / REPORT_FILE
    write_atomic(path, report_html(run_dir, lang))
    return path
