"""The SVG pictures of a run, on synthetic snapshots (no VM), and on a real run if one exists."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from inspector.report import free_lists_svg, memory_map_svg, write_pictures
from inspector.report.draw import Axis, hex_address, human_size
from inspector.schema import (
    MIGRATETYPES,
    FreeArea,
    Inputs,
    KernelId,
    Memblock,
    MemblockRegion,
    Node,
    Snapshot,
    Zone,
)

NS = "{http://www.w3.org/2000/svg}"
PAGE = 4096
MiB = 1 << 20
GiB = 1 << 30
KERNEL = KernelId("4.7", "4.7.0-test", "x86_64")
REPO = Path(__file__).resolve().parent.parent


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg.encode())


def _by_class(root: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in root.iter(NS + tag) if cls in (e.get("class") or "").split()]


def _zone(node: int, idx: int, name: str, start: int, end: int, present: int) -> Zone:
    """A zone spanning [start, end) bytes."""
    return Zone(
        node=node,
        idx=idx,
        name=name,
        zone_start_pfn=start // PAGE,
        spanned_pages=(end - start) // PAGE,
        present_pages=present,
        managed_pages=present - 10,
    )


def _inputs(memory: list[MemblockRegion], reserved: list[MemblockRegion]) -> Inputs:
    return Inputs(
        max_zone_pfn=[16 * MiB // PAGE, 4 * GiB // PAGE, 4 * GiB // PAGE, 0],
        zone_names=["DMA", "DMA32", "Normal", "Movable"],
        memblock=Memblock(memory=memory, reserved=reserved),
        constants={"PAGE_SIZE": PAGE, "MAX_ORDER": 11},
    )


def synthetic_run() -> dict[str, Snapshot]:
    """Two nodes: node 0 is DMA (16 MiB) + DMA32 up to 1 GiB with a hole at
    [0x9f000, 0x100000) and another at [512 MiB, 768 MiB); node 1 is DMA32 [1 GiB, 2 GiB)."""
    memory = [
        MemblockRegion(0x1000, 0x9F000 - 0x1000, 0),
        MemblockRegion(0x100000, 512 * MiB - 0x100000, 0),
        MemblockRegion(768 * MiB, 256 * MiB, 0),
        MemblockRegion(1 * GiB, 1 * GiB, 1),
    ]
    reserved_at_start = [MemblockRegion(0, 0x10000, 0)]
    reserved_at_bootmem = [
        MemblockRegion(0, 0x10000, 0),
        MemblockRegion(16 * MiB, 6 * MiB, 0),
        MemblockRegion(2 * GiB - 4 * MiB, 4 * MiB, 64),
    ]
    dma = _zone(0, 0, "DMA", 0x1000, 16 * MiB, 3998)
    dma32 = _zone(0, 1, "DMA32", 16 * MiB, 1 * GiB, 192512)
    dma32_1 = _zone(1, 1, "DMA32", 1 * GiB, 2 * GiB, 262144)
    dma.free_area = [
        FreeArea(o, n, [n, 0, 0, 0] if o < 10 else [0, n, 0, 0])
        for o, n in enumerate([1, 0, 0, 1, 2, 1, 1, 0, 1, 1, 3])
    ]
    dma32.free_area = [
        FreeArea(o, n, [0, n - n // 2, n // 2, 0])
        for o, n in enumerate([5, 2, 2, 1, 1, 2, 2, 3, 2, 1, 182])
    ]
    dma32_1.free_area = [FreeArea(o, 0, [0, 0, 0, 0]) for o in range(11)]
    dma32_1.free_area[10] = FreeArea(10, 256, [0, 250, 0, 6])
    nodes = [
        Node(0, 1, 1 * GiB // PAGE - 1, 196510, zones=[dma, dma32]),
        Node(1, 1 * GiB // PAGE, 1 * GiB // PAGE, 262144, zones=[dma32_1]),
    ]
    return {
        "free_area_init_nodes": Snapshot(
            "free_area_init_nodes", KERNEL, inputs=_inputs(memory, reserved_at_start)
        ),
        "free_all_bootmem": Snapshot(
            "free_all_bootmem", KERNEL, memblock=_inputs(memory, reserved_at_bootmem).memblock
        ),
        "free_all_bootmem.return": Snapshot("free_all_bootmem.return", KERNEL, nodes=nodes),
    }


def test_memory_map_parses_with_a_band_per_node_and_a_rect_per_zone() -> None:
    root = _parse(memory_map_svg(synthetic_run()))
    assert root.tag == NS + "svg"
    bands = _by_class(root, "rect", "node-band")
    assert len(bands) == 2
    assert {g.get("id") for g in _by_class(root, "g", "node")} == {"node-0", "node-1"}
    zones = _by_class(root, "rect", "zone")
    assert sorted((z.get("data-node"), z.get("data-zone")) for z in zones) == [
        ("0", "DMA"),
        ("0", "DMA32"),
        ("1", "DMA32"),
    ]
    first_words = [(t.text or "").split()[0] for t in _by_class(root, "text", "zone-label")]
    assert first_words.count("DMA") == 1 and first_words.count("DMA32") == 2


def test_memory_map_draws_holes_where_memblock_has_gaps() -> None:
    root = _parse(memory_map_svg(synthetic_run()))
    holes = {(h.get("data-start"), h.get("data-end")) for h in _by_class(root, "rect", "hole")}
    assert holes == {(hex(0x9F000), hex(0x100000)), (hex(512 * MiB), hex(768 * MiB))}


def test_memory_map_draws_reserved_from_free_all_bootmem_entry() -> None:
    run = synthetic_run()
    root = _parse(memory_map_svg(run))
    # node 0 starts at pfn 1: [0, 0x10000) is clipped to it; the nid-64 range lands in node 1
    assert len(_by_class(root, "rect", "reserved")) == 3
    del run["free_all_bootmem"]
    assert len(_by_class(_parse(memory_map_svg(run)), "rect", "reserved")) == 1


def test_memory_map_small_dma_zone_is_visible_next_to_gibs() -> None:
    root = _parse(memory_map_svg(synthetic_run()))
    widths = {
        (z.get("data-node"), z.get("data-zone")): float(z.get("width") or 0)
        for z in _by_class(root, "rect", "zone")
    }
    assert widths[("0", "DMA")] > 40
    assert widths[("0", "DMA32")] > widths[("0", "DMA")]
    ticks = [t.text for t in _by_class(root, "text", "tick")]
    assert "0x1000000 (16M)" in ticks and "0x40000000 (1G)" in ticks


def test_memory_map_memoryless_node() -> None:
    run = synthetic_run()
    run["free_all_bootmem.return"].nodes.append(Node(2, 0, 0, 0))
    root = _parse(memory_map_svg(run))
    assert len(_by_class(root, "rect", "node-band")) == 3
    assert len(_by_class(root, "rect", "zone")) == 3
    assert len(_by_class(root, "text", "memoryless")) == 1


def test_memory_map_shows_a_node_only_the_topology_names() -> None:
    run = synthetic_run()
    inputs = run["free_area_init_nodes"].inputs
    assert inputs is not None
    inputs.node_distance = [[10, 20, 20], [20, 10, 20], [20, 20, 10]]
    root = _parse(memory_map_svg(run))
    assert {g.get("id") for g in _by_class(root, "g", "node")} == {"node-0", "node-1", "node-2"}
    assert len(_by_class(root, "text", "memoryless")) == 1


def test_free_lists_count_labels_equal_nr_free() -> None:
    snap = synthetic_run()["free_all_bootmem.return"]
    root = _parse(free_lists_svg(snap))
    panels = _by_class(root, "g", "zone-panel")
    assert [(p.get("data-node"), p.get("data-zone")) for p in panels] == [
        ("0", "DMA"),
        ("0", "DMA32"),
        ("1", "DMA32"),
    ]
    zones = [z for n in snap.nodes for z in n.zones]
    for panel, zone in zip(panels, zones, strict=True):
        bars = _by_class(panel, "g", "bar")
        assert zone.free_area is not None
        assert len(bars) == len(zone.free_area)
        for bar, fa in zip(bars, zone.free_area, strict=True):
            assert bar.get("data-order") == str(fa.order)
            (count,) = _by_class(bar, "text", "count")
            assert count.text == str(fa.nr_free)
            segs = {
                s.get("data-migratetype"): int(s.get("data-count") or 0)
                for s in _by_class(bar, "rect", "segment")
            }
            assert fa.free_list is not None
            expected = {MIGRATETYPES[j]: n for j, n in enumerate(fa.free_list) if n}
            assert segs == expected


def test_free_lists_bar_heights_grow_with_nr_free() -> None:
    root = _parse(free_lists_svg(synthetic_run()["free_all_bootmem.return"]))
    panel = _by_class(root, "g", "zone-panel")[1]

    def height(order: int) -> float:
        (bar,) = [b for b in _by_class(panel, "g", "bar") if b.get("data-order") == str(order)]
        return sum(float(s.get("height") or 0) for s in _by_class(bar, "rect", "segment"))

    assert height(10) > height(7) > height(3) > 0


def test_free_lists_needs_free_area() -> None:
    snap = synthetic_run()["free_all_bootmem.return"]
    for n in snap.nodes:
        for z in n.zones:
            z.free_area = None
    with pytest.raises(ValueError, match="free_area"):
        free_lists_svg(snap)


def test_axis_and_labels() -> None:
    axis = Axis.build([0, 16 * MiB, 4 * GiB], 100.0, 1000.0, PAGE)
    assert axis.x(0) == 100.0 and axis.x(4 * GiB) == pytest.approx(1100.0)
    assert 100.0 < axis.x(8 * MiB) < axis.x(16 * MiB) < axis.x(1 * GiB) < 1100.0
    assert human_size(16 * MiB) == "16M" and human_size(3 * GiB // 2) == "1.5G"
    assert hex_address(4 * GiB) == "0x100000000 (4G)"


def test_write_pictures_skips_what_is_missing(tmp_path: Path) -> None:
    run = synthetic_run()
    run["free_all_bootmem.return"].write(tmp_path / "02-free_all_bootmem.return.json")
    assert write_pictures(tmp_path) == [tmp_path / "freelists.svg"]
    run["free_area_init_nodes"].write(tmp_path / "00-free_area_init_nodes.json")
    run["free_all_bootmem"].write(tmp_path / "01-free_all_bootmem.json")
    assert write_pictures(tmp_path) == [tmp_path / "memmap.svg", tmp_path / "freelists.svg"]
    for p in tmp_path.glob("*.svg"):
        _parse(p.read_text())
    empty = tmp_path / "empty"
    empty.mkdir()
    assert write_pictures(empty) == []


def _real_run() -> Path | None:
    runs = REPO / "runs"
    for pattern in ("*/*validate-4.7-x86_64-2nodes-uneven*", "*/*validate-4.7-*", "*inspect-*"):
        for d in sorted(runs.glob(pattern), reverse=True):
            if list(d.glob("[0-9]*-free_a*.json")) and list(d.glob("[0-9]*.return.json")):
                return d
    return None


def test_write_pictures_on_a_real_run(tmp_path: Path) -> None:
    run_dir = _real_run()
    if run_dir is None:
        pytest.skip("no captured run under runs/")
    for p in run_dir.glob("[0-9]*.json"):
        shutil.copy(p, tmp_path / p.name)
    paths = write_pictures(tmp_path)
    assert [p.name for p in paths] == [
        "memmap.svg",
        "zonelists.svg",
        "watermarks.svg",
        "freelists.svg",
    ]
    for p in paths:
        root = _parse(p.read_text())
        kind = {"memmap.svg": "zone", "zonelists.svg": "zl-box", "watermarks.svg": "wm-bar"}
        assert _by_class(root, "rect", kind.get(p.name, "segment"))
