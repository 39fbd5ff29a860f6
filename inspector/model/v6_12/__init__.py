"""The reference model of Linux 6.12 memory initialisation (x86_64 and arm64), laid out like the
4.7 one and reusing its unchanged arithmetic. It predicts every stop, from free_area_init_core
to the watermarks:

- ``state``: the 4.7 state record plus 6.12's stops and pfn_valid();
- ``free_area_init``: zone and node sizes, ZONE_MOVABLE with ``N%`` (mm/mm_init.c);
- ``memmap``: memmap_init(), per (range, zone), and the unavailable ranges (mm/mm_init.c);
- the zonelists: inspector.model.v4_7.zonelists at the release (node order, 5.16's weights);
- ``start_kernel``: every memblock allocation and free from free_area_init() to
  memblock_free_all(), in start_kernel()'s order, so memblock at the hand-off is predicted; a
  module per kernel file: ``early`` (the allocator's state and the hash-table record),
  ``setup_arch`` (x86's HPET/IOAPIC/e820 resources, arm64's resource array), ``cmdline``
  (setup_command_line() and the unknown parameters, init/main.c), ``percpu`` (the first
  chunk, mm/percpu.c), ``hashes`` (alloc_large_system_hash(), the vfs and mount caches),
  ``cpu_entry_area`` (x86's page tables for it), ``swiotlb`` (kernel/dma/swiotlb.c);
- ``memblock_free_all``: the buddy hand-off with FPI_TO_TAIL (mm/memblock.c, mm/page_alloc.c);
- ``snapshot``, ``boot``, ``fields`` as in 4.7.
"""

from inspector.model.v6_12.boot import Linux612, replay
from inspector.model.v6_12.state import NOT_MODELLED, STOPS, VERSION

__all__ = ["NOT_MODELLED", "STOPS", "VERSION", "Linux612", "replay"]
