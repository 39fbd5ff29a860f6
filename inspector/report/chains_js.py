"""The model's chains on the page, each stored once: a table of chain nodes (deduplicated across
stops and cells) as inline JSON, and a script that draws a value's tree, the same lines
``mm-inspector explain`` prints (inspector.model.provenance.tree_lines), when the reader opens
it. A 2-node guest's page held some 300 copies of overlapping trees inline (0.7 of its 0.9 MB);
the table holds each node once."""

from __future__ import annotations

import json
from typing import Any

from inspector.model.provenance import Chain, _short


class ChainTable:
    """Chain nodes by id; a node is (path, value, expr, function, note, operands), each operand
    (name, value, the id of the chain it refers to or None, that chain's path, its source); every
    text is an index into one table of strings (function names and sources repeat a lot)."""

    def __init__(self) -> None:
        self.rows: list[list[Any]] = []
        self._ids: dict[str, int] = {}
        self.strings: list[str] = []
        self._string_ids: dict[str, int] = {}

    def _s(self, text: str | None) -> int | None:
        if text is None:
            return None
        if text not in self._string_ids:
            self._string_ids[text] = len(self.strings)
            self.strings.append(text)
        return self._string_ids[text]

    def add(self, chains: dict[str, Chain], path: str, memo: dict[str, int]) -> int:
        """The id of ``path``'s chain among ``chains`` (one stop's), its operands' first;
        ``memo`` maps the stop's paths already added."""
        if path in memo:
            return memo[path]
        c = chains[path]
        memo[path] = -1  # a chain never refers back to itself; guard all the same
        ops: list[list[Any]] = []
        for o in c.operands:
            ref = self.add(chains, o.ref, memo) if o.ref and o.ref in chains else None
            ops.append([self._s(o.name), _short(o.value), ref, self._s(o.ref), self._s(o.source)])
        row = [
            self._s(c.path),
            _short(c.value),
            self._s(c.expr),
            self._s(c.function),
            self._s(c.note),
            ops,
        ]
        key = json.dumps(row, separators=(",", ":"))
        if key not in self._ids:
            self._ids[key] = len(self.rows)
            self.rows.append(row)
        memo[path] = self._ids[key]
        return memo[path]

    def script(self) -> str:
        """The inline script: the table and the drawing of a tree into a cell's <pre>."""
        data = json.dumps(self.rows, separators=(",", ":"))
        strings = json.dumps(self.strings, separators=(",", ":"), ensure_ascii=False)
        js = f"var MMI_CHAINS={data};var MMI_S={strings};{TREE_JS}"
        return "<script>" + js.replace("</", "<\\/") + "</script>"


# tree_lines() in JavaScript: a chain already shown is named, not repeated
TREE_JS = """
function mmiS(i) { return i === null ? null : MMI_S[i]; }
function mmiTree(id, indent, seen) {
  var c = MMI_CHAINS[id]; seen[id] = 1;
  var lines = [indent + mmiS(c[0]) + ' = ' + c[1] + '    [' + mmiS(c[3]) + ']'];
  if (c[2] !== null) lines.push(indent + '  = ' + mmiS(c[2]));
  if (mmiS(c[4])) lines.push(indent + '  (' + mmiS(c[4]) + ')');
  c[5].forEach(function (o) {
    var name = mmiS(o[0]);
    if (o[2] !== null && seen[o[2]]) {
      lines.push(indent + '  ' + name + ': ' + mmiS(o[3]) + ' = ' + o[1] + '    (above)');
    } else if (o[2] !== null) {
      var sub = mmiTree(o[2], indent + '    ', seen);
      sub[0] = indent + '  ' + name + ': ' + sub[0].replace(/^\\s+/, '');
      lines = lines.concat(sub);
    } else {
      lines.push(indent + '  ' + name + ' = ' + o[1] + '    <- ' + mmiS(o[4]));
    }
  });
  return lines;
}
document.addEventListener('click', function (ev) {
  var s = ev.target.closest('details.chain > summary');
  if (!s) return;
  var pre = s.parentNode.querySelector('pre.chain');
  if (pre && !pre.textContent) {
    pre.textContent = mmiTree(+s.parentNode.dataset.c, '', {}).join('\\n');
  }
});
"""
