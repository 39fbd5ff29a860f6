"""The reference model of Linux memory initialisation (x86_64 and arm64), one model for every
release it covers: a step where the kernel changed asks the change record (``BootState.has``,
inspector.kernel_changes) and cites the change, as drgn's helpers do. One module per piece of
kernel code it mirrors:

- ``state``: the boot's state record (pgdats and zones, free blocks, pageblocks, mm globals), its
  accessors, the stops by role;
- ``free_area_init``: zone and node sizes (free_area_init_nodes() / free_area_init(),
  free_area_init_node(), calculate_node_totalpages(), free_area_init_core());
  ``zone_movable``: kernelcore=/movablecore= and ZONE_MOVABLE's start on each node;
  ``arm64_init``: arm64's zone_sizes_init() without NUMA (4.7); ``x86_numa``: x86's
  setup_node_data() line of 3.x;
- ``memmap``: memmap_init_zone() (4.7) or memmap_init() per memblock range, the pageblock
  migratetypes, the unavailable ranges, defer_init(), page_zone();
- ``zonelists``: build_all_zonelists();
- the early allocations, every memblock allocation from stop 1 to the hand-off: before change
  "image-and-early-allocations" ``start_kernel_v4`` (4.7's start_kernel()), from it
  ``start_kernel`` on ``early`` with a module per kernel file: ``setup_arch`` (firmware
  resources), ``cmdline`` (setup_command_line(), the unknown parameters), ``percpu`` (the first
  chunk), ``hashes`` (alloc_large_system_hash(), the vfs and mount caches), ``cpu_entry_area``
  (x86's page tables for it), ``swiotlb`` (kernel/dma/swiotlb.c), ``cma`` (the DMA CMA area);
- ``memblock_free_all``: the buddy hand-off (free_all_bootmem() in 4.7) and the deferred struct
  pages; ``mem_init``: the ``Memory:`` line; ``alternative``: x86's SMP-alternatives free;
- ``watermarks``: pagesets, min_free_kbytes, watermarks, lowmem_reserve;
- ``snapshot``: the state projected onto the schema at each stop;
- ``boot``: the order start_kernel() runs them in; ``fields``: which function computes a field.
"""

from inspector.model.linux.boot import Linux, boot_log_lines, predict, replay
from inspector.model.linux.state import ROLES, BootState

__all__ = ["ROLES", "BootState", "Linux", "boot_log_lines", "predict", "replay"]
