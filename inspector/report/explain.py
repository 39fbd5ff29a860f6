"""``mm-inspector explain RUN_DIR [PATH]``: where a number came from. With a field path (any path
compare prints, or the short ``node0.DMA32.managed_pages``) it prints the model's chain for it
as an indented tree down to the stop-1 inputs and the build; alone it lists the paths it can
explain, one a line. Values the model computes in closed form carry their expression; values
that come out of a step-by-step simulation (free lists, pageblocks, zonelists, memblock at the
hand-off) say which simulation and hang from the chains they start from."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from inspector.compare import Comparison, compare, function_for, generic_path, kernel_log_lines
from inspector.errors import InspectorError
from inspector.model import model_for
from inspector.model.provenance import Chain, Operand, tree_lines

_SHORT = re.compile(r"^node(\d+)\.(?!node_)(\w+)\.(.+)$")
_SHORT_NODE = re.compile(r"^node(\d+)\.(node_\w+|nr_zones)$")

# What a simulated value is, by compare's generic path (inspector.compare.generic_path).
SIMULATED: list[tuple[str, str]] = [
    (
        "zone.free_area.blocks",
        "the pfns on this free list, head first, from the model's "
        "page-by-page hand-off (__free_one_page()'s merges, list_add()/list_add_tail())",
    ),
    (
        "zone.pageblock_migratetypes",
        "each pageblock's migratetype: memmap_init set MOVABLE at "
        "every pageblock start of the zone, later early allocations' pages keep theirs",
    ),
    ("zonelist", "the zone order build_zonelists() picks from node_distance and the node load"),
    (
        "memblock",
        "the model's replay of every early memblock allocation and free from stop 1 to "
        "the hand-off, in the kernel's order (memblock_reserve/memblock_alloc/memblock_free)",
    ),
    ("inputs", "the later-stop inputs the capture declares (see compare's model inputs)"),
    ("zone.pageset", "per-cpu pageset state"),
    ("zone.free_area.nr_free", "the free blocks of the order"),
]


def normalise(path: str) -> str:
    """``node0.DMA32.managed_pages`` -> ``node[0].zone[DMA32].managed_pages``."""
    if m := _SHORT_NODE.match(path):
        return f"node[{m.group(1)}].{m.group(2)}"
    if m := _SHORT.match(path):
        return f"node[{m.group(1)}].zone[{m.group(2)}].{m.group(3)}"
    return path


def explainable(cmp: Comparison) -> list[str]:
    """Every path compare compares, at any stop, each once, in the order compare walks them,
    then the boot-log lines it judges (``log[N]``, N counting the lines the kernel printed)."""
    seen: dict[str, None] = {}
    for leaves in cmp.leaves.values():
        seen.update(dict.fromkeys(leaves))
    return list(seen) + [f"log[{i}]" for i in range(len(printed_lines(cmp)))]


def printed_lines(cmp: Comparison) -> list[str]:
    """The memory-init lines of the guest's dmesg that compare judges against the model's."""
    dmesg = cmp.run_dir / "dmesg.txt"
    if not dmesg.exists() or not cmp.predicted:
        return []
    version = next(iter(cmp.predicted.values())).kernel.version
    return kernel_log_lines(dmesg.read_text(errors="replace"), model_for(version).log_lines)


def explain_log(cmp: Comparison, path: str) -> str:
    """A boot-log line: what the kernel printed, and whether the model printed it too (its
    numbers are values above: explain those)."""
    printed = printed_lines(cmp)
    n = int(path[len("log[") : -1])
    line = printed[n] if n < len(printed) else "missing"
    said = "the model prints it too" if line in cmp.predicted_log else "the model does not print it"
    return (
        f"{path}: the kernel printed {line!r}\n  {said}: the model prints "
        f"{len(cmp.predicted_log)} memory-init lines from the values it computes (printk() at "
        "each step); explain their numbers by the fields above\n"
    )


def stops_of(cmp: Comparison, path: str) -> list[str]:
    return [s for s, leaves in cmp.leaves.items() if path in leaves]


def chain_map(cmp: Comparison, stop: str, path: str) -> dict[str, Chain]:
    """The model's chains at ``stop``, with one for ``path`` when the model recorded none (a
    simulated value, or one the model copies as it stands): its value, its function, and the
    chains it starts from."""
    chains: dict[str, Chain] = dict(cmp.chains.get(stop, {}))
    model = cmp.leaves[stop][path][0]
    if path in chains:
        return chains
    version = next(iter(cmp.predicted.values())).kernel.version if cmp.predicted else ""
    g = generic_path(path)
    note = next((n for p, n in SIMULATED if g == p or g.startswith(p + ".")), "")
    note = note or "the state the model holds after this step (no closed form recorded)"
    ops: list[Operand] = []
    # a free list's blocks hang from the list's count, a zone's arrays from its sizes
    base = re.sub(r"\.blocks\[(\w+)\](\[\d+\])?$", r".free_list[\1]", path)
    zone = re.match(r"^(node\[\d+\]\.zone\[\w+\])\.", path)
    refs = [base] if base != path else []
    if zone and g.startswith("zone.pageblock"):
        refs += [f"{zone.group(1)}.zone_start_pfn", f"{zone.group(1)}.spanned_pages"]
    for r in refs:
        if r in chains:
            ops.append(Operand(r.rsplit(".", 1)[-1], chains[r].value, ref=r))
    chains[path] = Chain(path, model, None, function_for(path, version, stop), tuple(ops), note)
    return chains


def explain_text(cmp: Comparison, path: str | None, stop: str | None = None) -> str:
    if path is None:
        return "".join(p + "\n" for p in explainable(cmp))
    path = normalise(path)
    if re.fullmatch(r"log\[\d+\]", path):
        return explain_log(cmp, path)
    stops = stops_of(cmp, path)
    if not stops:
        close = [p for p in explainable(cmp) if path in p][:5]
        hint = f"; paths containing it: {', '.join(close)}" if close else ""
        raise InspectorError(
            f"{path}: not a value compare compares in this run (mm-inspector explain RUN_DIR "
            f"lists them){hint}"
        )
    if stop is None:
        stop = stops[-1]
    elif stop not in stops:
        raise InspectorError(f"{path} is compared at {', '.join(stops)}, not at {stop}")
    model, captured = cmp.leaves[stop][path]
    same = "same" if model == captured else "DIFFERS"
    head = [f"at stop {stop}: model {_v(model)}, captured {_v(captured)} ({same})"]
    if len(stops) > 1:
        head.append(f"(also compared at {', '.join(s for s in stops if s != stop)}: --stop)")
    return "\n".join(head + tree_lines(chain_map(cmp, stop, path), path)) + "\n"


def _v(x: Any) -> str:
    s = str(x)
    return s if len(s) <= 80 else s[:77] + "..."


def explain(run_dir: Path, path: str | None, stop: str | None = None) -> str:
    return explain_text(compare(run_dir), path, stop)
