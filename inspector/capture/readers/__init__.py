"""Guest memory (bulk reads through gdb) decoded into ``inspector.schema`` objects.

Each reader reads whole objects (a ``pglist_data``, the ``memblock`` struct, a region array) in
one round trip and decodes them with offsets from the vmlinux's DWARF (``debug.layout``). Names
follow the kernel: ``read_pgdat`` reads ``NODE_DATA(nid)``, ``zone_free_area`` ``zone->free_area``.
Differences between 4.7 and 6.12 are handled where they occur (does the member exist?).

One module per thing read: ``base`` (raw access, DWARF constants, mm globals, linux_banner),
``memblock`` (stop 1's inputs: memblock, NUMA, cpu→node, firmware map, boot variables), ``nodes``
(node_states[], pgdat, zone sizes, zonelists), ``pageblocks`` (mem_section[], pfn_to_page(),
pageblock migratetypes), ``buddy`` (free lists, watermarks, per-cpu pagesets). :class:`Reader`
is all of them.
"""

from __future__ import annotations

from inspector.capture.readers.buddy import BuddyReader
from inspector.capture.readers.memblock import E820_TYPES, InputReader

__all__ = ["E820_TYPES", "Reader"]


class Reader(InputReader, BuddyReader):
    """Decoders bound to one debugger (gdb, or the RAM file at a stop) and one vmlinux."""
