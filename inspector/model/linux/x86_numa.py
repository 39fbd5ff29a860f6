"""x86's NUMA set-up as a release before change "initmem-line-from-mm" prints it: the node data
set up from numa_meminfo in numa_register_memblks() (arch/x86/mm/numa.c, 3.14), before
free_area_init_nodes()."""

from __future__ import annotations

from inspector.model.linux.state import BootState

NODE_MIN_SIZE = 4 << 20  # arch/x86/include/asm/numa.h


def numa_register_memblks(m: BootState) -> None:
    # mirrors numa_register_memblks() → setup_node_data() (arch/x86/mm/numa.c, 3.14): each
    # possible node's span over its numa_meminfo blocks, printed when at least NODE_MIN_SIZE
    spans: dict[int, tuple[int, int]] = {}
    for start, end, nid in m.inputs.numa_meminfo:
        lo, hi = spans.get(nid, (start, end))
        spans[nid] = (min(lo, start), max(hi, end))
    for nid in sorted(spans):
        start, end = spans[nid]
        if end and end - start >= NODE_MIN_SIZE:
            m.log.append(f"Initmem setup node {nid} [mem {start:#010x}-{end - 1:#010x}]")
