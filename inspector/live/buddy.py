"""The live buddy dump: per node, zone, order and migratetype the free blocks; per-cpu lists;
NR_FREE_PAGES; watermarks; optionally every free block (pfn, order, migratetype).

It fills ``inspector.schema`` where the schema has a place (``Zone.free_area`` with
``FreeArea.free_list`` = list lengths per migratetype, ``Zone.pageset``, ``Zone.nr_free_pages``
= ``vm_stat[NR_FREE_PAGES]`` as /proc/zoneinfo prints it, ``Zone.watermark``) and keeps the rest
beside it: per-cpu list lengths, the counter with every CPU's diff folded in, the blocks.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import overload

import drgn
import numpy as np

from inspector import decode
from inspector.live.pageblocks import PageblockReader
from inspector.live.program import LiveKernel
from inspector.live.sections import sections
from inspector.live.state import KernelConsts, NodeState, ZoneState, no_gc, read_state
from inspector.schema import (
    SCHEMA_VERSION,
    FreeArea,
    KernelId,
    Node,
    PerCpuPages,
    Snapshot,
    Zone,
)


@dataclass(slots=True)
class Block:
    node: int
    zone: str
    pfn: int
    order: int
    migratetype: str


class Blocks(Sequence[Block]):
    """Every free block, held as columns (numpy) and made into ``Block`` objects only when
    read: a dump of 200 000 blocks does not build 200 000 objects nobody looks at."""

    def __init__(
        self, node: np.ndarray, zone: list[str], zone_of: np.ndarray, pfn: np.ndarray,
        order: np.ndarray, mt: np.ndarray, migratetypes: list[str],
    ) -> None:  # fmt: skip
        self.node, self.zone, self.zone_of = node, zone, zone_of
        self.pfn, self.order, self.mt, self.migratetypes = pfn, order, mt, migratetypes
        self._all: list[Block] | None = None

    def __len__(self) -> int:
        return int(self.pfn.size)

    def _materialise(self) -> list[Block]:
        if self._all is None:
            with no_gc():
                zone, mts = self.zone, self.migratetypes
                self._all = [
                    Block(n, zone[z], p, o, mts[m])
                    for n, z, p, o, m in zip(
                        self.node.tolist(), self.zone_of.tolist(), self.pfn.tolist(),
                        self.order.tolist(), self.mt.tolist(), strict=True,
                    )
                ]  # fmt: skip
        return self._all

    @overload
    def __getitem__(self, i: int) -> Block: ...
    @overload
    def __getitem__(self, i: slice) -> list[Block]: ...
    def __getitem__(self, i: int | slice) -> Block | list[Block]:
        return self._materialise()[i]

    def __iter__(self) -> Iterator[Block]:
        return iter(self._materialise())


@dataclass
class PcpList:
    node: int
    zone: str
    cpu: int
    index: int  # 4.7: the migratetype; 6.12: pindex
    order: int
    migratetype: str
    length: int  # entries on the list (each 2^order pages)
    pfns: list[int] = field(default_factory=list)  # the first page of each entry, list order


@dataclass
class ZoneTotals:
    node: int
    zone: str
    free_list_pages: int  # Σ nr_free · 2^order
    nr_free_pages_snapshot: int  # vm_stat[NR_FREE_PAGES] + Σ per-cpu vm_stat_diff
    pcp_pages: int  # Σ pcp.count (not part of NR_FREE_PAGES in 4.7 or 6.12)


@dataclass
class BuddyDump:
    snapshot: Snapshot
    migratetypes: list[str]
    totals: list[ZoneTotals]
    pcp_lists: list[PcpList]
    blocks: Sequence[Block] | None
    sources: dict[str, str]  # how memory, VMCOREINFO and vmemmap were obtained
    seconds: float
    schema: int = SCHEMA_VERSION
    warnings: list[str] = field(default_factory=list)
    shown_migratetypes: list[str] | None = None  # --mtype: the rows render() shows
    pcp_only: bool = False  # --pcp-only: render() shows the per-cpu lists alone

    def to_json(self, indent: int | None = 1) -> str:
        data = dataclasses.asdict(dataclasses.replace(self, blocks=None))
        if self.blocks is not None:
            data["blocks"] = [dataclasses.asdict(b) for b in self.blocks]
        return json.dumps(data, indent=indent) + "\n"

    def zone(self, node: int, name: str) -> Zone:
        for n in self.snapshot.nodes:
            for z in n.zones:
                if n.node_id == node and z.name == name:
                    return z
        raise KeyError((node, name))

    def buddyinfo(self) -> dict[tuple[int, str], list[int]]:
        """``{(node, zone): [nr_free of order 0, 1, …]}``, like ``procfs.parse_buddyinfo``."""
        return {
            (n.node_id, z.name): [fa.nr_free for fa in z.free_area or []]
            for n in self.snapshot.nodes
            for z in n.zones
        }

    def pageblock_counts(self) -> dict[tuple[int, str], list[int]]:
        """``{(node, zone): [pageblocks of each migratetype]}``, as /proc/pagetypeinfo's
        "Number of blocks type" counts them."""
        out: dict[tuple[int, str], list[int]] = {}
        for n in self.snapshot.nodes:
            for z in n.zones:
                counts = [0] * len(self.migratetypes)
                for mt in z.pageblock_migratetypes or []:
                    if 0 <= mt < len(counts):
                        counts[mt] += 1
                out[(n.node_id, z.name)] = counts
        return out

    def pagetypeinfo(self) -> dict[tuple[int, str, str], list[int]]:
        """``{(node, zone, migratetype): [list length of order 0, 1, …]}``."""
        out: dict[tuple[int, str, str], list[int]] = {}
        for n in self.snapshot.nodes:
            for z in n.zones:
                for mt_index, mt in enumerate(self.migratetypes):
                    out[(n.node_id, z.name, mt)] = [
                        (fa.free_list or [])[mt_index] for fa in z.free_area or []
                    ]
        return out


def _zone(z: ZoneState, k: KernelConsts, blocks: PageblockReader) -> Zone:
    return Zone(
        node=z.node,
        idx=z.idx,
        name=z.name,
        zone_start_pfn=z.zone_start_pfn,
        spanned_pages=z.spanned_pages,
        present_pages=z.present_pages,
        managed_pages=z.managed_pages,
        watermark=z.watermark,
        lowmem_reserve=z.lowmem_reserve,
        nr_free_pages=max(z.vm_stat_free, 0),
        free_area=[
            FreeArea(order, z.nr_free[order], [len(w.nodes) for w in z.free_lists[order]])
            for order in range(k.max_order)
        ],
        pageset=[PerCpuPages(p.cpu, p.count, p.high, p.batch) for p in z.pcp],
        pageblock_migratetypes=blocks.zone(z.zone_start_pfn, z.zone_end_pfn),
    )


def _all_blocks(zones: list[ZoneState], k: KernelConsts) -> Blocks:
    """Every free block of ``zones``, as columns."""
    base = np.uint64(k.lru_offset + k.vmemmap)
    names = [z.name for z in zones]
    cols: list[tuple[int, int, np.ndarray, int, int]] = []
    for zi, z in enumerate(zones):
        for order, by_mt in enumerate(z.free_lists):
            for mt, walk in enumerate(by_mt):
                if len(walk.nodes):
                    at = np.asarray(walk.nodes, dtype=np.uint64)
                    cols.append((z.node, zi, (at - base) // k.sizeof_page, order, mt))
    sizes = [c[2].size for c in cols]

    def col(i: int, dtype: str) -> np.ndarray:
        return np.repeat(np.array([c[i] for c in cols], dtype=dtype), sizes)

    pfn = np.concatenate([c[2] for c in cols]).astype(np.int64) if cols else np.zeros(0, np.int64)
    return Blocks(col(0, "int32"), names, col(1, "int32"), pfn, col(3, "int8"), col(4, "int8"),
                  k.migratetypes)  # fmt: skip


def _pcp_lists(z: ZoneState, k: KernelConsts) -> list[PcpList]:
    return [
        PcpList(
            z.node,
            z.name,
            p.cpu,
            i,
            p.orders[i],
            k.migratetypes[p.migratetypes[i]],
            len(w.nodes),
            [(n - k.lru_offset - k.vmemmap) // k.sizeof_page for n in w.nodes],
        )
        for p in z.pcp
        for i, w in enumerate(p.lists)
    ]


def _totalram(prog: drgn.Program) -> int | None:
    for name in decode.TOTALRAM_SYMBOLS:
        try:
            obj = prog[name]
        except LookupError:
            continue
        return int(
            obj.counter.value_()
            if obj.type_.unaliased().kind == drgn.TypeKind.STRUCT
            else obj.value_()
        )
    return None


def walk_warnings(nodes: list[NodeState]) -> list[str]:
    """Lists that did not come back to their head: the dump's counts for them are partial."""
    out: list[str] = []
    for n in nodes:
        for z in n.zones:
            for order, by_mt in enumerate(z.free_lists):
                for mt, w in enumerate(by_mt):
                    if not w.ok:
                        out.append(f"node {z.node} {z.name} order {order} mt {mt}: {w.error}")
    return out


def dump(
    lk: LiveKernel,
    *,
    blocks: bool = False,
    state: tuple[KernelConsts, list[NodeState]] | None = None,
) -> BuddyDump:
    """The buddy state of the paused guest; ``state`` is a read_state() already done (so a
    dump and its invariant checks read the guest once)."""
    start = time.monotonic()
    k, nodes = state if state is not None else read_state(lk.prog, lk.config)
    pageblocks = PageblockReader(lk.prog, sections(lk.prog), k.pageblock_order)
    release = lk.vmlinux.release
    snapshot = Snapshot(
        stop="live",
        kernel=KernelId(".".join(release.split(".")[:2]), release, lk.arch),
        nodes=[
            Node(
                node_id=n.node_id,
                node_start_pfn=n.node_start_pfn,
                node_spanned_pages=n.node_spanned_pages,
                node_present_pages=n.node_present_pages,
                nr_zones=n.nr_zones,
                zones=[_zone(z, k, pageblocks) for z in n.zones],
            )
            for n in nodes
        ],
    )
    zones = [z for n in nodes for z in n.zones]
    snapshot.globals["nr_free_pages"] = sum(max(z.vm_stat_free, 0) for z in zones)
    if (total := _totalram(lk.prog)) is not None:
        snapshot.globals["totalram_pages"] = total
    snapshot.globals["pageblock_order"] = k.pageblock_order
    snapshot.globals["max_order"] = k.max_order
    return BuddyDump(
        snapshot=snapshot,
        migratetypes=k.migratetypes,
        totals=[
            ZoneTotals(
                z.node,
                z.name,
                sum(n << o for o, n in enumerate(z.nr_free)),
                z.nr_free_pages_snapshot,
                sum(p.count for p in z.pcp),
            )
            for z in zones
        ],
        pcp_lists=[pl for z in zones for pl in _pcp_lists(z, k)],
        blocks=_all_blocks(zones, k) if blocks else None,
        sources=lk.sources(),
        seconds=round(time.monotonic() - start, 4),
        warnings=walk_warnings(nodes),
    )


def render(d: BuddyDump) -> str:
    """Text: a buddyinfo-like line per zone and migratetype, then counters and per-cpu lists."""
    lines: list[str] = []
    k = d.snapshot.kernel
    lines.append(f"Linux {k.release} {k.arch}: live buddy state ({d.seconds:.3f} s)")
    totals = {(t.node, t.zone): t for t in d.totals}
    for n in d.snapshot.nodes:
        for z in n.zones:
            areas = z.free_area or []
            lines.append("")
            if d.pcp_only:
                lines.append(f"Node {n.node_id}, zone {z.name:>8}")
                areas = []
            head = f"Node {n.node_id}, zone {z.name:>8}"
            if areas:
                lines.append(f"{head}  order " + " ".join(f"{fa.order:>6}" for fa in areas))
                lines.append(f"{'nr_free':>28} " + " ".join(f"{fa.nr_free:>6}" for fa in areas))
            for i, mt in enumerate(d.migratetypes if areas else []):
                if d.shown_migratetypes is not None and mt not in d.shown_migratetypes:
                    continue
                counts = " ".join(f"{(fa.free_list or [])[i]:>6}" for fa in areas)
                lines.append(f"{mt:>28} {counts}")
            t = totals[(n.node_id, z.name)]
            wm = z.watermark or []
            lines.append(
                f"  pfn {z.zone_start_pfn:#x}+{z.spanned_pages:#x} present {z.present_pages} "
                f"managed {z.managed_pages}  watermarks min/low/high {'/'.join(map(str, wm))}"
            )
            lines.append(
                f"  NR_FREE_PAGES {z.nr_free_pages} (with per-cpu diffs "
                f"{t.nr_free_pages_snapshot}); in free lists {t.free_list_pages}; "
                f"on pcp lists {t.pcp_pages}"
            )
            for p in z.pageset or []:
                lens = [
                    f"{pl.migratetype}/{pl.order}:{pl.length}"
                    for pl in d.pcp_lists
                    if (pl.node, pl.zone, pl.cpu) == (n.node_id, z.name, p.cpu) and pl.length
                ]
                lines.append(
                    f"  cpu {p.cpu}: pcp count {p.count} high {p.high} batch {p.batch}"
                    + (f"  lists {' '.join(lens)}" if lens else "")
                )
    if d.blocks is not None:
        lines.append("")
        lines.append(f"{len(d.blocks)} free blocks (node zone pfn order migratetype):")
        lines += [f"  {b.node} {b.zone} {b.pfn:#x} {b.order} {b.migratetype}" for b in d.blocks]
    lines += [f"warning: {w}" for w in d.warnings]
    lines.append("sources: " + ", ".join(f"{k}: {v}" for k, v in d.sources.items()))
    return "\n".join(lines) + "\n"


def write(d: BuddyDump, path: Path) -> None:
    path.write_text(d.to_json())
