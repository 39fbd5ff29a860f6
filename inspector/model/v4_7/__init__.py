"""The reference model of Linux 4.7 memory initialisation (x86_64 and arm64), one module per
piece of kernel code it mirrors:

- ``state``: the boot's state record (pgdats, zones, free blocks, mm globals) and its accessors;
- ``free_area_init``: zone and node sizes, ZONE_MOVABLE (mm/page_alloc.c);
- ``arm64_init``: arm64's zone_sizes_init() without NUMA (arch/arm64/mm/init.c);
- ``memmap``: memmap_init_zone() and the pageblock migratetypes;
- ``zonelists``: build_all_zonelists();
- ``start_kernel``: every memblock allocation from stop 1 to the hand-off (init/main.c and the
  functions it calls), on ``inspector.model.memblock``;
- ``nobootmem``: free_all_bootmem() and __free_one_page() (mm/nobootmem.c, mm/page_alloc.c);
- ``alternative``: x86's SMP-alternatives free (arch/x86/kernel/alternative.c);
- ``watermarks``: pagesets, min_free_kbytes, watermarks, lowmem_reserve;
- ``snapshot``: the state projected onto the schema at each stop;
- ``boot``: the order start_kernel() runs them in; ``fields``: which function computes a field.
"""

from inspector.model.v4_7.boot import Linux47, boot_log_lines, predict, replay
from inspector.model.v4_7.state import STOPS, VERSION

__all__ = ["STOPS", "VERSION", "Linux47", "boot_log_lines", "predict", "replay"]
