"""compare.diff(): paths, values and kernel functions of differences; merge(); the reports."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from inspector.compare import (
    compare_run,
    diff,
    function_for,
    generic_path,
    main,
    report_json,
    report_text,
)
from inspector.rundir import merge
from inspector.schema import (
    FreeArea,
    KernelId,
    Node,
    PerCpuPages,
    Snapshot,
    Zone,
    Zonelist,
)

K = KernelId(version="4.7", release="4.7.4", arch="x86_64")


def zone(nid: int, idx: int, name: str, **kw: object) -> Zone:
    base: dict[str, object] = {"zone_start_pfn": 0, "spanned_pages": 0, "present_pages": 0}
    base.update(kw)
    return Zone(node=nid, idx=idx, name=name, **base)  # type: ignore[arg-type]


def snapshot(stop: str = "free_all_bootmem.return") -> Snapshot:
    z0 = zone(
        0,
        0,
        "DMA",
        zone_start_pfn=1,
        spanned_pages=4095,
        present_pages=3998,
        managed_pages=3977,
        free_area=[FreeArea(order=o, nr_free=1, free_list=[0, 1, 0, 0]) for o in range(11)],
        watermark=[15, 18, 21],
        lowmem_reserve=[0, 984, 984, 984],
        pageset=[PerCpuPages(cpu=0, count=0, high=0, batch=1)],
    )
    z1 = zone(
        1,
        1,
        "DMA32",
        zone_start_pfn=4096,
        spanned_pages=4096,
        present_pages=4096,
        managed_pages=4000,
    )
    return Snapshot(
        stop=stop,
        kernel=K,
        nodes=[
            Node(
                node_id=0,
                node_start_pfn=1,
                node_spanned_pages=4095,
                node_present_pages=3998,
                zones=[z0],
            ),
            Node(
                node_id=1,
                node_start_pfn=4096,
                node_spanned_pages=4096,
                node_present_pages=4096,
                zones=[z1],
            ),
        ],
        zonelists=[Zonelist(node=0, kind="fallback", zones=[(0, "DMA"), (1, "DMA32")])],
        globals={"totalram_pages": 7977, "zone_movable_pfn[1]": 0},
    )


def test_identical_snapshots_have_no_differences():
    a = snapshot()
    assert diff(a, copy.deepcopy(a)) == []
    # and a JSON round trip changes nothing
    assert diff(a, Snapshot.from_json(a.to_json())) == []
    assert report_text([], title="x") == "x: no differences\n"


def test_a_changed_field_is_reported_with_path_values_and_function():
    a, b = snapshot(), snapshot()
    b.nodes[1].zones[0].managed_pages = 4001
    (d,) = diff(a, b)
    assert d.path == "node[1].zone[DMA32].managed_pages"
    assert (d.model, d.captured) == (4000, 4001)
    # after the hand-off, managed_pages is counted by __free_pages_boot_core()
    assert d.function == "__free_pages_boot_core()"
    # at free_area_init_core time the same field comes from free_area_init_core()
    assert function_for(d.path, "4.7", "free_area_init_core") == "free_area_init_core()"


def test_nested_lists_are_named():
    a, b = snapshot(), snapshot()
    z = b.nodes[0].zones[0]
    assert z.free_area and z.free_area[3].free_list and z.watermark and z.lowmem_reserve
    z.free_area[3].free_list[1] = 2
    z.free_area[3].nr_free = 2
    z.watermark[2] = 22
    z.lowmem_reserve[1] = 983
    b.zonelists = [Zonelist(node=0, kind="fallback", zones=[(1, "DMA32"), (0, "DMA")])]
    b.globals["zone_movable_pfn[1]"] = 0x120000
    got = {d.path: d.function for d in diff(a, b)}
    assert got == {
        "node[0].zone[DMA].free_area[3].nr_free": "__free_one_page()",
        "node[0].zone[DMA].free_area[3].free_list[Movable]": "__free_one_page()",
        "node[0].zone[DMA].watermark[high]": "__setup_per_zone_wmarks()",
        "node[0].zone[DMA].lowmem_reserve[DMA32]": "setup_per_zone_lowmem_reserve()",
        "zonelist[0,fallback].zones": "build_zonelists()",
        "globals[zone_movable_pfn[1]]": "find_zone_movable_pfns_for_nodes()",
    }


def test_every_one_sided_value_is_a_difference_and_only_runtime_count_is_not():
    a, b = snapshot(), snapshot()
    b.nodes[0].zones[0].pageset = [PerCpuPages(cpu=0, count=57, high=0, batch=1)]  # runtime
    assert diff(a, b) == []  # pageset.count is ignored, and the report says so
    b.nodes[0].zones[0].managed_pages = None
    del b.globals["totalram_pages"]
    b.nodes[1].zones = []
    got = {(d.path, d.model, d.captured) for d in diff(a, b)}
    assert got == {
        ("node[0].zone[DMA].managed_pages", 3977, "missing"),
        ("globals[totalram_pages]", a.globals["totalram_pages"], "missing"),
        ("node[1].zone[DMA32]", "present", "missing"),
    }
    b.nodes = b.nodes[:1]
    assert ("node[1]", "present", "missing") in {(d.path, d.model, d.captured) for d in diff(a, b)}


def test_a_field_declared_not_captured_is_not_a_difference():
    a, b = snapshot("build_all_zonelists"), snapshot("build_all_zonelists")
    a.kernel = b.kernel = KernelId(version="6.12", release="6.12", arch="x86_64")
    a.globals["vm_total_pages"] = 5
    b.globals.pop("vm_total_pages", None)
    assert [d.path for d in diff(a, b)] == []
    b.globals["vm_total_pages"] = 6
    assert [d.path for d in diff(a, b)] == ["globals[vm_total_pages]"]


def test_merge_collects_per_zone_hits():
    a = snapshot("memmap_init_zone")
    hits = []
    for node in a.nodes:
        for z in node.zones:
            hits.append(
                Snapshot(
                    stop=a.stop,
                    kernel=K,
                    nodes=[
                        Node(
                            node.node_id,
                            node.node_start_pfn,
                            node.node_spanned_pages,
                            node.node_present_pages,
                            zones=[z],
                        )
                    ],
                )
            )
    merged = merge(hits)
    assert [n.node_id for n in merged.nodes] == [0, 1]
    a.zonelists, a.globals = None, {}  # the hits carry zones only
    assert diff(a, merged) == []


def test_reports():
    a, b = snapshot(), snapshot()
    b.nodes[0].node_present_pages = 3999
    diffs = diff(a, b)
    text = report_text(diffs, title="x86_64 1G")
    assert text.splitlines()[0] == "x86_64 1G: 1 difference"
    assert "node[0].node_present_pages: model 3998, captured 3999" in text
    assert "calculate_node_totalpages()" in text
    assert json.loads(report_json(diffs)) == [
        {
            "path": "node[0].node_present_pages",
            "model": 3998,
            "captured": 3999,
            "function": "calculate_node_totalpages()",
            "stop": "free_all_bootmem.return",
            "via": "",
        }
    ]
    assert generic_path("node[1].zone[DMA32].free_area[3].nr_free") == "zone.free_area.nr_free"
    assert generic_path("globals[vm_total_pages]") == "globals.vm_total_pages"
    assert function_for("globals[vm_total_pages]", "4.7", "x") == "build_all_zonelists()"


def test_compare_run_on_a_run_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    # a "capture" made of the model's own snapshots and log, one value altered: exactly that
    # shows up, and the report lists the inputs with their sources
    from inspector.model.inputs import SYNTHETIC_SIZEOF, synthetic_inputs
    from inspector.model.linux import Linux
    from inspector.schema import FirmwareRange, Inputs, Memblock, MemblockRegion

    mem = [MemblockRegion(base=1 << 20, size=63 << 20, nid=0)]
    inp = Inputs(
        max_zone_pfn=[4096, 16384, 16384, 0],
        zone_names=["DMA", "DMA32", "Normal", "Movable"],
        memblock=Memblock(memory=mem, reserved=[MemblockRegion(16 << 20, 4 << 20, 0)]),
        cpu_to_node=[0],
        online_nodes=[0],
        possible_nodes=[0],
        constants={
            "MAX_ORDER": 11,
            "sizeof_struct_page": 64,
            "PAGE_SIZE": 4096,
            "max_low_pfn": 16384,
            "phys_base": 0,
            "memblock.current_limit": 64 << 20,
            "max_possible_pfn": 16384,
            "dma_reserve": 0,
        },
        firmware_map=[FirmwareRange(1 << 20, 64 << 20, "ram")],
    )
    model = Linux(synthetic_inputs(inp, "x86_64"))
    snaps = model.run()
    (tmp_path / "build.json").write_text(
        json.dumps(
            {
                "pageblock_order": 10,
                "section_size_bits": 27,
                "config": {
                    "CONFIG_NODES_SHIFT": "6",
                    "CONFIG_NUMA": "y",
                    "CONFIG_SWIOTLB": "y",
                    "CONFIG_HPET_TIMER": "y",
                    "CONFIG_X86_L1_CACHE_SHIFT": "6",
                    "CONFIG_LOG_BUF_SHIFT": "18",
                    "CONFIG_LOG_CPU_MAX_BUF_SHIFT": "12",
                    "CONFIG_HAVE_MEMBLOCK_NODE_MAP": "y",
                    "CONFIG_SPARSEMEM_VMEMMAP": "y",
                },
                "symbols": {
                    "__smp_locks": 1 << 63,
                    "__smp_locks_end": 1 << 63,
                    "__per_cpu_start": 0,
                    "__per_cpu_end": 78480,
                },
                "sizeof": SYNTHETIC_SIZEOF,
            }
        )
    )
    (tmp_path / "dmesg.txt").write_text("".join(f"[    0.000000] {x}\n" for x in model.log))
    (tmp_path / "complete.json").write_text("{}\n")  # as inspect marks a finished run
    Snapshot(stop="free_area_init_nodes", kernel=K, inputs=inp).write(tmp_path / "00-a.json")
    acpi = Inputs(
        max_zone_pfn=[],
        zone_names=inp.zone_names,
        memblock=Memblock(),
        constants={"nr_ioapics": 1, "hpet_address": 0xFED00000},
    )
    bootmem_entry = Snapshot(stop="free_all_bootmem", kernel=K, inputs=acpi)
    bootmem_entry.write(tmp_path / "05-b.json")
    for i, (stop, snap) in enumerate(snaps.items()):
        snap.kernel = K
        if stop == "build_all_zonelists":
            snap.globals["vm_total_pages"] += 1
            snap.globals["cpu_to_node.0"] = 0
        snap.write(tmp_path / f"{i + 1:02d}-{stop}.json")
    result = compare_run(tmp_path)
    assert set(result) == set(snaps) | {"dmesg"}
    assert {s: [d.path for d in ds] for s, ds in result.items() if ds} == {
        "build_all_zonelists": ["globals[vm_total_pages]"]
    }
    assert main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "globals[vm_total_pages]: model" in out
    assert "nr_ioapics             later: free_all_bootmem entry" in out
    # a printed line the model did not predict is a difference
    with (tmp_path / "dmesg.txt").open("a") as f:
        f.write("[    0.000000] On node 7 totalpages: 1\n")
    assert [d.captured for d in compare_run(tmp_path)["dmesg"]] == ["On node 7 totalpages: 1"]


def test_a_console_splice_in_dmesg_is_undone():
    # seen on 4.7 x86_64 (numa-movablecore): the 8250 driver's complaint landed inside a
    # memblock=debug line while dmesg ran over the serial console
    from inspector.compare import kernel_memblock_trace, unsplice

    text = (
        "[    0.000000] On node 1 totalpages: 262112\n"
        "[    0.000000] memblock_reserve: [0x0000"
        "[    1.044834] serial8250: too much work for irq4\n"
        "007fdf0000-0x0000007fdf5fff] flags 0x0 memblock_virt_alloc_internal+0x133/0x15d\n"
        "[    0.000000] Memory: 1K/2K available\n"
    )
    lines = unsplice(text)
    assert len(lines) == 3
    assert lines[1].startswith("[    0.000000] memblock_reserve: [0x0000007fdf0000-")
    assert kernel_memblock_trace(text) == ["reserve [0x7fdf0000-0x7fdf6000)"]
    # seen on 4.7 x86_64 (numa-kernelcore): the complaint landed inside the timestamp itself
    inside = (
        "[    0.000000]   Node 1: 0x0000000035800000\n"
        "[[    2.238831] serial8250: too much work for irq4\n"
        "    0.000000]   Node 2: 0x0000000075800000\n"
        "[    0.000000] Early memory node ranges\n"
    )
    assert unsplice(inside) == [
        "[    0.000000]   Node 1: 0x0000000035800000",
        "[    0.000000]   Node 2: 0x0000000075800000",
        "[    0.000000] Early memory node ranges",
    ]
    # an ordinary log is left alone
    plain = "[    0.000000] a\n[    0.000001] b\n"
    assert unsplice(plain) == ["[    0.000000] a", "[    0.000001] b"]


def test_what_compare_skips_cannot_grow_unnoticed():
    """Every field compare does not judge is listed here, with the version it holds for: a new
    entry in the ignore tables (a way to make a difference disappear) fails this test until it
    is added here on purpose."""
    from inspector.compare import (
        DEFAULT_IGNORE,
        IGNORED_WHY,
        SKIPPED,
        ignored_by_release,
        not_captured,
    )

    assert set(DEFAULT_IGNORE) == {
        "kernel.release",
        "zone.pageset.count",
        "inputs",
        "globals.cpu_to_node",
        "globals.dma_reserve",
        "init_per_zone_wmark_min:zone.nr_free_pages",
    }
    assert set(IGNORED_WHY) == set(DEFAULT_IGNORE)  # each one says why
    # one table: the runtime state above, and from a change on what is ignored or absent
    assert {p: (s.kind, s.change) for p, s in SKIPPED.items() if s.change} == {
        "zone.pageset.high": ("ignored", "pcp-high-autotune"),
        "globals.vm_total_pages": ("absent", "vm-total-pages-local"),
    }
    assert all(s.why for s in SKIPPED.values())
    # the release decides, through the change's first release
    assert set(ignored_by_release("6.12")) == {"zone.pageset.high"}
    assert ignored_by_release("6.1.192") == {} == ignored_by_release("4.7")
    assert set(not_captured("6.1", "arm64")) == {"globals.vm_total_pages"}
    assert not_captured("4.7", "x86_64") == {}
