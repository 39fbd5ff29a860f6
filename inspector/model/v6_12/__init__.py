"""The reference model of Linux 6.12 memory initialisation (x86_64 and arm64), laid out like the
4.7 one and reusing its unchanged arithmetic. It reaches memblock_free_all's return so far:

- ``state``: the 4.7 state record plus 6.12's stops and pfn_valid();
- ``free_area_init``: zone and node sizes, ZONE_MOVABLE with ``N%`` (mm/mm_init.c);
- ``memmap``: memmap_init(), per (range, zone), and the unavailable ranges (mm/mm_init.c);
- ``zonelists``: build_all_zonelists() in node order (mm/page_alloc.c);
- ``memblock_free_all``: the buddy hand-off with FPI_TO_TAIL (mm/memblock.c, mm/page_alloc.c);
- ``snapshot``, ``boot``, ``fields`` as in 4.7.
"""

from inspector.model.v6_12.boot import Linux612, replay
from inspector.model.v6_12.state import NOT_MODELLED, STOPS, VERSION

__all__ = ["NOT_MODELLED", "STOPS", "VERSION", "Linux612", "replay"]
