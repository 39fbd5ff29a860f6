"""One 6.12 boot replayed from free_area_init() to memblock_free_all()'s return (init/main.c
start_kernel() → setup_arch() → … → mm_core_init()), the stops this model reaches so far."""

from __future__ import annotations

from inspector.model.inputs import ModelInputs
from inspector.model.spec import Replay
from inspector.model.v4_7.alternative import alternative_instructions
from inspector.model.v6_12.free_area_init import free_area_init
from inspector.model.v6_12.memblock_free_all import memblock_free_all
from inspector.model.v6_12.memmap import memmap_init
from inspector.model.v6_12.snapshot import snapshot
from inspector.model.v6_12.state import BOOTMEM, CORE, MEMMAP, WMARKS, ZONELISTS, Linux612State
from inspector.model.v6_12.watermarks import init_per_zone_wmark_min
from inspector.model.v6_12.zonelists import build_all_zonelists
from inspector.schema import Snapshot


class Linux612(Linux612State):
    """One boot of a 6.12 kernel, replayed: call ``run()`` then read the snapshots."""

    def run(self) -> dict[str, Snapshot]:
        free_area_init(self)  # with calc_nr_kernel_pages(); memmap_init() comes last in it
        self.snapshots[CORE] = snapshot(self, CORE)
        memmap_init(self)
        self.snapshots[MEMMAP] = snapshot(self, MEMMAP)
        build_all_zonelists(self)
        self.snapshots[ZONELISTS] = snapshot(self, ZONELISTS)
        memblock_free_all(self)  # from memblock as captured at its entry (a later input)
        self.snapshots[BOOTMEM] = snapshot(self, BOOTMEM)
        # arch_cpu_finalize_init() → alternative_instructions() (x86), then the postcore
        # initcall; the 4.7 function mirrors the same 6.12 code (arch/x86/kernel/alternative.c)
        alternative_instructions(self)
        init_per_zone_wmark_min(self)
        self.snapshots[WMARKS] = snapshot(self, WMARKS)
        return self.snapshots


def replay(inputs: ModelInputs) -> Replay:
    model = Linux612(inputs)
    return Replay(model.run(), model.log, model.mb.calls)
