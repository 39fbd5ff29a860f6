"""Nodes and zones: node_states[] (N_ONLINE, N_POSSIBLE …), NODE_DATA(nid) (node_data[] or
contig_page_data), the sizes of each pglist_data and of its node_zones[], and its
node_zonelists[] (include/linux/mmzone.h).
"""

from __future__ import annotations

from inspector.capture.readers.base import ReaderBase
from inspector.debug.layout import View
from inspector.errors import InspectorError
from inspector.schema import Node, Zone, Zonelist


class NodeReader(ReaderBase):
    """node_states[], NODE_DATA(), the node and zone sizes, the zonelists."""

    def nodes_in(self, state: str) -> list[int]:
        """node_states[state] (``N_ONLINE``, ``N_POSSIBLE`` …) as a list of node ids."""
        index = self.layout.enumerators("enum node_states")[state]
        bits = self.var("node_states").sub(f"[{index}]").array("bits")
        return [w * 64 + b for w, word in enumerate(bits) for b in range(64) if word >> b & 1]

    def online_nodes(self) -> list[int]:
        return self.nodes_in("N_ONLINE")

    def pgdat_address(self, nid: int) -> int:
        if self.layout.has_symbol("node_data"):
            addr = self.ulong(self.layout.address("node_data") + 8 * nid)
            if not addr:
                raise InspectorError(f"NODE_DATA({nid}) is NULL: node {nid} is not set up")
            return addr
        return self.layout.address("contig_page_data")

    def read_pgdat(self, nid: int) -> View:
        addr = self.pgdat_address(nid)
        return self.struct_at("struct pglist_data", addr)

    def node(self, pgdat: View, zones: list[Zone]) -> Node:
        return Node(
            node_id=pgdat["node_id"],
            node_start_pfn=pgdat["node_start_pfn"],
            node_spanned_pages=pgdat["node_spanned_pages"],
            node_present_pages=pgdat["node_present_pages"],
            nr_zones=pgdat["nr_zones"],
            zones=zones,
        )

    def zone(self, pgdat: View, idx: int, *, managed: bool = True) -> Zone:
        """The sizes of NODE_DATA(nid)->node_zones[idx] (managed_pages once it is set)."""
        z = pgdat.sub(f"node_zones[{idx}]")
        return Zone(
            node=pgdat["node_id"],
            idx=idx,
            name=self.zone_names[idx],
            zone_start_pfn=z["zone_start_pfn"],
            spanned_pages=z["spanned_pages"],
            present_pages=z["present_pages"],
            managed_pages=z["managed_pages"] if managed else None,
        )

    def zones(self, pgdat: View, *, managed: bool = True) -> list[Zone]:
        return [self.zone(pgdat, i, managed=managed) for i in range(self.max_nr_zones)]

    # -- zonelists ---------------------------------------------------------------------------
    def zonelists(self, pgdats: dict[int, View]) -> list[Zonelist]:
        zone_size = self.layout.sizeof("struct zone")
        zones_off = self.layout.offsetof("struct pglist_data", "node_zones")
        where = {pg.address: nid for nid, pg in pgdats.items()}

        def name(ptr: int) -> tuple[int, str]:
            for base, nid in where.items():
                off = ptr - base - zones_off
                if 0 <= off < zone_size * self.max_nr_zones:
                    return nid, self.zone_names[off // zone_size]
            raise InspectorError(f"zonelist entry {ptr:#x} is not a zone of any online node")

        kinds = ("fallback", "nofallback")
        out = []
        for nid, pg in pgdats.items():
            for i, zl in enumerate(pg.views("node_zonelists")):
                entries = []
                for ref in zl.views("_zonerefs"):
                    if not ref["zone"]:
                        break
                    entries.append(name(ref["zone"]))
                out.append(Zonelist(nid, kinds[i] if i < len(kinds) else str(i), entries))
        return out
