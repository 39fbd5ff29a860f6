"""Conservation laws of the Linux 4.7 reference model, checked by brute force over pfns on
layouts hypothesis draws (derandomized: the same examples on every run, so a run cannot fail
by chance)."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from inspector.model.inputs import synthetic_inputs
from inspector.model.linux import Linux
from inspector.model.memblock import BootPanic
from inspector.schema import Inputs, Memblock, Snapshot, Zone
from tests.test_model_v4_7 import ARM64_ZONES, X86_ZONES, inputs, predict, region


@st.composite
def layouts(draw: st.DrawFn) -> tuple[Inputs, str]:
    """1-3 nodes of page-aligned memory regions below pfn 40000 with random reservations, for
    x86_64 (DMA ends at pfn 4096) or arm64 (DMA covers everything), sometimes with movablecore."""
    arch = draw(st.sampled_from(["x86_64", "arm64"]))
    cuts = sorted(draw(st.lists(st.integers(1, 39999), min_size=2, max_size=12, unique=True)))
    pairs = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]
    nnodes = draw(st.integers(1, min(3, len(pairs))))
    memory = []
    for i, (s, e) in enumerate(pairs):
        nid = min(nnodes - 1, i * nnodes // len(pairs))
        memory.append(region(s, e, nid))
    rcuts = sorted(draw(st.lists(st.integers(0, 40000), max_size=10, unique=True)))
    reserved = [region(rcuts[i], rcuts[i + 1]) for i in range(0, len(rcuts) - 1, 2)]
    end = max(e for _, e in pairs)
    dist = [[10 if a == b else 20 for b in range(nnodes)] for a in range(nnodes)]
    movable = draw(st.sampled_from(["", "movablecore=16M", "kernelcore=64M"]))
    if arch == "x86_64":
        mzp, names = [4096, end, end, 0], X86_ZONES
    else:
        mzp, names = [end, end, 0], ARM64_ZONES
    inp = inputs(
        memory,
        reserved,
        mzp,
        names,
        distance=dist,
        cpu_to_node=list(range(nnodes)),
        cmdline=movable,
    )
    return inp, arch


def memory_pfns(inp: Inputs, nid: int | None = None) -> set[int]:
    out: set[int] = set()
    for r in inp.memblock.memory:
        if nid is None or r.nid == nid:
            out |= set(range(r.base >> 12, (r.base + r.size) >> 12))
    return out


def run_or_reject(model: Linux) -> dict[str, Snapshot]:
    """Run the model; a layout too small for start_kernel's early allocations cannot boot, so
    hypothesis is told to draw another."""
    try:
        return model.run()
    except BootPanic:
        assume(False)
        raise


def reserved_pfns(inp: Inputs, memblock: Memblock | None = None) -> set[int]:
    """Pages that hold any reserved byte (a partly reserved page is not freed)."""
    out: set[int] = set()
    for r in (memblock or inp.memblock).reserved:
        out |= set(range(r.base >> 12, (r.base + r.size + 4095) >> 12))
    return out


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(layouts())
def test_pages_are_conserved(layout: tuple[Inputs, str]):
    inp, arch = layout
    model = Linux(synthetic_inputs(inp, arch))
    snaps = run_or_reject(model)
    snap = snaps["free_all_bootmem.return"]
    g = snap.globals
    # the model's own early allocations (wait tables, per-cpu chunk, hashes, swiotlb) only add
    # to what stop 1 reserved, and what they leave free is what the buddy allocator gets
    handoff = reserved_pfns(inp, model.memblock_bootmem)
    assert reserved_pfns(inp) <= handoff
    free_pfns = memory_pfns(inp) - handoff
    names = inp.zone_names

    def expected_zone(pfn: int, nid: int) -> int:
        """Which zone a page should land in: ZONE_MOVABLE from zone_movable_pfn on, else the
        zone whose arch range holds it (arch ranges as printed under "Zone ranges:")."""
        zmp = g[f"zone_movable_pfn[{nid}]"]
        if zmp and pfn >= zmp:
            return names.index("Movable")
        return next(
            i
            for i, n in enumerate(names)
            if g[f"arch_zone_lowest_possible_pfn[{n}]"]
            <= pfn
            < g[f"arch_zone_highest_possible_pfn[{n}]"]
        )

    total_free = 0
    for node in snap.nodes:
        mem = memory_pfns(inp, node.node_id)
        present = sum(z.present_pages for z in node.zones) % (1 << 64)
        assert node.node_present_pages == present
        free_here = {p for p in free_pfns & mem if p < model.max_low_pfn}
        for z in node.zones:
            if not g[f"zone_movable_pfn[{node.node_id}]"]:
                # present = spanned - holes, holes counted pfn by pfn (4.7 breaks this when it
                # carves ZONE_MOVABLE, see test_movablecore_that_swallows_normal_wraps_present...)
                span = set(range(z.zone_start_pfn, z.zone_start_pfn + z.spanned_pages))
                assert z.present_pages == z.spanned_pages - len(span - mem)
            # after the hand-off: free + reserved = present, and free = managed = nr_free
            mine = {p for p in free_here if expected_zone(p, node.node_id) == z.idx}
            assert z.nr_free_pages == z.managed_pages == len(mine)
            assert z.free_area is not None
            assert sum(fa.nr_free << fa.order for fa in z.free_area) == z.managed_pages
            assert all(fa.nr_free == sum(fa.free_list or []) for fa in z.free_area)
            total_free += z.managed_pages
    assert total_free == g["totalram_pages"] == len(free_pfns)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(layouts())
def test_free_blocks_are_aligned_inside_one_zone_and_merged(layout: tuple[Inputs, str]):
    inp, arch = layout
    model = Linux(synthetic_inputs(inp, arch))
    run_or_reject(model)
    free_pfns = memory_pfns(inp) - reserved_pfns(inp, model.memblock_bootmem)
    seen: set[int] = set()
    for pfn, block in model.free_blocks.items():
        size = 1 << block.order
        assert pfn % size == 0  # aligned to its order
        pages = set(range(pfn, pfn + size))
        assert pages <= free_pfns and not pages & seen  # free memory, no overlap
        seen |= pages
        zone = model.zone(*block.zone)
        assert zone.zone_start_pfn <= pfn and pfn + size <= zone.zone_end_pfn  # inside one zone
        if block.order < model.geo.max_order - 1:  # no two free buddies left unmerged
            buddy = model.free_blocks.get(pfn ^ size)
            assert not (buddy and buddy.order == block.order and buddy.zone == block.zone)
    assert seen == free_pfns


@st.composite
def numa_machines(draw: st.DrawFn) -> tuple[Inputs, str]:
    """1-4 equal nodes of 16 MiB with random symmetric distances (10 on the diagonal)."""
    arch = draw(st.sampled_from(["x86_64", "arm64"]))
    n = draw(st.integers(1, 4))
    d = [[10] * n for _ in range(n)]
    for a in range(n):
        for b in range(a + 1, n):
            # steps of 10: the "n < node" and CPU penalties (+1 each) only break ties
            d[a][b] = d[b][a] = 10 * draw(st.integers(2, 6))
    base = 256 if arch == "x86_64" else 0x40000
    mem = [region(base + k * 4096, base + (k + 1) * 4096, k) for k in range(n)]
    end = base + n * 4096
    mzp = [4096, end, end, 0] if arch == "x86_64" else [end, end, 0]
    names = X86_ZONES if arch == "x86_64" else ARM64_ZONES
    order = draw(st.sampled_from(["", "numa_zonelist_order=zone"]))
    return inputs(mem, [], mzp, names, distance=d, cpu_to_node=list(range(n)), cmdline=order), arch


@settings(max_examples=60, deadline=None, derandomize=True)
@given(numa_machines())
def test_zonelists_cover_every_populated_zone_once(machine: tuple[Inputs, str]):
    inp, arch = machine
    snap = predict(inp, arch)["build_all_zonelists"]
    assert snap.zonelists is not None
    populated = {(z.node, z.name) for n in snap.nodes for z in n.zones if z.present_pages}
    for zl in snap.zonelists:
        local = [
            (zl.node, z.name) for z in reversed(zone_of_node(snap, zl.node)) if z.present_pages
        ]
        if zl.kind == "nofallback":
            assert zl.zones == local  # __GFP_THISNODE: this node's zones, highest first
            continue
        assert sorted(zl.zones) == sorted(populated) and len(set(zl.zones)) == len(zl.zones)
        if "order=zone" not in inp.cmdline:  # Node order: the local zones come first
            assert zl.zones[: len(local)] == local
            nodes = list(dict.fromkeys(node for node, _ in zl.zones))
            dist = [inp.node_distance[zl.node][m] for m in nodes]
            assert dist == sorted(dist)  # then nodes by distance


def zone_of_node(snap: Snapshot, nid: int) -> list[Zone]:
    return next(n for n in snap.nodes if n.node_id == nid).zones
