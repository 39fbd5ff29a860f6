"""Everything a model reads, as one typed record whose every field says where it came from.

A model is judged on what the kernel did after stop 1, so it may read only:

- ``stop1``: the capture at the first stop (``free_area_init_nodes`` / ``free_area_init`` entry);
- ``build``: the vmlinux and ``.config`` of the booted kernel (``build.json`` in the run dir);
- ``later``: a value captured at a later stop that the model cannot derive yet. Each one is named
  here with the reason, and every compare report prints how many compared values depend on it.

There are no silent defaults: an input that is missing is an error naming it and its source.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inspector.errors import InspectorError
from inspector.schema import Inputs, Memblock, Snapshot


@dataclass(frozen=True)
class Source:
    kind: str  # "stop1" | "build" | "later"
    where: str  # the stop and field, the vmlinux symbol or the .config option

    def text(self) -> str:
        return f"{self.kind}: {self.where}"


# Later-stop inputs: why each cannot come from stop 1 and the build (yet), and which stops'
# compared values it feeds.
LATER_INPUTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "memblock_at_handoff": (
        "start_kernel allocates from memblock between free_area_init_nodes and free_all_bootmem "
        "(wait tables, ACPI resources, command lines, the per-cpu first chunk, the PID hash); "
        "those allocations are not modelled yet",
        ("free_all_bootmem.return", "init_per_zone_wmark_min"),
    ),
    "nr_possible_cpus": (
        "the possible-CPU count comes from ACPI's MADT (x86_64) or the device tree's cpus "
        "(arm64), both parsed after free_area_init_nodes; taken as the number of cpu_to_node "
        "entries captured at build_all_zonelists",
        ("init_per_zone_wmark_min",),
    ),
    "cpu_to_node_at_zonelists": (
        "the same CPU topology: nr_free_zone_pages() counts from the boot CPU's node",
        ("build_all_zonelists", "free_all_bootmem.return", "init_per_zone_wmark_min"),
    ),
}


@dataclass
class ModelInputs:
    """The model's whole view of one boot."""

    version: str
    arch: str
    release: str
    # stop 1
    max_zone_pfn: list[int]
    zone_names: list[str]
    memblock: Memblock
    node_distance: list[list[int]]
    cpu_to_node: list[int]
    cmdline: str
    online_nodes: list[int]
    max_order: int
    sizeof_struct_page: int
    page_size: int
    max_low_pfn: int
    phys_base: int | None  # x86_64 only
    # build
    pageblock_order: int
    nodes_shift: int
    config_numa: bool
    smp_locks: tuple[int, int] | None  # x86_64: [__smp_locks, __smp_locks_end)
    # later stops (LATER_INPUTS)
    memblock_at_handoff: Memblock
    nr_possible_cpus: int
    cpu_to_node_at_zonelists: list[int]
    sources: dict[str, Source] = field(default_factory=dict)

    def later(self) -> list[str]:
        return [k for k, s in self.sources.items() if s.kind == "later"]

    def provenance_text(self) -> str:
        return "\n".join(f"  {k:22} {s.text()}" for k, s in self.sources.items())


class _Collector:
    def __init__(self, run: str) -> None:
        self.run = run
        self.values: dict[str, Any] = {}
        self.sources: dict[str, Source] = {}

    def put(self, name: str, value: Any, kind: str, where: str) -> None:
        if value is None:
            raise InspectorError(
                f"{self.run}: model input {name} is missing ({kind}: {where}): capture the run "
                "again with this mm-inspector"
            )
        self.values[name] = value
        self.sources[name] = Source(kind, where)


def load_build_record(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "build.json"
    if not path.exists():
        raise InspectorError(
            f"{run_dir}: no build.json (the model's build inputs): capture the run again with "
            "this mm-inspector"
        )
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise InspectorError(f"{path}: not valid JSON ({e.msg}): capture the run again") from None
    return data


def model_inputs(
    run_dir: Path, stops: dict[str, Snapshot], first: str, handoff: str, zonelists: str
) -> ModelInputs:
    """Collect the model's inputs from a run: ``first`` is stop 1's name, ``handoff`` the stop
    at whose entry memblock is taken, ``zonelists`` the stop that shows the possible CPUs."""
    c = _Collector(str(run_dir))
    start = stops.get(first)
    if start is None or start.inputs is None:
        raise InspectorError(f"{run_dir}: no {first} snapshot with inputs (stop 1)")
    inp = start.inputs
    s1 = f"{first} entry"
    c.put("max_zone_pfn", inp.max_zone_pfn or None, "stop1", f"{s1}: max_zone_pfn[]")
    c.put("zone_names", inp.zone_names or None, "stop1", f"{s1}: zone_names[] (vmlinux data)")
    c.put("memblock", inp.memblock, "stop1", f"{s1}: memblock.memory and .reserved")
    c.put("node_distance", inp.node_distance, "stop1", f"{s1}: numa_distance[]")
    c.put("cpu_to_node", inp.cpu_to_node, "stop1", f"{s1}: the arch's cpu-to-node map")
    c.put("cmdline", inp.cmdline, "stop1", f"{s1}: boot_command_line")
    c.put("online_nodes", inp.online_nodes, "stop1", f"{s1}: node_states[N_ONLINE]")
    k = inp.constants
    c.put("max_order", k.get("MAX_ORDER"), "stop1", f"{s1}: len(zone->free_area) from DWARF")
    c.put("sizeof_struct_page", k.get("sizeof_struct_page"), "stop1", f"{s1}: sizeof(struct page)")
    c.put("page_size", k.get("PAGE_SIZE"), "stop1", f"{s1}: PAGE_SIZE")
    c.put("max_low_pfn", k.get("max_low_pfn"), "stop1", f"{s1}: max_low_pfn")
    if start.kernel.arch == "x86_64":
        c.put("phys_base", k.get("phys_base"), "stop1", f"{s1}: phys_base")
    else:
        c.values["phys_base"] = None
        c.sources["phys_base"] = Source("stop1", "not used on arm64")
    b = load_build_record(run_dir)
    cfg = b.get("config", {})
    c.put("pageblock_order", b.get("pageblock_order"), "build", ".config: pageblock_order")
    c.put(
        "nodes_shift",
        int(cfg["CONFIG_NODES_SHIFT"]) if "CONFIG_NODES_SHIFT" in cfg else 0,
        "build",
        ".config: CONFIG_NODES_SHIFT (0 without NUMA)",
    )
    c.put("config_numa", cfg.get("CONFIG_NUMA") == "y", "build", ".config: CONFIG_NUMA")
    sym = b.get("symbols", {})
    if start.kernel.arch == "x86_64":
        locks = (sym.get("__smp_locks"), sym.get("__smp_locks_end"))
        c.put(
            "smp_locks",
            locks if None not in locks else None,
            "build",
            "vmlinux symbols __smp_locks, __smp_locks_end",
        )
    else:
        c.values["smp_locks"] = None
        c.sources["smp_locks"] = Source("build", "not used on arm64")
    at = stops.get(handoff)
    c.put(
        "memblock_at_handoff",
        at.inputs.memblock if at is not None and at.inputs is not None else None,
        "later",
        f"{handoff} entry: memblock ({LATER_INPUTS['memblock_at_handoff'][0]})",
    )
    zl = stops.get(zonelists)
    cpus = {
        int(key.split(".", 1)[1]): v
        for key, v in (zl.globals if zl else {}).items()
        if key.startswith("cpu_to_node.")
    }
    c.put(
        "nr_possible_cpus",
        len(cpus) or None,
        "later",
        f"{zonelists}: cpu_to_node entries ({LATER_INPUTS['nr_possible_cpus'][0]})",
    )
    c.put(
        "cpu_to_node_at_zonelists",
        [cpus[i] for i in sorted(cpus)] or None,
        "later",
        f"{zonelists}: cpu_to_node ({LATER_INPUTS['cpu_to_node_at_zonelists'][0]})",
    )
    return ModelInputs(
        version=start.kernel.version,
        arch=start.kernel.arch,
        release=start.kernel.release,
        sources=c.sources,
        **c.values,
    )


def synthetic_inputs(
    inputs: Inputs,
    arch: str,
    *,
    version: str = "4.7",
    config_numa: bool = True,
    memblock_at_handoff: Memblock | None = None,
    nr_possible_cpus: int | None = None,
    smp_locks: tuple[int, int] | None = None,
    nodes_shift: int | None = None,
) -> ModelInputs:
    """ModelInputs for a layout made up by a unit test (not a capture): every value not given is
    a stated synthetic default, and every source says ``synthetic``."""
    k = inputs.constants
    max_order = k.get("MAX_ORDER", 11)
    cpus = inputs.cpu_to_node or [0]
    n = nr_possible_cpus or max(1, len(inputs.cpu_to_node))
    values: dict[str, Any] = {
        "max_zone_pfn": inputs.max_zone_pfn,
        "zone_names": inputs.zone_names,
        "memblock": inputs.memblock,
        "node_distance": inputs.node_distance,
        "cpu_to_node": inputs.cpu_to_node,
        "cmdline": inputs.cmdline,
        "online_nodes": inputs.online_nodes or [],
        "max_order": max_order,
        "sizeof_struct_page": k.get("sizeof_struct_page", 64),
        "page_size": k.get("PAGE_SIZE", 4096),
        "max_low_pfn": k.get("max_low_pfn", max(inputs.max_zone_pfn)),
        "phys_base": 0 if arch == "x86_64" else None,
        "pageblock_order": k.get("pageblock_order", max_order - 1),
        "nodes_shift": nodes_shift if nodes_shift is not None else (6 if arch == "x86_64" else 2),
        "config_numa": config_numa,
        "smp_locks": smp_locks,
        "memblock_at_handoff": memblock_at_handoff or inputs.memblock,
        "nr_possible_cpus": n,
        "cpu_to_node_at_zonelists": [cpus[i] if i < len(cpus) else 0 for i in range(n)],
    }
    return ModelInputs(
        version=version,
        arch=arch,
        release=version,
        sources={key: Source("synthetic", "a unit test's layout") for key in values},
        **values,
    )
