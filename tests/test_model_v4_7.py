"""The Linux 4.7 reference model on small synthetic layouts.

Every expected number below is worked out by hand in the comments (from the 4.7 source), not by
calling the model; the property tests check conservation laws by brute force over pfns.
"""

from __future__ import annotations

from inspector.model.common import early_param_last, memparse, sparse_usemap_size, usemap_size
from inspector.model.inputs import synthetic_inputs
from inspector.model.linux import boot_log_lines as model_log_lines
from inspector.model.linux import predict as model_predict
from inspector.schema import Inputs, Memblock, MemblockRegion, Snapshot, Zone


# These tests check the zone, buddy and watermark arithmetic on synthetic layouts, so each one
# states memblock at the hand-off (``handoff``, by default stop 1's memblock) instead of the
# model's replay of the early allocations; those are tested in tests/test_model_memblock.py
# and held against real kernels by validate.
def predict(
    inp: Inputs, arch: str, handoff: Memblock | None = None, **kw: object
) -> dict[str, Snapshot]:
    mi = synthetic_inputs(inp, arch, **kw)  # type: ignore[arg-type]
    return model_predict(mi, handoff=handoff or inp.memblock)


def boot_log_lines(
    inp: Inputs, arch: str, handoff: Memblock | None = None, **kw: object
) -> list[str]:
    mi = synthetic_inputs(inp, arch, **kw)  # type: ignore[arg-type]
    return model_log_lines(mi, handoff=handoff or inp.memblock)


def memory_line(log: list[str]) -> str:
    return next(line for line in log if line.startswith("Memory: "))


X86_ZONES = ["DMA", "DMA32", "Normal", "Movable"]
ARM64_ZONES = ["DMA", "Normal", "Movable"]
UNMOV, MOV = 0, 1


def region(start_pfn: int, end_pfn: int, nid: int = 0, flags: int = 0) -> MemblockRegion:
    return MemblockRegion(
        base=start_pfn << 12, size=(end_pfn - start_pfn) << 12, nid=nid, flags=flags
    )


def inputs(
    memory: list[MemblockRegion],
    reserved: list[MemblockRegion],
    max_zone_pfn: list[int],
    zone_names: list[str],
    *,
    distance: list[list[int]] | None = None,
    cpu_to_node: list[int] | None = None,
    cmdline: str = "",
    **constants: int,
) -> Inputs:
    return Inputs(
        max_zone_pfn=max_zone_pfn,
        zone_names=zone_names,
        memblock=Memblock(memory=memory, reserved=reserved),
        node_distance=distance or [[10]],
        cpu_to_node=cpu_to_node or [0],
        cmdline=cmdline,
        constants={
            "MAX_ORDER": 11,
            "pageblock_order": 10,
            "sizeof_struct_page": 64,
            "PAGE_SIZE": 4096,
            "nr_cpu_ids": len(cpu_to_node or [0]),
            **constants,
        },
    )


def zone_of(snap: Snapshot, nid: int, name: str) -> Zone:
    node = next(n for n in snap.nodes if n.node_id == nid)
    return next(z for z in node.zones if z.name == name)


def free_lists(snap: Snapshot, nid: int, name: str) -> dict[int, list[int]]:
    z = zone_of(snap, nid, name)
    assert z.free_area is not None
    return {fa.order: list(fa.free_list or []) for fa in z.free_area if fa.nr_free}


# --- x86_64, one node, holes, crossing DMA/DMA32 -------------------------------------------------
#
# memory: A = pfn [1, 159)  (the BIOS's low 636 KiB, pfn 0 trimmed)
#         B = pfn [256, 6144)   C = pfn [8192, 16384)      (holes [159,256) and [6144,8192))
# reserved: pfns 9,10 and [4096, 5120) (a 4 MiB "kernel" at 16 MiB)
# max_zone_pfn: DMA 4096, DMA32 16384, Normal 16384 (max_low_pfn), Movable 0
ONE_NODE = inputs(
    [region(1, 159), region(256, 6144), region(8192, 16384)],
    [region(9, 11), region(4096, 5120)],
    [4096, 16384, 16384, 0],
    X86_ZONES,
)


def test_one_node_with_holes_zone_sizes():
    snaps = predict(ONE_NODE, "x86_64")
    core = snaps["free_area_init_core"]
    node = core.nodes[0]
    # arch_zone_lowest_possible_pfn[DMA] = first memory pfn = 1
    dma, dma32, normal, movable = node.zones
    assert (dma.zone_start_pfn, dma.spanned_pages) == (1, 4095)
    # present: 158 pages of A + 3840 of B below 4096
    assert dma.present_pages == 158 + 3840 == 3998
    # calc_memmap_size: 4095 > 3998 + 249 is false -> spanned: PAGE_ALIGN(4095 * 64) / 4096 = 64
    # memmap_pages and managed_pages are set after free_area_init_core()'s entry: read them at
    # memmap_init_zone
    dma = zone_of(snaps["memmap_init_zone"], 0, "DMA")
    dma32 = zone_of(snaps["memmap_init_zone"], 0, "DMA32")
    assert dma.memmap_pages == 64
    # memblock_find_dma_reserve: 3998 memory pages below 16 MiB, 3996 of them free -> 2
    assert core.globals["dma_reserve"] == 2
    assert dma.managed_pages == 3998 - 64 - 2 == 3932
    assert (dma32.zone_start_pfn, dma32.spanned_pages) == (4096, 12288)
    assert dma32.present_pages == 2048 + 8192 == 10240
    # 12288 > 10240 + 640: the hole heuristic uses present: 10240 * 64 / 4096 = 160
    assert dma32.memmap_pages == 160
    assert dma32.managed_pages == 10080
    assert normal.spanned_pages == normal.present_pages == 0
    assert movable.spanned_pages == 0
    assert (node.node_spanned_pages, node.node_present_pages) == (16383, 14238)
    assert node.nr_zones == 0  # the capture reads it at entry, where it is still 0
    assert snaps["build_all_zonelists"].nodes[0].nr_zones == 2
    g = snaps["build_all_zonelists"].globals  # complete once every node is sized
    assert g["nr_kernel_pages"] == g["nr_all_pages"] == 3932 + 10080


def test_one_node_boot_log():
    log = boot_log_lines(ONE_NODE, "x86_64")
    assert log[:4] == [
        "Zone ranges:",
        "  DMA      [mem 0x0000000000001000-0x0000000000ffffff]",
        "  DMA32    [mem 0x0000000001000000-0x0000000003ffffff]",
        "  Normal   empty",
    ]
    assert "Initmem setup node 0 [mem 0x0000000000001000-0x0000000003ffffff]" in log
    i = log.index("On node 0 totalpages: 14238")
    assert log[i + 1 : i + 6] == [
        "  DMA zone: 64 pages used for memmap",
        "  DMA zone: 2 pages reserved",
        # zone_batchsize(3932): 3932/1024 = 3, /4 = 0 -> 1, rounddown_pow_of_two(1) - 1 = 0
        "  DMA zone: 3998 pages, LIFO batch:0",
        "  DMA32 zone: 160 pages used for memmap",
        # zone_batchsize(10080): 9, /4 = 2, rounddown_pow_of_two(3) - 1 = 1
        "  DMA32 zone: 10240 pages, LIFO batch:1",
    ]
    assert "Built 1 zonelists in Node order, mobility grouping on.  Total pages: 14012" in log
    assert "Policy zone: DMA32" in log
    # free pages 3996 + 9216 = 13212 -> 52848K; physpages 14238 -> 56952K
    assert memory_line(log) == "Memory: 52848K/56952K available"


def test_one_node_pageblocks():
    snaps = predict(ONE_NODE, "x86_64")
    # pageblock 0 starts at pfn 0, which is outside the DMA zone (it starts at 1): never set
    assert zone_of(snaps["memmap_init_zone"], 0, "DMA").pageblock_migratetypes == [
        UNMOV,
        MOV,
        MOV,
        MOV,
    ]
    # x86 pfn_valid() is per 128 MiB section: the DMA32 hole's pageblocks are valid, so movable
    assert zone_of(snaps["memmap_init_zone"], 0, "DMA32").pageblock_migratetypes == [MOV] * 12


def test_one_node_buddy_state():
    snap = predict(ONE_NODE, "x86_64")["free_all_bootmem.return"]
    # free ranges: [1,9) [11,159) [256,4096) [5120,6144) [8192,16384)
    # __free_pages_memory([1,9)): o0@1 o1@2 o2@4 o0@8 - no buddies free (0 and 9 are not)
    # [11,159): o0@11 o2@12 o4@16 o5@32 o6@64 o4@128 o3@144 o2@152 o1@156 o0@158 - none merge
    # [256,4096): o8@256 o9@512 o10@1024,2048,3072; below pfn 1024 the block is Unmovable
    assert free_lists(snap, 0, "DMA") == {
        0: [4, 0, 0, 0],
        1: [2, 0, 0, 0],
        2: [3, 0, 0, 0],
        3: [1, 0, 0, 0],
        4: [2, 0, 0, 0],
        5: [1, 0, 0, 0],
        6: [1, 0, 0, 0],
        8: [1, 0, 0, 0],
        9: [1, 0, 0, 0],
        10: [0, 3, 0, 0],
    }
    # [5120,6144) and [8192,16384): nine order-10 blocks in movable pageblocks
    assert free_lists(snap, 0, "DMA32") == {10: [0, 9, 0, 0]}
    dma, dma32 = zone_of(snap, 0, "DMA"), zone_of(snap, 0, "DMA32")
    assert (dma.managed_pages, dma.nr_free_pages) == (3996, 3996)
    assert (dma32.managed_pages, dma32.nr_free_pages) == (9216, 9216)
    assert snap.globals["totalram_pages"] == 13212


def test_one_node_watermarks():
    snap = predict(ONE_NODE, "x86_64")["init_per_zone_wmark_min"]
    # min_free_kbytes = int_sqrt(13212 * 4 * 16) = int_sqrt(845568) = 919 (919^2 = 844561)
    assert snap.globals["min_free_kbytes"] == 919
    dma, dma32 = zone_of(snap, 0, "DMA"), zone_of(snap, 0, "DMA32")
    # pages_min = 229; DMA: 229*3996/13212 = 69; delta = max(69>>2, 3996*10/10000) = 17
    assert dma.watermark == [69, 86, 103]
    # DMA32: 229*9216/13212 = 159; delta = max(39, 9) = 39
    assert dma32.watermark == [159, 198, 237]
    # lowmem_reserve: the DMA zone keeps DMA32's 9216/256 = 36 back from each higher class
    assert dma.lowmem_reserve == [0, 36, 36, 36]
    assert dma32.lowmem_reserve == [0, 0, 0, 0]
    # pagesets: DMA batch 0 -> high 0, batch 1; DMA32 zone_batchsize(9216) = 1 -> high 6
    assert dma.pageset is not None and dma32.pageset is not None
    assert (dma.pageset[0].high, dma.pageset[0].batch) == (0, 1)
    assert (dma32.pageset[0].high, dma32.pageset[0].batch) == (6, 1)


def test_smp_alternatives_freed_before_initcalls_move_watermarks():
    # x86 alternative_instructions() frees [__smp_locks, __smp_locks_end) page by page before
    # core_initcall: here kernel virtual 0xffffffff82000800 .. 0xffffffff82003100, i.e. physical
    # 0x2000800 .. 0x2003100 (phys_base 0): whole pages 0x2001000, 0x2002000 -> 2 pages, pfns
    # 8193 and 8194, in DMA32
    locks = (0xFFFFFFFF82000800, 0xFFFFFFFF82003100)
    snap = predict(ONE_NODE, "x86_64", smp_locks=locks)["init_per_zone_wmark_min"]
    # int_sqrt(13214 * 64) = int_sqrt(845696) = 919 still; DMA32 managed 9218 -> 229*9218/13214
    assert zone_of(snap, 0, "DMA32").managed_pages == 9218
    assert zone_of(snap, 0, "DMA32").watermark[0] == 229 * 9218 // 13214
    before = predict(ONE_NODE, "x86_64")["free_all_bootmem.return"].globals["totalram_pages"]
    assert snap.globals["totalram_pages"] == before + 2
    # patched to UP with 2 possible CPUs (maxcpus=1): nothing is freed
    up = inputs(
        ONE_NODE.memblock.memory,
        ONE_NODE.memblock.reserved,
        ONE_NODE.max_zone_pfn,
        X86_ZONES,
        cmdline="maxcpus=1",
    )
    snap = predict(up, "x86_64", smp_locks=locks, nr_possible_cpus=2)["init_per_zone_wmark_min"]
    assert zone_of(snap, 0, "DMA32").managed_pages == 9216


# --- x86_64, two nodes whose boundary is not MAX_ORDER aligned ----------------------------------
#
# node 0: pfn [256, 16000), node 1: pfn [16000, 32768); nothing reserved
TWO_NODES = inputs(
    [region(256, 16000, 0), region(16000, 32768, 1)],
    [],
    [4096, 32768, 32768, 0],
    X86_ZONES,
    distance=[[10, 20], [20, 10]],
    cpu_to_node=[0, 1],
)


def test_two_nodes_sizes_and_log():
    snaps = predict(TWO_NODES, "x86_64")
    n0, n1 = snaps["free_area_init_core"].nodes
    assert (n0.node_start_pfn, n0.node_spanned_pages, n0.node_present_pages) == (256, 15744, 15744)
    assert (n1.node_start_pfn, n1.node_spanned_pages, n1.node_present_pages) == (
        16000,
        16768,
        16768,
    )
    # node 1's DMA range [256, 4096) ends below the node: empty; DMA32 [16000, 32768)
    assert zone_of(snaps["free_area_init_core"], 1, "DMA").spanned_pages == 0
    assert zone_of(snaps["free_area_init_core"], 1, "DMA32").zone_start_pfn == 16000
    log = boot_log_lines(TWO_NODES, "x86_64")
    # memmap: DMA 3840*64/4096 = 60; n0 DMA32 11904*64/4096 = 186; n1 DMA32 16768/64 = 262
    # dma_reserve is 0 and 4.7 still says so for zone 0
    assert log[log.index("On node 0 totalpages: 15744") + 1 :][:5] == [
        "  DMA zone: 60 pages used for memmap",
        "  DMA zone: 0 pages reserved",
        "  DMA zone: 3840 pages, LIFO batch:0",
        "  DMA32 zone: 186 pages used for memmap",
        "  DMA32 zone: 11904 pages, LIFO batch:1",
    ]
    assert (
        log[log.index("On node 1 totalpages: 16768") + 1]
        == "  DMA32 zone: 262 pages used for memmap"
    )
    # Total pages: 3780 + 11718 + 16506 = 32004
    assert "Built 2 zonelists in Node order, mobility grouping on.  Total pages: 32004" in log


def test_two_nodes_zonelists():
    zl = predict(TWO_NODES, "x86_64")["build_all_zonelists"].zonelists
    assert zl is not None
    lists = {(z.node, z.kind): z.zones for z in zl}
    assert lists[(0, "fallback")] == [(0, "DMA32"), (0, "DMA"), (1, "DMA32")]
    assert lists[(0, "nofallback")] == [(0, "DMA32"), (0, "DMA")]
    assert lists[(1, "fallback")] == [(1, "DMA32"), (0, "DMA32"), (0, "DMA")]
    assert lists[(1, "nofallback")] == [(1, "DMA32")]


def test_zone_order_on_the_command_line():
    two = inputs(
        TWO_NODES.memblock.memory,
        [],
        [4096, 32768, 32768, 0],
        X86_ZONES,
        distance=[[10, 20], [20, 10]],
        cpu_to_node=[0, 1],
        cmdline="console=ttyS0 numa_zonelist_order=zone",
    )
    snap = predict(two, "x86_64")["build_all_zonelists"]
    assert snap.zonelists is not None
    lists = {(z.node, z.kind): z.zones for z in snap.zonelists}
    # build_zonelists_in_zone_order(): all DMA32 zones by node order, then DMA
    assert lists[(1, "fallback")] == [(1, "DMA32"), (0, "DMA32"), (0, "DMA")]
    assert lists[(0, "fallback")] == [(0, "DMA32"), (1, "DMA32"), (0, "DMA")]
    assert snap.globals["current_zonelist_order"] == 2
    assert any(" in Zone order," in line for line in boot_log_lines(two, "x86_64"))


def test_three_equidistant_nodes_round_robin():
    # find_next_best_node(): ties go to the lower id, then node_load spreads the second choice
    mem = [region(256, 16384, 0), region(16384, 32768, 1), region(32768, 49152, 2)]
    d = [[10, 20, 20], [20, 10, 20], [20, 20, 10]]
    snap = predict(
        inputs(mem, [], [4096, 49152, 49152, 0], X86_ZONES, distance=d, cpu_to_node=[0, 1, 2]),
        "x86_64",
    )["build_all_zonelists"]
    assert snap.zonelists is not None
    order = {
        z.node: [n for n, name in z.zones if name == "DMA32"]
        for z in snap.zonelists
        if z.kind == "fallback"
    }
    # node 0: 0, then 1 (tie, lower id; node_load[1] = 3); node 1: 1, then 2 (0 pays the
    # "n < node" penalty); node_load[2] = 3; node 2: 2, then 0 (both pay +1, node 1 has load 3)
    assert order == {0: [0, 1, 2], 1: [1, 2, 0], 2: [2, 0, 1]}


def test_two_nodes_buddies_do_not_merge_across_nodes():
    snap = predict(TWO_NODES, "x86_64")["free_all_bootmem.return"]
    # node 0 ends [.., 16000): ... o9@15360 o7@15872; node 1 starts o7@16000 o8@16128 o10@16384...
    # 15872 ^ 128 = 16000: buddies of the same order, but in different zones: no merge
    n0 = free_lists(snap, 0, "DMA32")
    n1 = free_lists(snap, 1, "DMA32")
    # node 0 DMA32 [4096, 16000): 11 order-10 blocks (4096..15360), o9@15360, o7@15872
    assert n0 == {7: [0, 1, 0, 0], 9: [0, 1, 0, 0], 10: [0, 11, 0, 0]}
    # node 1 [16000, 32768): o7@16000, o8@16128, 16 order-10 blocks from 16384
    assert n1 == {7: [0, 1, 0, 0], 8: [0, 1, 0, 0], 10: [0, 16, 0, 0]}


# --- x86_64, movablecore= carves ZONE_MOVABLE out of Normal --------------------------------------
#
# RAM: pfn [256, 0xC0000) (3 GiB) and [0x100000, 0x140000) (1 GiB above 4 GiB); movablecore=512M
BIG = inputs(
    [region(256, 0xC0000), region(0x100000, 0x140000)],
    [],
    [4096, 0x100000, 0x140000, 0],
    X86_ZONES,
    cmdline="movablecore=512M",
)


def test_movablecore_places_zone_movable():
    snaps = predict(BIG, "x86_64")
    core = snaps["free_area_init_core"]
    # totalpages 1048320, movable 131072 -> kernelcore 917248; below 4 GiB 786176 pages count as
    # kernel, 131072 more from 0x100000: ZONE_MOVABLE starts at 0x120000 (MAX_ORDER aligned)
    assert core.globals["zone_movable_pfn[0]"] == 0x120000
    assert core.globals["movable_zone"] == 2
    normal, movable = zone_of(core, 0, "Normal"), zone_of(core, 0, "Movable")
    # Normal keeps spanning to the node end; the movable part counts as its hole
    assert (normal.zone_start_pfn, normal.spanned_pages, normal.present_pages) == (
        0x100000,
        0x40000,
        0x20000,
    )
    assert (movable.zone_start_pfn, movable.spanned_pages, movable.present_pages) == (
        0x120000,
        0x20000,
        0x20000,
    )
    # memmap: Normal 0x40000 > 0x20000 + 0x2000 -> present: 131072 * 64 / 4096 = 2048
    memmap = snaps["memmap_init_zone"]
    assert zone_of(memmap, 0, "Normal").memmap_pages == 2048
    assert zone_of(memmap, 0, "Movable").memmap_pages == 2048
    log = boot_log_lines(BIG, "x86_64")
    assert log[log.index("Movable zone start for each node") + 1] == "  Node 0: 0x0000000120000000"
    # at Normal's memmap_init_zone() return, the movable half of its span is still untouched
    blocks = zone_of(snaps["memmap_init_zone"], 0, "Normal").pageblock_migratetypes
    assert blocks == [MOV] * 128 + [UNMOV] * 128
    # ZONE_MOVABLE's memmap_init_zone() then marks it; its pages belong to ZONE_MOVABLE
    after = snaps["free_all_bootmem.return"]
    assert zone_of(after, 0, "Normal").pageblock_migratetypes == [MOV] * 256
    assert zone_of(after, 0, "Normal").managed_pages == 0x20000
    assert zone_of(after, 0, "Movable").managed_pages == 0x20000


def test_movablecore_that_swallows_normal_wraps_present_pages():
    # movablecore=1G on the same RAM: kernelcore 786176 is all below 4 GiB, so ZONE_MOVABLE starts
    # at 0x100000, exactly where Normal starts. Normal's span collapses to 0, but 4.7's
    # zone_absent_pages_in_node() still charges node_end - zone_movable_pfn = 262144 to Normal:
    # present = 0 - 262144 in unsigned long. A real 4.7 guest prints exactly this line.
    big = inputs(
        BIG.memblock.memory, [], [4096, 0x100000, 0x140000, 0], X86_ZONES, cmdline="movablecore=1G"
    )
    core = predict(big, "x86_64")["free_area_init_core"]
    assert core.globals["zone_movable_pfn[0]"] == 0x100000
    normal = zone_of(core, 0, "Normal")
    assert (normal.spanned_pages, normal.present_pages) == (0, (1 << 64) - 262144)
    log = boot_log_lines(big, "x86_64")
    # zone_batchsize() of a huge zone is capped: 128 / 4 = 32 -> rounddown_pow_of_two(48) - 1
    assert "  Normal zone: 18446744073709289472 pages, LIFO batch:31" in log
    # DMA 3840-60 + DMA32 782336-12224 (1044480 > 782336 + 48896: memmap from present)
    # + Normal (2^64 - 262144, no memmap) + Movable 262144-4096, summed in unsigned long
    total = 3780 + 770112 - 262144 + 258048
    assert total == 769796
    assert f"Built 1 zonelists in Node order, mobility grouping on.  Total pages: {total}" in log
    # nothing reserved: 1048320 pages free; physpages = 3840 + 782336 + (2^64-262144) + 262144
    assert memory_line(log) == f"Memory: {1048320 * 4}K/{786176 * 4}K available"


def test_kernelcore_mirror_puts_unmirrored_memory_in_zone_movable():
    # kernelcore=mirror: every non-mirrored region at or above 4 GiB starts ZONE_MOVABLE
    mem = [region(256, 0x100000, flags=2), region(0x100000, 0x140000)]  # MEMBLOCK_MIRROR = 2
    inp = inputs(mem, [], [4096, 0x100000, 0x140000, 0], X86_ZONES, cmdline="kernelcore=mirror")
    snaps = predict(inp, "x86_64")
    core = snaps["free_area_init_core"]
    assert core.globals["zone_movable_pfn[0]"] == 0x100000
    # Normal starts at zone_movable_pfn: empty; the mirror branch charges nothing to it
    normal = zone_of(core, 0, "Normal")
    assert (normal.spanned_pages, normal.present_pages) == (0, 0)
    movable = zone_of(core, 0, "Movable")
    sizes = (movable.zone_start_pfn, movable.spanned_pages, movable.present_pages)
    assert sizes == (0x100000, 0x40000, 0x40000)
    assert zone_of(snaps["free_all_bootmem.return"], 0, "Movable").managed_pages == 0x40000


def test_memblock_at_free_all_bootmem_is_what_gets_freed():
    # start_kernel() reserves more after free_area_init_nodes(): 1024 more pages in DMA32
    later = Memblock(
        memory=ONE_NODE.memblock.memory,
        reserved=[*ONE_NODE.memblock.reserved, region(8192, 9216)],
    )
    snap = predict(ONE_NODE, "x86_64", handoff=later)
    dma32 = zone_of(snap["free_all_bootmem.return"], 0, "DMA32")
    assert dma32.managed_pages == 9216 - 1024
    # the sizes (stop 2) still come from the stop-1 memblock
    assert zone_of(snap["memmap_init_zone"], 0, "DMA32").managed_pages == 10080


# --- arm64 ---------------------------------------------------------------------------------------
#
# RAM at 1 GiB: pfn [0x40000, 0x42000) and [0x43000, 0x48000); DMA ends at the end of RAM
ARM = inputs(
    [region(0x40000, 0x42000), region(0x43000, 0x48000)],
    [region(0x40080, 0x40480)],
    [0x48000, 0x48000, 0],
    ARM64_ZONES,
)


def test_arm64_numa_path():
    snaps = predict(ARM, "arm64")
    dma = zone_of(snaps["free_area_init_core"], 0, "DMA")
    assert (dma.zone_start_pfn, dma.spanned_pages, dma.present_pages) == (0x40000, 32768, 28672)
    # 32768 > 28672 + 1792 -> present: 28672 * 64 / 4096 = 448; no dma_reserve on arm64
    dma = zone_of(snaps["memmap_init_zone"], 0, "DMA")
    assert dma.memmap_pages == 448
    assert dma.managed_pages == 28224
    # arm64 pfn_valid() is memblock_is_map_memory(): pageblocks starting in the hole stay 0
    assert zone_of(snaps["free_area_init_core"], 0, "DMA").pageblock_migratetypes is None
    assert zone_of(snaps["memmap_init_zone"], 0, "DMA").pageblock_migratetypes == (
        [MOV] * 8 + [UNMOV] * 4 + [MOV] * 20
    )
    log = boot_log_lines(ARM, "arm64")
    assert log[log.index("On node 0 totalpages: 28672") + 1 :][:3] == [
        "  DMA zone: 448 pages used for memmap",
        "  DMA zone: 0 pages reserved",
        # zone_batchsize(28224): 27, /4 = 6, rounddown_pow_of_two(9) - 1 = 7
        "  DMA zone: 28672 pages, LIFO batch:7",
    ]
    assert "Built 1 zonelists in Node order, mobility grouping on.  Total pages: 28224" in log
    assert "Policy zone: DMA" in log
    # free: 28672 - 1024 reserved = 27648 -> 110592K of 114688K
    assert memory_line(log) == "Memory: 110592K/114688K available"


def test_arm64_without_numa_takes_zone_sizes_init():
    snaps = predict(ARM, "arm64", config_numa=False)
    dma = zone_of(snaps["free_area_init_core"], 0, "DMA")
    # zone_size[DMA] = 0x48000 - 0x40000, zhole_size[DMA] = 32768 - 8192 - 20480 = 4096
    assert (dma.zone_start_pfn, dma.spanned_pages, dma.present_pages) == (0x40000, 32768, 28672)
    log = boot_log_lines(ARM, "arm64", config_numa=False)
    assert "Zone ranges:" not in log and not any(x.startswith("Initmem") for x in log)
    assert "Built 1 zonelists in Zone order, mobility grouping on.  Total pages: 28224" in log
    assert not any(x.startswith("Policy zone") for x in log)
    zl = snaps["build_all_zonelists"].zonelists
    assert zl is not None and [z.kind for z in zl] == ["fallback"]


def test_arm64_memoryless_node():
    # numa_register_nodes() onlines a CPU-only node; only the captured online mask says so
    arm = inputs(
        ARM.memblock.memory,
        ARM.memblock.reserved,
        [0x48000, 0x48000, 0],
        ARM64_ZONES,
        cpu_to_node=[0, 0],
    )
    arm.online_nodes = [0, 1]
    snaps = predict(arm, "arm64")
    zl = snaps["build_all_zonelists"].zonelists
    assert zl is not None
    lists = {(z.node, z.kind): z.zones for z in zl}
    # node 1 falls back to node 0's DMA at once; its __GFP_THISNODE list is empty
    assert lists[(1, "fallback")] == [(0, "DMA")]
    assert lists[(1, "nofallback")] == []
    log = boot_log_lines(arm, "arm64")
    i = log.index("Could not find start_pfn for node 1")
    assert log[i + 1 : i + 3] == [
        "Initmem setup node 1 [mem 0x0000000000000000-0x0000000000000000]",
        "On node 1 totalpages: 0",
    ]
    assert "Built 2 zonelists in Node order, mobility grouping on.  Total pages: 28224" in log


def test_tiny_machine_turns_mobility_grouping_off():
    # 3000 pages in all: vm_total_pages < pageblock_nr_pages * MIGRATE_TYPES = 4096
    tiny = inputs([region(256, 3256)], [], [4096, 4096, 4096, 0], X86_ZONES)
    log = boot_log_lines(tiny, "x86_64")
    # memmap: PAGE_ALIGN(3000 * 64) / 4096 = 47 -> 2953 pages
    assert "Built 1 zonelists in Node order, mobility grouping off.  Total pages: 2953" in log


def test_usemap_sizes():
    # !SPARSEMEM: zone [1, 4096): (4095 + 1) rounded to 1024 -> 4 blocks * 4 bits -> 64 bits
    assert usemap_size(1, 4095, 10) == 8
    # 17 pageblocks -> 68 bits -> two longs
    assert usemap_size(0, 17 << 10, 10) == 16
    # SPARSEMEM: x86_64 128 MiB sections hold 32 pageblocks (16 bytes); arm64 1 GiB ones 256
    assert sparse_usemap_size(27, 12, 10) == 16
    assert sparse_usemap_size(30, 12, 10) == 128


def test_command_line_helpers():
    assert memparse("512M") == (512 << 20, "")
    assert memparse("0x1000k,") == (0x1000 << 10, ",")
    assert early_param_last("a kernelcore=1G kernelcore=2G b", "kernelcore") == "2G"
