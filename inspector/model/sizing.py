"""Zone sizing and the zonelists as a stage of their own: a machine's nodes, zones and the
boot-log lines those steps print, from ``SizingInputs`` alone (no early allocation, no hand-off,
no page or pageblock simulated), so a 1 TiB, 8-node machine is sized in time linear in its
memblock ranges.

It runs the model's free_area_init() (inspector.model.linux, at the log's release) and
build_all_zonelists() with the memmap left out: zone_sizes_init() → free_area_init_nodes() /
free_area_init() → free_area_init_node() → calculate_node_totalpages() →
free_area_init_core() (memmap pages, dma_reserve, managed pages, the pcp batch) →
build_all_zonelists().
"""

from __future__ import annotations

from dataclasses import dataclass

from inspector.model.inputs import SizingInputs
from inspector.model.linux.arm64_init import zone_sizes_init_nonuma
from inspector.model.linux.free_area_init import free_area_init, free_area_init_node
from inspector.model.linux.state import BootState, PgdatState
from inspector.model.linux.x86_numa import numa_register_memblks
from inspector.model.linux.zonelists import build_all_zonelists


@dataclass
class Sizing:
    """What the sizing stage leaves: every node and zone, the mm globals it sets and the lines
    it printed, in order; ``state`` for the chains (``state.prov``)."""

    pgdats: dict[int, PgdatState]
    log: list[str]
    vm_total_pages: int
    nr_kernel_pages: int
    nr_all_pages: int
    state: BootState


def size(inputs: SizingInputs, *, changes: frozenset[str] = frozenset()) -> Sizing:
    """Size the machine. ``changes``: the upstream changes (inspector.kernel_changes ids) the
    kernel has where these steps branch on one (the pcp batch cap, the zonelist order)."""
    m = BootState(inputs)
    m.with_memmap = False
    m.changes = changes
    if m.arch.name == "x86_64" and not m.has("initmem-line-from-mm"):
        numa_register_memblks(m)  # initmem_init(), in setup_arch()
    if m.config_numa:
        free_area_init(m)
    else:
        zone_sizes_init_nonuma(m)
    for nid in inputs.late_memoryless_nodes:
        # init_memory_less_node() (arch/x86/mm/numa.c): free_area_init_node(nid, zones_size
        # of zeros, 0, …) once init_cpu_to_node() finds a node with CPUs and no memory
        free_area_init_node(m, nid, 0)
    build_all_zonelists(m)
    return Sizing(m.pgdats, m.log, m.vm_total_pages, m.nr_kernel_pages, m.nr_all_pages, m)
