"""SPARSEMEM sections read in bulk: one read per ``mem_section`` root.

``mem_section`` is ``struct mem_section *mem_section[NR_SECTION_ROOTS]`` in 4.7 and
``struct mem_section **mem_section`` in 6.12 (83e3c48729d9, v4.15, allocates the roots
dynamically with SPARSEMEM_EXTREME). Each section's ``section_mem_map`` carries flags in its low
bits: SECTION_MARKED_PRESENT (bit 0) and SECTION_HAS_MEM_MAP (bit 1) in both versions.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import drgn

from inspector.decode import (
    SECTION_HAS_MEM_MAP,
    SECTION_MARKED_PRESENT,
    section_map_last_bit,
    section_mem_map_addr,
)


@dataclass(frozen=True)
class Section:
    nr: int
    mem_map: int  # section_mem_map, flags included

    @property
    def present(self) -> bool:
        return bool(self.mem_map & SECTION_MARKED_PRESENT)

    @property
    def has_mem_map(self) -> bool:
        return bool(self.mem_map & SECTION_HAS_MEM_MAP)


def _map_last_bit(prog: drgn.Program) -> int:
    """SECTION_MAP_LAST_BIT as a mask: 6.1's and later enum gives its bit number; before, a
    #define by release (decode.section_map_last_bit), the release read from the kernel."""
    try:
        return 1 << int(prog["SECTION_MAP_LAST_BIT"].value_())
    except LookupError:
        release = prog["init_uts_ns"].name.release.string_().decode()
        return section_map_last_bit(release)


def sections(prog: drgn.Program) -> dict[int, Section]:
    """Every section with a non-zero ``section_mem_map``, by section number."""
    size = drgn.sizeof(prog.type("struct mem_section"))
    per_root = prog["SECTIONS_PER_ROOT"].value_()
    mem_section = prog["mem_section"]
    if mem_section.type_.unaliased_kind() == drgn.TypeKind.POINTER:
        roots_addr = mem_section.value_()
        count = prog["NR_SECTION_ROOTS"].value_()
    else:
        roots_addr = mem_section.address_
        count = mem_section.type_.unaliased().length or 0
    if not roots_addr:
        return {}
    assert roots_addr is not None
    roots = struct.unpack(f"<{count}Q", prog.read(roots_addr, 8 * count))
    out: dict[int, Section] = {}
    for r, root in enumerate(roots):
        if not root:
            continue
        raw = prog.read(root, size * per_root)
        for i in range(per_root):
            (value,) = struct.unpack_from("<Q", raw, i * size)
            if value:
                nr = r * per_root + i
                out[nr] = Section(nr, value)
    return out


def vmemmap_base(prog: drgn.Program) -> int | None:
    """SPARSEMEM_VMEMMAP encodes ``mem_map - section_nr_to_pfn(nr)`` = vmemmap in every
    section with a memmap: take the first."""
    last = _map_last_bit(prog)
    for s in sorted(sections(prog).values(), key=lambda s: s.nr):
        if s.has_mem_map:
            return section_mem_map_addr(s.mem_map, last)
    return None
