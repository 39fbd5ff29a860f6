"""``mm-inspector dmesg LOG --html``: a real machine's boot log as the walkthrough a learner reads.
The seed's outline at the log's release and arch, each step's story in English and Chinese, the
lines the machine printed for that step beside the model's prediction (equal or not, with the
change behind a difference), the sizes the model computed for the machine's nodes and zones
(each opening its chain down to the log's own lines), and the hash tables the log shows. What a
log cannot show (memblock's reservations, the free lists) is said, not guessed."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

from inspector.release import Release
from inspector.report.chains_js import ChainTable
from inspector.report.headline import hash_tables_html
from inspector.report.keys import KEYS_JS
from inspector.report.lang import SWITCH_JS, both, page_head
from inspector.report.steps import Step, steps_for
from inspector.report.story import step_head

if TYPE_CHECKING:
    from inspector.bootlog.judge import Judgement, LineResult

SIZE_FIELDS = ("zone_start_pfn", "spanned_pages", "present_pages", "managed_pages")
CSS = """
body{font-family:DejaVu Sans,Verdana,sans-serif;margin:2em;max-width:1200px;color:#222}
h1{font-size:1.5em} h2{font-size:1.15em;margin:1.4em 0 .3em} .step{border-left:3px solid #9ab;
padding-left:1em;margin:1em 0} .what{color:#555} .story{max-width:60em;line-height:1.45}
table{border-collapse:collapse;font-size:13px} td,th{border:1px solid #ccd;padding:2px 8px;
font-family:monospace;text-align:left} tr.differ{background:#fdd} .none{color:#888}
.summary{background:#f0f4ff;padding:.6em 1em} .keys{color:#666;font-size:12px}
details.chain summary{cursor:pointer;text-decoration:underline dotted}
pre.chain{white-space:pre-wrap;font-size:11px;background:#f6f6f6;padding:.5em}
section.step:focus{outline:2px solid #9ab} .scroll{overflow-x:auto}
@media (max-width:700px){body{margin:.4em} section.step{margin-left:0 !important;
padding-left:.5em} #lang-switch{position:static}}
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def plan_of(release: str) -> str:
    """The outline a log's release follows: 4.7's function names until free_area_init() took
    over (change "free-area-init-reworked", 5.8), 6.12's from there."""
    return "4.7" if Release.parse(release).series < Release(5, 8) else "6.12"


def _lines_table(results: list[LineResult]) -> str:
    rows = []
    for r in results:
        where = str(r.line) if r.line else "-"
        if r.equal:
            rows.append(f"<tr><td>{where}</td><td>=</td><td>{_e(r.printed)}</td></tr>")
            continue
        why = "; ".join(r.changes)
        rows.append(
            f"<tr class='differ'><td>{where}</td><td>≠</td><td>printed: {_e(r.printed)}<br>"
            f"model: {_e(r.predicted)}{'<br>' + _e(why) if why else ''}</td></tr>"
        )
    return f"<div class='scroll'><table>{''.join(rows)}</table></div>"


def _sizes_table(j: Judgement, table: ChainTable) -> str:
    """The machine's zones as the model sized them (zones with present pages), each value
    opening its chain."""
    chains = j.sizing.state.prov.chains
    head = "".join(f"<th>{f}</th>" for f in SIZE_FIELDS)
    rows = []
    for nid, pgdat in sorted(j.sizing.pgdats.items()):
        for z in pgdat.zones:
            if not z.present_pages:
                continue
            cells = []
            for f in SIZE_FIELDS:
                value = getattr(z, f)
                path = f"node[{nid}].zone[{z.name}].{f}"
                if path in chains and chains[path].value == value:
                    cid = table.add(chains, path, {})
                    value_html = (
                        f"<details class='chain' data-c='{cid}'><summary>{_e(value)}</summary>"
                        "<pre class='chain'></pre></details>"
                    )
                else:
                    value_html = _e(value)
                cells.append(f"<td>{value_html}</td>")
            rows.append(f"<tr><th>node {nid} {_e(z.name)}</th>{''.join(cells)}</tr>")
    return f"<div class='scroll'><table><tr><th></th>{head}</tr>{''.join(rows)}</table></div>"


def _step_html(n: int, step: Step, j: Judgement, mine: list[LineResult], table: ChainTable) -> str:
    parts = step_head(n, step)
    if step.function == "free_area_init_core":
        parts.append(_sizes_table(j, table))
    hashes = hash_tables_html(step.function, [ln.text for ln in j.log.lines], None)
    if hashes:
        parts.append(hashes)
    if mine:
        parts.append(_lines_table(mine))
    elif not hashes and step.function != "free_area_init_core":
        parts.append(
            both(
                "The log shows nothing of this step.",
                "日志中看不到这一步。",
                "p",
                "none",
            )
        )
    parts.append("</section>")
    return "\n".join(parts)


def dmesg_html(j: Judgement) -> str:
    """The page of one judged log."""
    log = j.log
    steps = steps_for(plan_of(log.release), log.arch, {})
    table = ChainTable()
    left = list(j.results)
    mine: list[list[LineResult]] = []
    for step in steps:
        pat = re.compile(step.log) if step.log else None
        taken = [r for r in left if pat and pat.match(r.printed or r.predicted or "")]
        left = [r for r in left if r not in taken]
        mine.append(taken)
    equal = sum(r.equal for r in j.results)
    summary = (
        f"{_e(log.name)}: Linux {_e(log.release)} on {_e(log.arch)}, judged with {_e(j.model)}; "
        f"{equal} of {len(j.results)} judged lines equal to the model's."
    )
    toc = "".join(
        f"<li style='margin-left:{s.depth}em'><a href='#step-{i}'>{_e(s.function)}()</a></li>"
        for i, s in enumerate(steps, 1)
    )
    title = f"{_e(log.name)} (Linux {_e(log.release)})"
    body = page_head(title, _e(log.name), summary, toc, CSS, "en")
    body += [
        _step_html(i, s, j, m, table) for i, (s, m) in enumerate(zip(steps, mine, strict=True), 1)
    ]
    if left:
        body.append("<h2>" + both("Other lines judged", "其他被评判的行") + "</h2>")
        body.append(_lines_table(left))
    for cls, (n, why) in j.not_judged.items():
        body.append(f"<p class='none'>not judged: {_e(cls)} ({n} lines): {_e(why)}</p>")
    body.append(table.script())
    body.append(f"<script>{SWITCH_JS}{KEYS_JS}</script></body></html>")
    return "\n".join(body) + "\n"
