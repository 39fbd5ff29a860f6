"""Where each number the model computes came from: a chain per value, recorded as the model runs.

A chain is the kernel expression (spelled in Python, over named operands, with the kernel's helper
names from ``NAMESPACE``), the kernel function that evaluates it, and each operand's value with
where it came from: another recorded value (its field path, so the chain goes on), a stop-1
input or a build fact (``ModelInputs.sources``), or a constant of the kernel source. The model
cuts the record at every stop, so a path explains the value the model holds at that stop.
``mm-inspector explain`` prints the chains; report.html opens them from each model value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from inspector.model.common import (
    clamp,
    int_sqrt,
    mult_frac,
    page_align,
    rounddown_pow_of_two,
    roundup,
)


@dataclass(frozen=True)
class Operand:
    name: str  # its name in the chain's expression
    value: Any
    ref: str | None = None  # the path of the chain that computed it
    source: str = ""  # else: where it came from (stop-1 input, build, kernel constant)


@dataclass(frozen=True)
class Chain:
    path: str
    value: Any
    expr: str | None  # None: not a closed form (a simulation), ``note`` says what it is
    function: str  # the kernel function that computes it, with its file
    operands: tuple[Operand, ...] = ()
    note: str = ""

    def evaluate(self) -> Any:
        """The expression evaluated on the operands' values (what a test holds against
        ``value``)."""
        if self.expr is None:
            raise ValueError(f"{self.path} has no expression")
        return evaluate(self.expr, **{o.name: o.value for o in self.operands})


def evaluate(expr: str, **values: Any) -> Any:
    """A chain's expression evaluated on named values, with the kernel's helpers
    (``NAMESPACE``): where the model computes a value by its chain's own expression, the value
    and its derivation are written once."""
    code = _COMPILED.get(expr)
    if code is None:
        code = _COMPILED[expr] = compile(expr, "<chain>", "eval")
    return eval(code, {"__builtins__": {}, **NAMESPACE}, values)


_COMPILED: dict[str, Any] = {}


# The helpers an expression may call, named as the kernel names them.
NAMESPACE: dict[str, Callable[..., Any]] = {
    "min": min,
    "max": max,
    "sum": sum,
    "clamp": clamp,
    "int_sqrt": int_sqrt,
    "mult_frac": mult_frac,
    "rounddown_pow_of_two": rounddown_pow_of_two,
    "roundup": roundup,
    "PAGE_ALIGN": page_align,
}


@dataclass
class Given:
    """An operand that is not a recorded value: an input, a build fact or a constant."""

    value: Any
    source: str


@dataclass
class Provenance:
    chains: dict[str, Chain] = field(default_factory=dict)
    stops: dict[str, dict[str, Chain]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # model input name -> its source

    def given(self, value: Any, input_name: str, detail: str = "") -> Given:
        """A model input (``ModelInputs`` field ``input_name``), with the source it declares."""
        where = self.sources.get(input_name, "model input")
        return Given(value, f"{where}{' ' + detail if detail else ''} [input {input_name}]")

    def note(
        self,
        path: str,
        value: Any,
        expr: str | None,
        function: str,
        note: str = "",
        **operands: str | Given | Any,
    ) -> Any:
        """Record ``path = expr`` and return ``value``. Each operand is the path of a recorded
        chain (str), a ``Given``, or a plain value (a constant of the kernel source)."""
        ops = []
        for name, o in operands.items():
            if isinstance(o, str):
                ops.append(Operand(name, self.chains[o].value, ref=o))
            elif isinstance(o, Given):
                ops.append(Operand(name, o.value, source=o.source))
            else:
                ops.append(Operand(name, o, source="constant in the kernel source"))
        self.chains[path] = Chain(path, value, expr, function, tuple(ops), note)
        return value

    def derive(
        self, path: str, expr: str, function: str, note: str = "", **operands: str | Given | Any
    ) -> Any:
        """Compute ``path`` as ``expr`` over the operands (as ``note`` takes them), record the
        chain and return the value: the model's arithmetic is the chain's expression itself."""
        values = {
            name: self.chains[o].value
            if isinstance(o, str)
            else o.value
            if isinstance(o, Given)
            else o
            for name, o in operands.items()
        }
        return self.note(path, evaluate(expr, **values), expr, function, note, **operands)

    def keep(self, path: str, when: str, renamed: dict[str, str] | None = None) -> str:
        """Keep the chain of ``path`` as ``path@when`` before a later step changes the value
        (the new chain names it as an operand); its operands that name chains kept the same
        way (``renamed``: path -> kept path) name the kept ones. Returns the kept path."""
        kept = f"{path}@{when}"
        c = self.chains[path]
        ops = tuple(
            replace(o, ref=renamed[o.ref]) if renamed and o.ref in renamed else o
            for o in c.operands
        )
        self.chains[kept] = replace(c, path=kept, operands=ops)
        return kept

    def cut(self, stop: str) -> None:
        self.stops[stop] = dict(self.chains)


def walk(chains: dict[str, Chain], path: str) -> Iterator[Chain]:
    """Every chain under ``path``, itself first, each once."""
    seen: set[str] = set()
    todo = [path]
    while todo:
        p = todo.pop()
        if p in seen or p not in chains:
            continue
        seen.add(p)
        c = chains[p]
        yield c
        todo += [o.ref for o in reversed(c.operands) if o.ref]


def tree_lines(
    chains: dict[str, Chain], path: str, indent: str = "", seen: set[str] | None = None
) -> list[str]:
    """The chain of ``path`` as an indented tree down to the inputs (``explain``'s output); a
    chain already shown is named, not repeated."""
    seen = set() if seen is None else seen
    seen.add(path)
    c = chains[path]
    lines = [f"{indent}{c.path} = {_short(c.value)}    [{c.function}]"]
    if c.expr is not None:
        lines.append(f"{indent}  = {c.expr}")
    if c.note:
        lines.append(f"{indent}  ({c.note})")
    for o in c.operands:
        if o.ref and o.ref in seen:
            lines.append(f"{indent}  {o.name}: {o.ref} = {_short(o.value)}    (above)")
        elif o.ref and o.ref in chains:
            sub = tree_lines(chains, o.ref, indent + "    ", seen)
            sub[0] = f"{indent}  {o.name}: " + sub[0].lstrip()
            lines += sub
        else:
            lines.append(f"{indent}  {o.name} = {_short(o.value)}    <- {o.source}")
    return lines


def _short(v: Any) -> str:
    if isinstance(v, list | tuple) and len(v) > 12:
        return f"[{', '.join(map(str, v[:12]))}, … {len(v)} values]"
    return str(v)
