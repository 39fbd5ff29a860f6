"""The package's import graph has no cycles: data flows one way (build → VM → debugger → capture
→ model → compare → report), and a module never reaches back up, not even lazily inside a
function. Each import of an ``inspector`` module, at any depth of the file, is an edge."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "inspector"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # "from inspector.x import y": y may be a module of package inspector.x
                targets = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
            for t in targets:
                if t in modules and t != name:
                    graph[name].add(t)
                    break
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles() -> None:
    graph = import_graph()
    assert len(graph) > 40  # the walk found the package
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


# The model never reads what it is judged on: it sees its typed inputs (inspector.model.inputs,
# filled from a stop-1 capture and the build) and the kernel's constants, never a capture, a run
# directory, the comparison, the live guest or the debugger.
MODEL_MAY_IMPORT = (
    "inspector.model",
    "inspector.schema",
    "inspector.errors",
    "inspector.registry",
    "inspector.arch",
    "inspector.kernel_changes",  # the change records: "does this release have change X?"
    "inspector.release",  # releases as comparable values
)
NEVER_INTO_THE_MODEL = (
    "inspector.capture",
    "inspector.rundir",
    "inspector.compare",
    "inspector.live",
    "inspector.debug",
)


def _under(module: str, prefix: str) -> bool:
    # inspector.compare covers inspector.compare.x and sibling modules inspector.compare_x
    return module == prefix or module.startswith((f"{prefix}.", f"{prefix}_"))


def model_violations(graph: dict[str, set[str]]) -> list[str]:
    out = []
    for mod, targets in sorted(graph.items()):
        if not _under(mod, "inspector.model"):
            continue
        for t in sorted(targets):
            if any(_under(t, f) for f in NEVER_INTO_THE_MODEL):
                out.append(f"{mod} imports {t}: the model would read what it is judged on")
            elif not any(_under(t, a) or t == a for a in MODEL_MAY_IMPORT):
                out.append(f"{mod} imports {t}: not among what a model may import")
    return out


def test_the_model_imports_only_downwards() -> None:
    graph = import_graph()
    model = [m for m in graph if _under(m, "inspector.model")]
    assert len(model) > 20  # the walk found the model's modules
    assert model_violations(graph) == []


def test_the_direction_check_finds_a_model_reaching_up() -> None:
    graph = {
        "inspector.model.v9.zones": {"inspector.capture.readers", "inspector.schema"},
        "inspector.model.v9.fit": {"inspector.compare_fields"},
        "inspector.model.v9.boot": {"inspector.vm.qemu"},
        "inspector.compare": {"inspector.model.v9.zones"},  # downwards: fine
    }
    assert model_violations(graph) == [
        "inspector.model.v9.boot imports inspector.vm.qemu: not among what a model may import",
        "inspector.model.v9.fit imports inspector.compare_fields: the model would read what it "
        "is judged on",
        "inspector.model.v9.zones imports inspector.capture.readers: the model would read what "
        "it is judged on",
    ]


def test_the_only_way_into_a_model_is_its_typed_inputs() -> None:
    import typing

    from inspector.model import MODELS
    from inspector.model.inputs import ModelInputs

    for version, spec in MODELS.items():
        hints = typing.get_type_hints(spec.replay)
        params = [k for k in hints if k != "return"]
        assert [hints[p] for p in params] == [ModelInputs], version


def test_every_benchmark_still_starts():
    """The benchmarks are not run by the tests, but each must still import and parse its options
    (two of them imported a function that had moved, unnoticed, for a session)."""
    import subprocess
    import sys
    from pathlib import Path

    bench = Path(__file__).resolve().parents[1] / "bench"
    scripts = sorted(bench.glob("*.py"))
    assert scripts
    for script in scripts:
        proc = subprocess.run(
            [sys.executable, str(script), "--help"], capture_output=True, text=True
        )
        assert proc.returncode == 0, f"{script.name}: {proc.stderr[-1000:]}"
