"""What to capture at each stop of the plan: one handler per ``StopSpec.entry``/``on_return``.

A handler gets the hit number of its stop (0 for the first hit) and returns a Snapshot, or None
when it only remembers something for the return handler (``memmap_args``).
"""

from __future__ import annotations

import re

from inspector import decode
from inspector.capture.readers import Reader
from inspector.debug.gdb import Stop
from inspector.debug.layout import View
from inspector.errors import InspectorError
from inspector.schema import (
    GLOBALS_BUDDY,
    GLOBALS_DEFERRED,
    GLOBALS_HANDOFF,
    GLOBALS_SIZED,
    GLOBALS_WMARKS,
    GLOBALS_ZONELISTS,
    MIGRATETYPES,
    FreeArea,
    Inputs,
    KernelId,
    Memblock,
    Node,
    Snapshot,
)

MOVABLE = MIGRATETYPES.index("Movable")
_INT = re.compile(r"^-?(0x[0-9a-fA-F]+|\d+)")


def parse_int(text: str) -> int | None:
    """gdb's printed value as an int: "4096", "0xffff… <sym>", "-1"; None otherwise."""
    m = _INT.match(text.strip())
    return int(m.group(0), 0) if m else None


class Capture:
    """Handlers bound to a Reader; ``handler(name)`` looks one up by its plan name."""

    def __init__(
        self,
        reader: Reader,
        kernel: KernelId,
        arg_registers: tuple[str, ...],
        init_nodes: str = "N_ONLINE",
    ) -> None:
        self.reader = reader
        self.init_nodes = init_nodes  # the node mask free_area_init(_nodes) walks
        self.kernel = kernel
        self.arg_registers = arg_registers
        self.at_entry: set[str] = set()  # functions broken at their first instruction
        self._args: dict[str, int] = {}
        self.banner = ""
        # free_area_init_core snapshots whose node sizes are re-read at the next stop
        self._unsettled: list[tuple[int, Snapshot]] = []
        # each node's first_deferred_pfn as the hand-off left it (deferred_init_memmap() sets
        # it to ULONG_MAX when it starts): where the deferred stop's part of the lists begins
        self.first_deferred: dict[int, int] = {}

    def _snapshot(self, stop: str, **kw: object) -> Snapshot:
        return Snapshot(stop=stop, kernel=self.kernel, **kw)  # type: ignore[arg-type]

    def _args_int(self, function: str) -> dict[str, int]:
        """The integer arguments of ``function``: from the ABI's argument registers when we
        stopped at its first instruction (one round trip), else through gdb's DWARF view."""
        if function in self.at_entry:
            params = self.reader.layout.parameters(function)[: len(self.arg_registers)]
            regs = self.reader.gdb.registers(self.arg_registers[: len(params)])
            # a 32-bit argument leaves the register's upper half undefined
            return {
                name: int.from_bytes(value.to_bytes(8, "little")[:size], "little", signed=signed)
                for (name, size, signed), value in zip(params, regs.values(), strict=True)
            }
        out: dict[str, int] = {}
        for k, v in self.reader.gdb.frame_arguments().items():
            if (n := parse_int(v)) is not None:
                out[k] = n
            elif v.startswith("MEMMAP_"):  # enum meminit_context / memmap_context
                out[k] = {"MEMMAP_EARLY": 0, "MEMMAP_HOTPLUG": 1}.get(v, -1)
        return out

    # -- 1 -------------------------------------------------------------------------------------
    def on_inputs(self, stop: str, hit: int, _: Stop | None) -> Snapshot:
        r = self.reader
        self.banner = r.check_banner()
        ptr = self._args_int(stop).get("max_zone_pfn")
        if ptr is None:
            raise InspectorError(f"{stop}: cannot read the max_zone_pfn argument")
        return self._snapshot(stop, inputs=r.inputs(ptr))

    # -- 2 -------------------------------------------------------------------------------------
    def on_node_entry(self, stop: str, hit: int, _: Stop | None) -> Snapshot:
        """pgdat and nid are optimised out of the inlined free_area_init_core: the k-th hit
        is the k-th node of the mask the caller walks (capture.run.init_nodes()). The sizes
        read here may not be stored yet (see ``settle``)."""
        r = self.reader
        nodes = r.nodes_in(self.init_nodes)
        if hit >= len(nodes):
            raise InspectorError(f"{stop} hit {hit + 1} times but {self.init_nodes} has {nodes}")
        nid = nodes[hit]
        pgdat = r.read_pgdat(nid)
        if pgdat["node_id"] != nid:
            raise InspectorError(f"{stop}: NODE_DATA({nid})->node_id is {pgdat['node_id']}")
        snap = self._snapshot(
            stop,
            nodes=[r.node(pgdat, r.zones(pgdat, managed=False))],
            globals=r.mm_globals(GLOBALS_SIZED, r.online_nodes()),
        )
        self._unsettled.append((nid, snap))
        return snap

    def unsettled(self, snap: Snapshot) -> bool:
        """Whether ``snap`` waits for ``settle`` (its file is written only then)."""
        return any(s is snap for _, s in self._unsettled)

    def settle(self) -> list[Snapshot]:
        """Give the free_area_init_core snapshots taken so far their node's final sizes; call
        at the next stop. The inlined stop's address can come before the stores that end
        calculate_node_totalpages() (4.7 arm64: node_present_pages is stored one instruction
        after it), and nothing changes the sizes from there to the next stop. nr_zones stays as
        read at the stop (init_currently_empty_zone() sets it later). Returns the snapshots
        changed in place."""
        r = self.reader
        done = []
        for nid, snap in self._unsettled:
            pgdat = r.read_pgdat(nid)
            node = snap.nodes[0]
            node.node_start_pfn = pgdat["node_start_pfn"]
            node.node_spanned_pages = pgdat["node_spanned_pages"]
            node.node_present_pages = pgdat["node_present_pages"]
            node.zones = r.zones(pgdat, managed=False)
            done.append(snap)
        self._unsettled = []
        return done

    # -- 3 -------------------------------------------------------------------------------------
    def on_memmap_args(self, stop: str, hit: int, _: Stop | None) -> None:
        self._args = self._args_int(stop)
        for need in ("size", "nid", "zone", "start_pfn"):
            if need not in self._args:
                raise InspectorError(f"{stop}: argument {need!r} is not readable at entry")

    def on_memmap_done(self, stop: str, hit: int, _: Stop | None) -> Snapshot:
        r, a = self.reader, self._args
        pgdat = r.read_pgdat(a["nid"])
        zone = r.zone(pgdat, a["zone"])
        if r.layout.has_symbol("dma_reserve"):  # 4.7: free_area_init_core's arithmetic
            reserve = r.var_int("dma_reserve") if a["zone"] == 0 else 0
            zone.memmap_pages = zone.present_pages - (zone.managed_pages or 0) - reserve
        zone.pageblock_migratetypes = r.pageblock_migratetypes(
            zone.zone_start_pfn, zone.spanned_pages
        )
        node = r.node(pgdat, [zone])
        g = r.mm_globals(GLOBALS_SIZED, r.online_nodes())
        g.update({f"arg.{k}": v for k, v in a.items()})
        return self._snapshot(stop, nodes=[node], globals=g)

    # -- 4 -------------------------------------------------------------------------------------
    def nodes(self, **zone_kw: bool) -> tuple[list[Node], dict[int, View]]:
        """Every online node with its zones, read as ``zone_kw`` asks (``buddy``,
        ``pageblocks``, ``wmarks``), and the pgdat views (also `mm-inspector gdb`'s mmi)."""
        r = self.reader
        pgdats = {nid: r.read_pgdat(nid) for nid in r.online_nodes()}
        nodes = [
            r.node(pg, [r.zone_state(pg, i, **zone_kw) for i in range(r.max_nr_zones)])
            for pg in pgdats.values()
        ]
        if r.layout.has_member("struct pglist_data", "first_deferred_pfn"):
            for node, pg in zip(nodes, pgdats.values(), strict=True):
                node.first_deferred_pfn = pg["first_deferred_pfn"]
        return nodes, pgdats

    def on_zonelists(self, stop: str, hit: int, _: Stop | None) -> Snapshot:
        r = self.reader
        nodes, pgdats = self.nodes(pageblocks=True)
        # vm_total_pages is a local of build_all_zonelists in 6.12: left out there
        g = r.mm_globals(GLOBALS_ZONELISTS, list(pgdats))
        for cpu, nid in enumerate(r.cpu_to_node()):
            g[f"cpu_to_node.{cpu}"] = nid
        zonelists = r.zonelists(pgdats)
        return self._snapshot(stop, nodes=nodes, zonelists=zonelists, globals=g)

    # -- 5 -------------------------------------------------------------------------------------
    def on_memblock(self, stop: str, hit: int, _: Stop | None) -> Snapshot:
        r = self.reader
        # memblock is compared with the model's; the ACPI-parsed counts are later-stop inputs
        inputs = Inputs(
            max_zone_pfn=[],
            zone_names=r.zone_names,
            memblock=Memblock(),
            constants=r.handoff_variables(),
        )
        g = r.mm_globals(GLOBALS_HANDOFF, r.online_nodes())
        return self._snapshot(stop, inputs=inputs, memblock=r.memblock(), globals=g)

    def on_buddy(self, stop: str, hit: int, done: Stop | None) -> Snapshot:
        nodes, pgdats = self.nodes(buddy=True, pageblocks=True)
        g = self.reader.mm_globals(GLOBALS_BUDDY, list(pgdats))
        if done is not None and done.return_value and (n := parse_int(done.return_value)):
            g["return"] = n
        self.first_deferred = {
            n.node_id: n.first_deferred_pfn for n in nodes if n.first_deferred_pfn is not None
        }
        return self._snapshot(stop, nodes=nodes, globals=g)

    # -- 5b (CONFIG_DEFERRED_STRUCT_PAGE_INIT) -------------------------------------------------
    def on_deferred(self, stop: str, hit: int, _: Stop | None) -> Snapshot:
        """page_alloc_init_late() return: every zone's managed pages, and per order its MOVABLE
        free blocks at or above its node's first_deferred_pfn as the hand-off left it (what
        deferred_init_memmap() freed into the pageblocks it made MOVABLE), counted: the
        per-node kthreads free in no fixed order, so list order is not compared (see
        schema.Zone.deferred_movable_nr_free for the blocks left out)."""
        if not self.first_deferred:
            raise InspectorError(
                f"{stop}: the hand-off's first_deferred_pfn was not read (its stop comes first)"
            )
        nodes, pgdats = self.nodes(buddy=True)
        for node in nodes:
            first = self.first_deferred.get(node.node_id, decode.MASK64)
            for z in node.zones:
                z.deferred_movable_nr_free = [_movable_from(fa, first) for fa in z.free_area or []]
                z.free_area = z.nr_free_pages = None
        g = self.reader.mm_globals(GLOBALS_DEFERRED, list(pgdats))
        return self._snapshot(stop, nodes=nodes, globals=g)

    # -- 6 -------------------------------------------------------------------------------------
    def on_watermarks(self, stop: str, hit: int, _: Stop | None) -> Snapshot:
        r = self.reader
        nodes, pgdats = self.nodes(wmarks=True)
        g = r.mm_globals(GLOBALS_WMARKS, list(pgdats))
        return self._snapshot(stop, nodes=nodes, globals=g)


def _movable_from(fa: FreeArea, first_pfn: int) -> int:
    """The MOVABLE blocks of one order at or above ``first_pfn``."""
    lists = fa.blocks or []
    return sum(pfn >= first_pfn for pfn in lists[MOVABLE]) if len(lists) > MOVABLE else 0
