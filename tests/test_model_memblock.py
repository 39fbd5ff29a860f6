"""The memblock allocator model (inspector.model.memblock) and the 4.7 early allocations
(inspector.model.linux.start_kernel_v4) on synthetic layouts; every expected address is derived
here by hand from the kernel's rules (top-down, aligned, node-local first, merge on reserve)."""

from __future__ import annotations

import pytest

from inspector.model.inputs import synthetic_inputs
from inspector.model.linux import Linux
from inspector.model.linux.start_kernel_v4 import EarlyAllocs47
from inspector.model.memblock import BootPanic, MemblockState
from inspector.schema import FirmwareRange, Inputs, Memblock, MemblockRegion

MiB = 1 << 20
MAXNODES = 64


def state(memory: list[tuple[int, int, int]], reserved: list[tuple[int, int]], **kw: int):
    mb = Memblock(
        memory=[MemblockRegion(b, s, n) for b, s, n in memory],
        reserved=[MemblockRegion(b, s, MAXNODES) for b, s in reserved],
    )
    args = {"reserve_nid": MAXNODES, "current_limit": 1 << 40, "smp_cache_bytes": 64}
    args |= {"low_limit": 0} | kw
    return MemblockState(mb, **args)  # type: ignore[arg-type]


def spans(regions: list[MemblockRegion]) -> list[tuple[int, int]]:
    return [(r.base, r.base + r.size) for r in regions]


def test_reserve_merges_with_neighbours_of_the_same_node_and_flags():
    mb = state([(0, 64 * MiB, 0)], [(MiB, MiB), (4 * MiB, MiB)])
    mb.reserve(2 * MiB, MiB)  # touches both ends of [1M, 2M) and nothing else
    assert spans(mb.reserved) == [(MiB, 3 * MiB), (4 * MiB, 5 * MiB)]
    mb.reserve(3 * MiB, MiB)  # fills the gap: one region
    assert spans(mb.reserved) == [(MiB, 5 * MiB)]
    # a region another node owns (x86's numa_clear_kernel_node_hotplug() tags them) stays apart
    mb.reserved.append(MemblockRegion(6 * MiB, MiB, 0))
    mb.reserve(5 * MiB, MiB)
    assert spans(mb.reserved) == [(MiB, 6 * MiB), (6 * MiB, 7 * MiB)]


def test_reserve_over_an_existing_region_adds_only_the_uncovered_parts():
    mb = state([(0, 64 * MiB, 0)], [(2 * MiB, MiB)])
    mb.reserve(MiB, 4 * MiB)
    assert spans(mb.reserved) == [(MiB, 5 * MiB)]
    assert mb.reserved[0].size == 4 * MiB


def test_free_splits_a_region():
    mb = state([(0, 64 * MiB, 0)], [(MiB, 4 * MiB)])
    mb.free(2 * MiB, MiB, "test")
    assert spans(mb.reserved) == [(MiB, 2 * MiB), (3 * MiB, 5 * MiB)]
    mb.free(0, 64 * MiB, "test")  # all gone: the array keeps one empty region
    assert [r.size for r in mb.reserved] == [0]
    mb.reserve(8 * MiB, MiB)
    assert spans(mb.reserved) == [(8 * MiB, 9 * MiB)]


def test_allocation_is_top_down_aligned_and_below_the_limit():
    # memory [1M, 64M), the top 1M reserved: the highest aligned fit under 63M
    mb = state([(MiB, 63 * MiB, 0)], [(63 * MiB, MiB)], current_limit=64 * MiB)
    a = mb.virt_alloc_default(100, 0, "t")  # align 0 → SMP_CACHE_BYTES (64)
    assert a == (63 * MiB - 100) // 64 * 64
    b = mb.virt_alloc_default(4096, 4096, "t")  # below a, page aligned
    assert b == (a - 4096) // 4096 * 4096
    # the limit caps the end; MEMBLOCK_ALLOC_ACCESSIBLE (0) means current_limit
    c = mb.virt_alloc(4096, 4096, 0, 16 * MiB, -1, "t")
    assert c == 16 * MiB - 4096


def test_node_local_first_then_any_node_then_from_zero():
    mb = state([(0, 16 * MiB, 0), (16 * MiB, 16 * MiB, 1)], [], current_limit=32 * MiB)
    assert mb.virt_alloc_default(MiB, MiB, "t", nid=0) == 15 * MiB  # top of node 0
    assert mb.virt_alloc_default(MiB, MiB, "t") == 31 * MiB  # any node: the top of RAM
    # a node without room falls back to any node (memblock_virt_alloc_internal): node 1 has
    # 8 MiB, so 16 MiB comes from the top of node 0
    mb3 = state([(0, 32 * MiB, 0), (32 * MiB, 8 * MiB, 1)], [], current_limit=40 * MiB)
    assert mb3.virt_alloc_default(16 * MiB, MiB, "t", nid=1) == 16 * MiB
    # goal above everything free: retried from 0 (___alloc_bootmem_nopanic)
    mb2 = state([(0, 16 * MiB, 0)], [], current_limit=16 * MiB)
    assert mb2.alloc_bootmem(MiB, MiB, 15 * MiB + 1, 0, "t") == 15 * MiB
    with pytest.raises(BootPanic):
        mb2.alloc_bootmem(64 * MiB, 64, 0, 0, "t")


def test_the_first_page_is_never_handed_out():
    mb = state([(0, 8192, 0)], [(4096, 4096)])
    assert mb.virt_alloc_default(64, 0, "t", panic=False) == 0


def one_node(cmdline: str = "", smp: int = 1) -> Inputs:
    # 64 MiB at 1 MiB on x86_64: DMA below 16 MiB, DMA32 above; the kernel image at 16 MiB
    memory = [MemblockRegion(MiB, 63 * MiB, 0)]
    reserved = [MemblockRegion(16 * MiB, 4 * MiB, 0)]
    return Inputs(
        max_zone_pfn=[4096, 16384, 16384, 0],
        zone_names=["DMA", "DMA32", "Normal", "Movable"],
        memblock=Memblock(memory=memory, reserved=reserved),
        cpu_to_node=[0] * smp,
        online_nodes=[0],
        cmdline=cmdline,
        firmware_map=[FirmwareRange(0, 64 * MiB, "ram")] * 5,
        constants={"memblock.current_limit": 64 * MiB, "max_low_pfn": 16384},
    )


def test_x86_early_allocations_in_kernel_order():
    mi = synthetic_inputs(one_node(cmdline="console=ttyS0"), "x86_64")
    model = Linux(mi)
    model.run()
    assert model.early is not None
    calls = [(c.caller, c.size) for c in model.early.mb.calls]
    # wait tables: DMA spans 3840 pages → 15 per queue → 16 entries; DMA32 12288 → 48 → 64
    assert calls[:2] == [("zone_wait_table_init", 16 * 24), ("zone_wait_table_init", 64 * 24)]
    # HPET (64 + 9), one IOAPIC (64 + 11), five e820 entries, three command lines of 14 bytes
    assert calls[2:8] == [
        ("acpi_parse_hpet", 73),
        ("ioapic_setup_resources", 75),
        ("e820_reserve_resources", 5 * 64),
        *[("setup_command_line", 14)] * 3,
    ]
    top = 64 * MiB
    first = model.early.mb.calls[0].base
    assert first == (top - 384) // 64 * 64  # the top of node 0, cache aligned
    second = model.early.mb.calls[1].base
    assert second == (first - 1536) // 64 * 64  # right below, merged into one region
    # both merge (with what follows below them) into one reserved region that ends at the top
    assert any(r.base <= second and r.base + r.size == top for r in model.memblock_bootmem.reserved)
    # the per-cpu chunk: one 2 MiB unit, aligned, from 16 MiB up, the tail freed
    unit = next(c for c in model.early.mb.calls if c.caller == "pcpu_alloc_bootmem")
    assert (unit.size, unit.align, unit.base % (2 * MiB)) == (2 * MiB, 2 * MiB, 0)
    tail = next(c for c in model.early.mb.calls if c.caller == "pcpu_fc_free")
    size_sum = (78480 + 28672 + 4095) // 4096 * 4096  # PFN_ALIGN(static + dynamic reserve)
    assert (tail.base, tail.size) == (unit.base + size_sum, 2 * MiB - size_sum)
    # the PID hash: nr_kernel_pages rounded to 256, >> 6, a power of two (4 <= shift)
    pid = next(h for h in model.early.hashes if h.name == "PID")
    n = (model.nr_kernel_pages + 255) // 256 * 256 >> 6
    assert pid.entries == 1 << (n - 1).bit_length() and pid.size == pid.entries * 8
    assert "PID hash table entries: " + str(pid.entries) in "\n".join(model.log)
    # and all of it is gone from what the buddy allocator gets
    freed = model.snapshots["free_all_bootmem.return"].globals["totalram_pages"]
    plain = Linux(mi, handoff=mi.memblock)
    plain.run()
    assert freed < plain.snapshots["free_all_bootmem.return"].globals["totalram_pages"]


def test_per_cpu_units_are_grouped_by_node_on_x86():
    inp = one_node(smp=4)
    inp.memblock.memory = [MemblockRegion(MiB, 31 * MiB, 0), MemblockRegion(32 * MiB, 32 * MiB, 1)]
    inp.online_nodes = [0, 1]
    inp.node_distance = [[10, 20], [20, 10]]
    mi = synthetic_inputs(inp, "x86_64")
    mi.cpu_to_node_at_zonelists = [0, 1, 0, 1]
    early = EarlyAllocs47(mi, nr_kernel_pages=15000, nr_all_pages=15000)
    early.after_free_area_init([])
    units = [c for c in early.mb.calls if c.caller == "pcpu_alloc_bootmem"]
    # two groups (distance 20 > LOCAL_DISTANCE) of two CPUs; upa 2 wastes nothing: 2 units each
    assert [(c.nid, c.size) for c in units] == [(0, 2 * MiB), (1, 2 * MiB)]
    assert units[0].base < 32 * MiB <= units[1].base  # each on its own node


def test_arm64_swiotlb_goes_below_the_dma_limit_and_prints_its_banner():
    mem = [MemblockRegion(0x40000000, 0x80000000, 0)]  # 2 GiB at 1 GiB: DMA ends at 3 GiB
    inp = Inputs(
        max_zone_pfn=[0xC0000, 0xC0000, 0],
        zone_names=["DMA", "Normal", "Movable"],
        memblock=Memblock(memory=mem, reserved=[MemblockRegion(0x40080000, 4 * MiB, 0)]),
        cpu_to_node=[0],
        online_nodes=[0],
        constants={"memstart_addr": 0x40000000},
    )
    model = Linux(synthetic_inputs(inp, "arm64"))
    model.run()
    assert model.early is not None and model.early.swiotlb is not None
    start, end = model.early.swiotlb
    assert end - start == 64 * MiB and end <= 0xC0000000
    res = [c for c in model.early.mb.calls if c.caller == "request_standard_resources"]
    assert [(c.size, c.base % 128) for c in res] == [(64, 0)]  # one per memory region
    banner = f"software IO TLB [mem {start:#010x}-{end:#010x}] (64MB) mapped at "
    assert any(line.startswith(banner) for line in model.log)
