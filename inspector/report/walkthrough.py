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
from pathlib import Path
from typing import Any

from inspector.compare import Comparison, compare, kernel_log_lines, why_not_compared
from inspector.errors import InspectorError
from inspector.flatten import snapshot_rows
from inspector.model.provenance import Chain, tree_lines
from inspector.model.spec import HandoffFrame
from inspector.paths import write_atomic
from inspector.registry import Role
from inspector.report.freelists import free_lists_svg
from inspector.report.lang import CSS as LANG_CSS
from inspector.report.lang import LABELS, LANGS, SWITCH_JS, ZH, both
from inspector.report.steps import Step, function_source, role_in, steps_for
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


def _generic(key: str) -> str:
    """A flat row's key as compare's generic path: ``node[0].zone[DMA].pageset.high`` →
    ``zone.pageset.high``, ``globals[cpu_to_node.0]`` → ``globals.cpu_to_node``."""
    if key.startswith("globals["):
        return "globals." + re.split(r"[\[.]", key[len("globals[") : -1])[0]
    g = re.sub(r"\[[^\]]*\]", "", key)
    return g[len("node.") :] if g.startswith("node.zone") else g


def _chain_path(key: str) -> str:
    """A flat row's key as compare names the value (one CPU's pageset stands for all)."""
    return re.sub(r"\.pageset\.(batch|high)$", r".pageset[0].\1", key)


def _model_cell(value: Any, chains: dict[str, Chain], key: str) -> str:
    """The model's value; when the model recorded how it computed it, the value opens its chain
    (the same tree ``mm-inspector explain`` prints)."""
    path = _chain_path(key)
    if path not in chains or chains[path].value != value:  # e.g. set after this stop
        return _e(value)
    tree = "\n".join(tree_lines(chains, path))
    return (
        f"<details class='chain'><summary>{_e(value)}</summary>"
        f"<pre class='chain'>{_e(tree)}</pre></details>"
    )


def _values_table(
    role: Role,
    stop: str,
    captured: Snapshot,
    model: Snapshot | None,
    arch: str,
    chains: dict[str, Chain] | None = None,
) -> str:
    cap = dict(snapshot_rows(role, captured, whole=True))
    mod = dict(snapshot_rows(role, model, whole=True)) if model is not None else {}
    keys = list(dict.fromkeys([*cap, *mod]))
    if not keys:
        return "<p class='none'>nothing captured at this stop</p>"
    rows = []
    for k in keys:
        a, b = cap.get(k), mod.get(k)
        why = why_not_compared(_generic(k), captured.kernel.version, arch, stop)
        differs = model is not None and a != b and why is None
        mark = " class='diff'" if differs else (" class='skip'" if why and a != b else "")
        model_cell = _model_cell(b, chains or {}, k) if model is not None else "<i>input</i>"
        note = "≠" if differs else (_e(f"not compared: {why}") if why and a != b else "")
        rows.append(
            f"<tr{mark}><td>{_e(k)}</td><td>{_e(a)}</td><td>{model_cell}</td><td>{note}</td></tr>"
        )
    head = "<tr><th>field</th><th>captured</th><th>model</th><th></th></tr>"
    return f"<table class='values'>{head}{''.join(rows)}</table>"


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
"""


def _step_html(
    step: Step,
    n: int,
    arch: str,
    tree: Path | None,
    captured: dict[str, Snapshot],
    cmp: Comparison | None,
    log: list[str],
) -> str:
    file = step.file_for(arch)
    parts = [
        f"<section class='step' id='step-{n}' style='margin-left:{step.depth * 1.5}em'>",
        f"<h2>{n}. <code>{_e(step.function)}()</code></h2>",
        both(_e(step.what), _e(ZH.get(step.function, step.what)), "p", "what"),
    ]
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
    if step.role is not None:
        stop = next((s for s in captured if role_in(captured[s], s) == step.role), None)
        if stop is not None:
            model = cmp.predicted.get(stop) if cmp is not None else None
            ndiff = len(cmp.diffs.get(stop, [])) if cmp is not None else 0
            title = f"stop <code>{_e(stop)}</code>"
            if cmp is not None and step.role != Role.INPUTS:
                title += f": {ndiff} difference{'s' if ndiff != 1 else ''} from the model"
            elif step.role == Role.INPUTS:
                title += ": the model's inputs"
            parts.append(f"<p>{title}</p>")
            chains = cmp.chains.get(stop, {}) if cmp is not None else {}
            parts.append(_values_table(step.role, stop, captured[stop], model, arch, chains))
    if step.log is not None:
        pat = re.compile(step.log)
        printed = [line for line in log if pat.match(line)]
        if printed:
            parts.append("<pre class='log'>" + _e("\n".join(printed)) + "</pre>")
    parts.append("</section>")
    return "\n".join(parts)


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
    body = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>mm init walkthrough: Linux {_e(kernel.release)} {_e(kernel.arch)}</title>",
        f"<style>{CSS}{LANG_CSS}</style></head><body class='lang-{lang}'>",
        f"<button id='lang-switch'>{both(LABELS['en']['switch'], LABELS['zh']['switch'])}</button>",
        f"<h1>{both(LABELS['en']['title'], LABELS['zh']['title'])}: Linux {_e(kernel.release)} "
        f"({_e(kernel.arch)})</h1>",
        f"<p class='summary'>{summary}</p>",
        f"<nav><ol class='toc'>{toc}</ol></nav>",
    ]
    body += [
        _step_html(s, i, kernel.arch, tree, captured, cmp, log) for i, s in enumerate(steps, 1)
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
    body.append(f"<script>{SWITCH_JS}</script></body></html>")
    return "\n".join(body) + "\n"


def write_report(run_dir: Path, lang: str = "en") -> Path:
    path = run_dir / REPORT_FILE
    write_atomic(path, report_html(run_dir, lang))
    return path
