"""6.12's memblock allocations between free_area_init() and memblock_free_all()
(inspector/model/linux/start_kernel.py) on synthetic layouts. Every address below is derived by
hand from the 6.12 rules (top-down search from the highest free range, round_down() to the
alignment) and the sizes stated here; real 6.12 kernels judge the model in
tests/test_validate.py."""

from __future__ import annotations

from inspector.model.inputs import ModelInputs, synthetic_inputs
from inspector.model.linux import Linux
from inspector.model.linux.start_kernel import EarlyAllocs612
from inspector.model.memblock import MemblockCall
from inspector.schema import Inputs, Memblock, MemblockRegion

ZONES = ["DMA", "DMA32", "Normal", "Movable"]
X86_PAGE_OFFSET = 0xFFFF888000000000
MIB = 1 << 20
# the 6.12 x86_64 build's DWARF sizes where they differ from the synthetic (4.7) ones
SIZEOF_612 = {"struct pcpu_chunk": 128}


def x86_inputs(cmdline: str, cpus: int = 1) -> ModelInputs:
    # 1 GiB less the first MiB, the kernel image reserved at [16 MiB, 32 MiB); memblock's
    # current_limit is the end of RAM
    memory = [MemblockRegion(0x100000, 0x40000000 - 0x100000, 0)]
    reserved = [MemblockRegion(0x1000000, 0x1000000, 0)]
    inp = Inputs(
        max_zone_pfn=[4096, 262144, 262144, 0],
        zone_names=ZONES,
        memblock=Memblock(memory=memory, reserved=reserved),
        node_distance=[[10]],
        cpu_to_node=[0] * cpus,
        online_nodes=[0],
        cmdline=cmdline,
        constants={"memblock.current_limit": 0x40000000},
    )
    mi = synthetic_inputs(inp, "x86_64", version="6.12", nr_possible_cpus=cpus)
    mi.sizeof.update(SIZEOF_612)
    return mi


def allocs(m: Linux, caller: str) -> list[MemblockCall]:
    return [c for c in m.mb.calls if c.caller == caller]


def test_x86_early_allocations_in_order_and_where_they_land():
    m = Linux(x86_inputs("console=ttyS0 nokaslr"))
    m.run()
    got = [(c.op, c.base, c.size) for c in m.mb.calls]
    # synthetic: 4 e820 entries, one IOAPIC, an HPET; struct resource 64 B, SMP_CACHE_BYTES 64
    want = [
        ("alloc", 0x3FFFFF80, 64 + 9),  # acpi_parse_hpet: round_down(1G - 73, 64)
        ("alloc", 0x3FFFFF00, (64 + 11) * 1),  # ioapic_setup_resources
        ("alloc", 0x3FFFFE00, 4 * 64),  # e820__reserve_resources
        ("alloc", 0x3FFFFDC0, 22),  # setup_command_line: strlen 21 + 1, twice
        ("alloc", 0x3FFFFD80, 22),
        # pcpu: static 78480 + dyn max(28 KiB, 20 KiB) = 27 pages; one CPU, atom 2 MiB → one
        # 2 MiB unit. alloc_info (64 + 24 + 4 → a page, page aligned): the 3456 bytes left
        # above 0x3FFFF000 are too few, so it goes below
        ("alloc", 0x3FFFE000, 4096),
        ("alloc", 0x3FFFD000, 4096),  # areas (PFN_ALIGN(8), 64 aligned)
        ("alloc", 0x3FC00000, 2 * MIB),  # pcpu_fc_alloc: round_down(0x3FFFD000 - 2M, 2M)
        ("free", 0x3FC00000 + 27 * 4096, 2 * MIB - 27 * 4096),  # the unit's tail
        # pcpu_setup_first_chunk: back in the gap under the command lines
        ("alloc", 0x3FFFFD40, 8),  # group_offsets
        ("alloc", 0x3FFFFD00, 8),  # group_sizes
        ("alloc", 0x3FFFFCC0, 4),  # unit_map
        ("alloc", 0x3FFFFC80, 8),  # unit_off
        ("alloc", 0x3FFFFB00, 23 * 16),  # chunk lists: fls(2 MiB) - 5 + 2 + 4 slots
        # pcpu_alloc_first_chunk(): static ends at 78480 & 4095 = 656 in its page; 656 + the
        # dynamic 32112 bytes = 8 pages
        ("alloc", 0x3FFFFA40, 128 + 8),  # the chunk with a one-long populated bitmap
        ("alloc", 0x3FFFF640, 1024),  # alloc_map: 8 pages x 1024 bits
        ("alloc", 0x3FFFF200, 1032),  # bound_map: one bit more
        ("alloc", 0x3FFFF100, 8 * 32),  # md_blocks
        ("free", 0x3FFFE000, 4096),  # pcpu_free_alloc_info
        ("free", 0x3FFFD000, 4096),  # areas
        # "nokaslr" is unknown: " nokaslr" + NUL = 9 bytes, allocated and freed
        ("alloc", 0x3FFFF0C0, 9),
        ("free", 0x3FFFF0C0, 9),
        # one node with memory: no hashdist. nr_kernel_pages = 261888 - 4096 = 257792
        # Dentry: >> (13 - 12) → 128896 → 131072 entries x 8 B; Inode: >> 2 → 65536 x 8 B.
        # The frees made one free range of the unit's tail, the rest of the 2 MiB, areas,
        # alloc_info and the 256 bytes under md_blocks: [0x3FC1B000, 0x3FFFF100)
        ("alloc", 0x3FFFF100 - MIB, MIB),
        ("alloc", 0x3FFFF100 - MIB - MIB // 2, MIB // 2),
        # trap_init(): the cpu_entry_area's PUD, PMD and PTE tables, page aligned, under the
        # inode hash: round_down(0x3FE7F100 - 4096, 4096) and the two pages below
        ("alloc", 0x3FE7E000, 4096),
        ("alloc", 0x3FE7D000, 4096),
        ("alloc", 0x3FE7C000, 4096),
    ]
    assert got == want
    assert "percpu: Embedded 27 pages/cpu s78480 r0 d32112 u2097152" in m.log
    assert "Dentry cache hash table entries: 131072 (order: 8, 1048576 bytes, linear)" in m.log
    assert "Inode-cache hash table entries: 65536 (order: 7, 524288 bytes, linear)" in m.log
    hand = m.snapshots["memblock_free_all"]
    assert hand.globals == {
        "dentry_hashtable": X86_PAGE_OFFSET + 0x3FEFF100,
        "d_hash_shift": 32 - 17,  # 6.12 keeps 32 - log2(entries)
        "inode_hashtable": X86_PAGE_OFFSET + 0x3FE7F100,
        "i_hash_shift": 16,
        "pcpu_base_addr": X86_PAGE_OFFSET + 0x3FC00000,
        "pcpu_unit_size": 2 * MIB,
    }
    # memblock at the hand-off: the inode hash, the dentry hash, md_blocks and bound_map are
    # one merged reservation; the HPET resource ends the last one
    assert hand.memblock is not None
    spans = [(r.base, r.base + r.size) for r in hand.memblock.reserved]
    assert (0x3FE7F100, 0x3FFFF200 + 1032) in spans
    assert spans[-1][1] == 0x3FFFFF80 + 73


def test_unknown_parameters_go_to_init_and_cost_an_allocation():
    # panic= is a kernel_param, console= a __setup(), a dotted word a module parameter;
    # FOO=2 replaces FOO=1 in envp_init[] (same name), "bar" joins argv_init[]:
    # " FOO=2 bar" + NUL = 11 bytes
    m = Linux(x86_inputs("console=ttyS0 panic=-1 FOO=1 FOO=2 bar nokaslr.x=1"))
    m.run()
    calls = allocs(m, "print_unknown_bootoptions")
    assert [(c.op, c.size) for c in calls] == [("alloc", 11), ("free", 11)]
    assert calls[0].base == calls[1].base
    # nothing unknown: no allocation at all
    m = Linux(x86_inputs("console=ttyS0 memblock=debug"))
    m.run()
    assert allocs(m, "print_unknown_bootoptions") == []


def test_cpu_entry_area_tables_follow_the_2mib_boundaries():
    # CPU i's area starts at 0xfffffe0000001000 + i x 241664 (59 pages): 8 CPUs end at
    # 0x1000 + 8 x 241664 = 0x1d9000 < 2 MiB (one PTE table); 9 end at 0x214000 (two)
    for cpus, pages in ((8, 3), (9, 4)):
        m = Linux(x86_inputs("console=ttyS0", cpus=cpus))
        m.run()
        assert len(allocs(m, "spp_getpage")) == pages


def test_x86_swiotlb_only_above_4g_and_printed_late():
    early = EarlyAllocs612(Linux(x86_inputs("console=ttyS0")))
    early.x86_mem_init()  # max_possible_pfn is 1 GiB: no swiotlb, nothing allocated
    assert early.swiotlb is None and not early.log
    mi = x86_inputs("console=ttyS0")
    mi.max_possible_pfn = (5 << 30) >> 12
    m = Linux(mi)
    m.run()
    bufs = allocs(m, "swiotlb_memblock_alloc")
    # 64 MiB below 4 GiB (here the top of the big free range under the earlier allocations),
    # then 32768 slots x 24 B and one area of 16 B
    assert [c.size for c in bufs] == [64 * MIB]
    assert [c.size for c in allocs(m, "swiotlb_init_remap")] == [32768 * 24, 16]
    start = bufs[0].base
    assert "software IO TLB: area num 1." in m.log  # at mem_init()
    # pci_iommu_init()'s banner, after the hand-off; mem->end is start + 64 MiB
    i = m.log.index("PCI-DMA: Using software bounce buffering for IO (SWIOTLB)")
    assert m.log[i + 1] == (
        f"software IO TLB: mapped [mem {start:#018x}-{start + 64 * MIB:#018x}] (64MB)"
    )


def test_arm64_swiotlb_is_one_mib_per_gib_below_the_dma_limit():
    # arm64 6.12, 1 GiB at 0x40000000, all of it ZONE_DMA: no bounce needed for ZONE_DMA,
    # so DMA_BOUNCE_UNALIGNED_KMALLOC sizes the buffer DIV_ROUND_UP(1 GiB, 1024) = 1 MiB
    # (512 slabs, a power of two: no round-up for one area)
    memory = [MemblockRegion(0x40000000, 0x40000000, 0)]
    inp = Inputs(
        max_zone_pfn=[0x80000, 0x80000, 0x80000, 0],
        zone_names=ZONES,
        memblock=Memblock(memory=memory, reserved=[MemblockRegion(0x40200000, 0x600000, 0)]),
        node_distance=[[10]],
        cpu_to_node=[0],
        online_nodes=[0],
        cmdline="console=ttyAMA0",
        constants={"memblock.current_limit": 0x80000000},
    )
    mi = synthetic_inputs(inp, "arm64", version="6.12")
    mi.sizeof.update(SIZEOF_612)
    m = Linux(mi)
    m.run()
    assert [x for x in m.log if x.startswith("software IO TLB")][:2] == [
        "software IO TLB: SWIOTLB bounce buffer size adjusted to 1MB",
        "software IO TLB: area num 1.",
    ]
    (buf,) = allocs(m, "swiotlb_memblock_alloc")
    inode = [c for c in allocs(m, "alloc_large_system_hash")][-1]
    # page-sized allocations from the same big free range, top-down: right under the inode hash
    assert (buf.size, buf.base) == (MIB, inode.base - MIB)
    assert f"software IO TLB: mapped [mem {buf.base:#018x}-{buf.base + MIB:#018x}] (1MB)" in m.log
    # one resource for the one memblock.memory region (4.7: one allocation per region)
    assert [c.size for c in allocs(m, "request_standard_resources")] == [64]
    # arm64: PAGE_SIZE atoms, so the unit is size_sum (whole pages): its "unused part" is empty
    (tail,) = allocs(m, "pcpu_fc_free")
    assert tail.size == 0


def test_hashdist_defers_the_vfs_hashes_and_vmalloc_maps_them_by_pmds_per_node():
    # two nodes with memory: hashdist stays 1, no early dentry/inode hash
    memory = [MemblockRegion(0x100000, 0x1FF00000, 0), MemblockRegion(0x20000000, 0x20000000, 1)]
    inp = Inputs(
        max_zone_pfn=[4096, 262144, 262144, 0],
        zone_names=ZONES,
        memblock=Memblock(memory=memory, reserved=[MemblockRegion(0x1000000, 0x1000000, 0)]),
        node_distance=[[10, 20], [20, 10]],
        cpu_to_node=[0, 1],
        online_nodes=[0, 1],
        cmdline="console=ttyS0",
        constants={"memblock.current_limit": 0x40000000},
    )
    mi = synthetic_inputs(inp, "x86_64", version="6.12")
    mi.sizeof.update(SIZEOF_612)
    m = Linux(mi)
    m.run()
    assert allocs(m, "alloc_large_system_hash") == []
    early = EarlyAllocs612(m)
    # a 2 MiB table over two online nodes is 1 MiB per node: PTE mappings ("vmalloc")
    assert not early.vmalloc_huge(2 * MIB)
    assert early.vmalloc_huge(4 * MIB)
    assert any(x.endswith("bytes, vmalloc)") and x.startswith("Dentry cache") for x in m.log)


def test_swiotlb_areas_from_the_command_line_are_printed_before_stop_1():
    # swiotlb=1000,3: ALIGN(1000, IO_TLB_SEGSIZE 128) = 1024 slabs, 3 areas → 4 (a power of
    # two); 1024 >= 128 x 4 and a power of two: no round-up. setup_io_tlb_npages() is an
    # early_param, so its line precedes "Zone ranges:"; swiotlb_init() adds no second one
    mi = x86_inputs("console=ttyS0 swiotlb=1000,3")
    mi.max_possible_pfn = (5 << 30) >> 12
    m = Linux(mi)
    m.run()
    assert m.log[0] == "software IO TLB: area num 4."
    assert m.log.count("software IO TLB: area num 4.") == 1
    assert [c.size for c in allocs(m, "swiotlb_memblock_alloc")] == [1024 << 11]
    # slots: 1024 x 24 B = 24576 (six pages); areas: 4 x 16 B
    assert [c.size for c in allocs(m, "swiotlb_init_remap")] == [24576, 64]


def test_alloc_try_nid_falls_back_to_any_node_then_drops_min_addr():
    from inspector.model.memblock import MemblockState

    # node 0 [0, 1 MiB) full but for [0x1000, 0x2000); node 1 [1 MiB, 2 MiB) empty
    mb = MemblockState(
        Memblock(
            memory=[MemblockRegion(0, MIB, 0), MemblockRegion(MIB, MIB, 1)],
            reserved=[MemblockRegion(0x2000, MIB - 0x2000, 2)],
        ),
        reserve_nid=64,
        current_limit=2 * MIB,
        smp_cache_bytes=64,
        low_limit=0,
    )
    # node 0 has no 8 KiB: any node, top-down → the top of node 1
    assert mb.alloc_try_nid(0x2000, 0x1000, 0, 0, 0, "t") == 2 * MIB - 0x2000
    # from min_addr 1.5 MiB nothing of 1 MiB fits on any node: retried from 0, lands on node 1
    assert mb.alloc_try_nid(MIB // 2, 0x1000, MIB + MIB // 2, 0, 1, "t") == MIB + MIB // 2 - 0x2000
    # exact_nid: node 0's one free page and no fallback
    assert mb.alloc_try_nid(0x1000, 0x1000, 0, 0, 0, "t", exact_nid=True) == 0x1000
    assert mb.alloc_try_nid(0x1000, 0x1000, 0, 0, 0, "t", exact_nid=True, panic=False) == 0


def test_many_cpus_reallocate_the_printk_buffer():
    """setup_log_buf(0) with 64 possible CPUs (synthetic CONFIG_LOG_BUF_SHIFT 18, LOG_CPU_MAX
    12): the per-cpu extra 63 << 12 = 258048 exceeds half of 256 KiB, so the buffer becomes
    roundup_pow_of_two(258048 + 262144) = 512 KiB, with 512 KiB >> 5 = 16384 descriptors of 24
    bytes and as many 88-byte infos, from memblock in that order, each 8-aligned; 32 CPUs (an
    extra of 126976, not past half) allocate nothing."""
    m = Linux(x86_inputs("console=ttyS0", cpus=64))
    m.run()
    got = [(c.op, c.size) for c in allocs(m, "setup_log_buf")]
    assert got == [("alloc", 524288), ("alloc", 16384 * 24), ("alloc", 16384 * 88)]
    assert all(c.base % 8 == 0 for c in allocs(m, "setup_log_buf"))
    few = Linux(x86_inputs("console=ttyS0", cpus=32))
    few.run()
    assert allocs(few, "setup_log_buf") == []
