"""gdb stops on real kernels: the captured structures agree with the guest's own view.

Oracles nobody here wrote: the guest's /proc/zoneinfo and /proc/buddyinfo, and 4.7's own boot
log (``On node N totalpages``, ``<zone> zone: N pages used for memmap``, ``LIFO batch``). One
inspection per (kernel, topology) is shared by the tests of this module.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from inspector.capture.plan import plan_for
from inspector.capture.readers import Reader
from inspector.capture.run import (
    Inspection,
    facts_for,
    inspect,
    paused_session,
    save_guest_file,
)
from inspector.capture.stops import Capture
from inspector.debug.layout import View, layout_for
from inspector.errors import InspectorError
from inspector.kernel import source
from inspector.kernel.build import build
from inspector.kernel.source import get_version
from inspector.procfs import parse_buddyinfo, parse_zoneinfo
from inspector.pytest_plugin import Target, mmi_targets
from inspector.schema import MIGRATETYPES, KernelId, Snapshot
from inspector.vm.guest import BootRequest
from inspector.vm.topology import parse_topology

MOVABLE = MIGRATETYPES.index("Movable")
TOPOLOGIES = {
    "1node-1G": {"mem": "1G"},
    "2nodes-uneven": {"numa": "768M,256M", "smp": 2},
    "memoryless-node": {"numa": "1G,0", "smp": 2},
    # RAM beyond 4 GiB physical: x86_64 DMA32 → Normal (PCI hole at 3 GiB), arm64 DMA → Normal
    "crosses-4G": {"mem": "4G", "smp": 2},
    "memmap-hole": {"mem": "1G", "append": ("memmap=64M$256M",)},
}
TARGETS = mmi_targets(arches=("x86_64", "arm64"))
_runs: dict[tuple[str, str], Inspection] = {}


def _request(target: Target, topo: dict[str, object], timeout: float = 120.0) -> BootRequest:
    t = parse_topology(topo.get("mem"), topo.get("smp"), topo.get("numa"))  # type: ignore[arg-type]
    append: tuple[str, ...] = topo.get("append", ())  # type: ignore[assignment]
    return BootRequest(target.version, target.arch, t, append=append, timeout=timeout)


@pytest.fixture(scope="module", params=list(TOPOLOGIES))
def topo_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def run(target: Target, topo_name: str, tmp_path_factory: pytest.TempPathFactory) -> Inspection:
    key = (str(target), topo_name)
    if key not in _runs:
        run_dir = tmp_path_factory.mktemp(f"inspect-{target}-{topo_name}")
        _runs[key] = inspect(_request(target, TOPOLOGIES[topo_name]), run_dir, quiet=True)
    return _runs[key]


def _last(run: Inspection, *names: str) -> Snapshot:
    for name in names:
        if snaps := run.by_stop(name):
            return snaps[-1]
    raise AssertionError(f"no snapshot for {names}")


def _zonelists_stop(run: Inspection) -> Snapshot:
    return _last(run, "build_all_zonelists")


def _buddy_stop(run: Inspection) -> Snapshot:
    return _last(run, "free_all_bootmem.return", "memblock_free_all.return")


def _populated(snap: Snapshot) -> list[tuple[int, str]]:
    return [(n.node_id, z.name) for n in snap.nodes for z in n.zones if z.present_pages]


each_target = pytest.mark.parametrize("target", TARGETS)


@pytest.mark.vm
@each_target
def test_every_stop_written_and_readable(run: Inspection) -> None:
    stops = [r.name for r in run.records]
    for name in ("build_all_zonelists", "init_per_zone_wmark_min"):
        assert name in stops
    assert stops[0] in ("free_area_init_nodes", "free_area_init")
    for rec in run.records:
        assert Snapshot.read(rec.path).stop == rec.name
    for name in ("zoneinfo.txt", "buddyinfo.txt", "pagetypeinfo.txt", "dmesg.txt", "summary.txt"):
        assert (run.run_dir / name).stat().st_size > 0
    inputs = run.snapshots[0].inputs
    assert inputs is not None and inputs.memblock.memory and inputs.max_zone_pfn
    assert "rdinit=/init" in inputs.cmdline


@pytest.mark.vm
@each_target
def test_sizes_agree_with_zoneinfo(run: Inspection) -> None:
    """spanned and present do not change after boot: capture == /proc/zoneinfo."""
    guest = {
        (z.node, z.name): z for z in parse_zoneinfo(run.guest_files["zoneinfo.txt"].read_text())
    }
    snap = _zonelists_stop(run)
    for node in snap.nodes:
        assert node.node_present_pages == sum(z.present_pages for z in node.zones)
        for z in node.zones:
            if z.present_pages:
                g = guest[(node.node_id, z.name)]
                assert (z.spanned_pages, z.present_pages) == (g.get("spanned"), g.get("present"))
                assert z.managed_pages is not None and z.managed_pages <= z.present_pages
    # each node once, in order, at free_area_init_core (6.12 visits offline memoryless nodes too)
    core = [s.nodes[0].node_id for s in run.by_stop("free_area_init_core")]
    assert core == sorted(set(core))
    assert {n.node_id for n in snap.nodes if n.node_present_pages} <= set(core)


@pytest.mark.vm
@each_target
def test_boot_log_lines(run: Inspection, target: Target) -> None:
    """4.7 prints its per-node, per-zone arithmetic: totalpages, memmap, LIFO batch."""
    if target.version.name != "4.7":
        pytest.skip("6.12 prints these lines only with pr_debug")
    dmesg = run.guest_files["dmesg.txt"].read_text()
    totals: dict[int, int] = {}
    memmap: dict[tuple[int, str], int] = {}
    lifo: dict[tuple[int, str], tuple[int, int]] = {}
    node = -1
    for line in dmesg.splitlines():
        if m := re.search(r"On node (\d+) totalpages: (\d+)", line):
            node = int(m.group(1))
            totals[node] = int(m.group(2))
        elif m := re.search(r"(\w+) zone: (\d+) pages used for memmap", line):
            memmap[(node, m.group(1))] = int(m.group(2))
        elif m := re.search(r"(\w+) zone: (\d+) pages, LIFO batch:(\d+)", line):
            lifo[(node, m.group(1))] = (int(m.group(2)), int(m.group(3)))
    snap = _zonelists_stop(run)
    assert totals == {n.node_id: sum(z.present_pages for z in n.zones) for n in snap.nodes}
    captured_memmap = {
        (s.nodes[0].node_id, z.name): z.memmap_pages
        for s in run.by_stop("memmap_init_zone")
        for z in s.nodes[0].zones
    }
    assert captured_memmap == memmap
    wm = _last(run, "init_per_zone_wmark_min")
    for n in wm.nodes:
        for z in n.zones:
            if z.present_pages:
                pages, batch = lifo[(n.node_id, z.name)]
                assert pages == z.present_pages
                assert z.pageset and all(p.batch == max(1, batch) for p in z.pageset)


@pytest.mark.vm
@each_target
def test_boot_log_totals(run: Inspection, target: Target) -> None:
    """Both versions print ``Built N zonelists`` and ``Memory: AK/BK available``: B is every
    present page; 4.7 prints A right after the hand-off, so A is every free page then."""
    dmesg = run.guest_files["dmesg.txt"].read_text()
    snap = _zonelists_stop(run)
    built = re.search(r"Built (\d+) zonelists.*Total pages: (\d+)", dmesg)
    assert built is not None and int(built.group(1)) == len(snap.nodes)
    memory = re.search(r"Memory: (\d+)K/(\d+)K available", dmesg)
    assert memory is not None
    present = sum(n.node_present_pages for n in snap.nodes)
    assert int(memory.group(2)) == present * 4
    if target.version.name == "4.7":
        assert int(built.group(2)) == snap.globals["vm_total_pages"]
        free = sum(z.nr_free_pages or 0 for n in _buddy_stop(run).nodes for z in n.zones)
        assert int(memory.group(1)) == free * 4


@pytest.mark.vm
@each_target
def test_pageblocks_movable_after_memmap_init(run: Inspection, target: Target) -> None:
    """memmap_init_zone marks every pageblock that starts inside the range it initialised and
    holds memory (pageblocks wholly in a hole without memmap, e.g. x86's PCI hole, are skipped
    by early_pfn_valid and keep 0)."""
    snaps = run.by_stop("memmap_init_zone") + run.by_stop("memmap_init_range")
    inputs = run.snapshots[0].inputs
    assert inputs is not None
    memory = [(r.base >> 12, (r.base + r.size) >> 12) for r in inputs.memblock.memory]

    def has_memory(block: int, order: int) -> bool:
        lo, hi = block << order, (block + 1) << order
        return any(lo < end and start < hi for start, end in memory)

    checked = 0
    for s in snaps:
        (z,) = s.nodes[0].zones
        order = run.snapshots[0].inputs.constants["pageblock_order"]  # type: ignore[union-attr]
        start = s.globals["arg.start_pfn"]
        end = start + s.globals["arg.size"]
        first = z.zone_start_pfn >> order
        assert z.pageblock_migratetypes is not None
        inside = [
            mt
            for i, mt in enumerate(z.pageblock_migratetypes)
            if start <= (first + i) << order < end and has_memory(first + i, order)
        ]
        # a range may hold no pageblock start (6.12: pfns 1-158 below the BIOS hole)
        assert inside or start >> order == (end - 1) >> order, (z.node, z.name, start)
        assert all(mt == MOVABLE for mt in inside), (z.node, z.name)
        checked += len(inside)
    assert checked


@pytest.mark.vm
@each_target
def test_free_lists_after_hand_off(run: Inspection) -> None:
    """nr_free per order == Σ list lengths; Σ nr_free·2^order == the zone's NR_FREE_PAGES."""
    snap = _buddy_stop(run)
    seen = 0
    for node in snap.nodes:
        for z in node.zones:
            if not z.present_pages:
                continue
            assert z.free_area is not None
            for fa in z.free_area:
                assert fa.free_list is not None
                assert fa.nr_free == sum(fa.free_list), (z.node, z.name, fa.order)
            assert sum(fa.nr_free << fa.order for fa in z.free_area) == z.nr_free_pages
            seen += 1
    assert seen == len(_populated(snap))
    assert snap.globals["totalram_pages"] == sum(
        z.managed_pages or 0 for n in snap.nodes for z in n.zones
    )


@pytest.mark.vm
@each_target
def test_zonelists_hold_each_populated_zone_once(run: Inspection) -> None:
    snap = _zonelists_stop(run)
    populated = sorted(_populated(snap))
    assert snap.zonelists
    for zl in snap.zonelists:
        if zl.kind == "fallback":
            assert sorted(zl.zones) == populated
        else:
            assert sorted(zl.zones) == sorted(p for p in populated if p[0] == zl.node)


@pytest.mark.vm
@each_target
def test_buddyinfo_zones_match(run: Inspection) -> None:
    buddy = parse_buddyinfo(run.guest_files["buddyinfo.txt"].read_text())
    assert set(buddy) == set(_populated(_zonelists_stop(run)))


@pytest.mark.vm
@each_target
@pytest.mark.parametrize("topo_name", ["1node-1G"], indirect=False)
def test_stop_timeout_is_one_line_and_cleans_up(
    target: Target, topo_name: str, tmp_path: Path
) -> None:
    req = _request(target, TOPOLOGIES[topo_name])
    with pytest.raises(InspectorError) as err:
        inspect(req, tmp_path, stop_timeout=0.01, quiet=True)  # far below any boot
    assert "not reached after" in str(err.value) and "\n" not in str(err.value)
    assert err.value.detail  # the console tail
    assert _live_children() == []  # QEMU and gdb are gone


def _live_children() -> list[str]:
    """Our child processes that are still running (not zombies), by command name."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, rest = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :]
        state, ppid = rest.split()[0], int(rest.split()[1])
        if ppid == os.getpid() and state != "Z":
            out.append(name)
    return out


@pytest.mark.vm
@each_target
@pytest.mark.parametrize("topo_name", ["1node-1G"])
def test_banner_check_refuses_another_vmlinux(
    target: Target, topo_name: str, tmp_path: Path
) -> None:
    """Offsets from the wrong vmlinux would be lies: the linux_banner check stops that."""
    other_version = "6.12" if target.version.name == "4.7" else "4.7"
    if why := source.available(get_version(other_version)):
        pytest.skip(why)
    other = build(get_version(other_version), target.arch, quiet=True)
    req = _request(target, TOPOLOGIES[topo_name])
    with paused_session(req, tmp_path, quiet=True) as ses:
        first = plan_for(target.version.name).stops[0].function
        ses.gdb.breakpoint(f"*{ses.layout.function_address(first):#x}", hardware=True)
        ses.gdb.cont(120, first)
        assert ses.reader().check_banner().startswith("Linux version")
        wrong = Reader(ses.gdb, layout_for(other.vmlinux, target.arch), ses.facts)
        with pytest.raises(InspectorError) as err:
            wrong.check_banner()
        assert "is not" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.vm
@each_target
def test_hot_returns_caught_off_their_pages(run: Inspection, target: Target) -> None:
    """The memmap loop runs with no breakpoint on its pages: each of its returns was caught by
    a read watchpoint or by a finish whose breakpoint lies elsewhere, never by a plain finish
    (inspector.debug.returns); and every stop read guest memory from the RAM file."""
    stops = plan_for(target.version.name).stops
    hot = [s.name for s in stops if s.hot]
    plain = [s.name for s in stops if s.on_return and not s.hot]
    hot_returns = sum(len(run.by_stop(name)) for name in hot)
    assert hot_returns >= 1
    assert run.returns.get("finish", 0) == len(plain)
    off_pages = run.returns.get("read watchpoint", 0) + run.returns.get("finish off its pages", 0)
    assert off_pages == hot_returns
    assert run.stub_bytes == 0 and run.ram_bytes > 10_000


@pytest.mark.vm
@each_target
def test_ram_file_reads_equal_the_stub(target: Target, tmp_path: Path) -> None:
    """At stop 1 and after the hand-off, what the capture reads from the RAM file through the
    guest's page tables (kernel image, direct map, vmemmap, per-cpu) is byte for byte what
    gdb's stub returns, and none of it went through the stub."""
    req = _request(target, TOPOLOGIES["2nodes-uneven"])
    plan = plan_for(target.version.name)
    with paused_session(req, tmp_path, quiet=True) as ses:
        assert ses.memory is not None
        stub, ram = Reader(ses.gdb, ses.layout, ses.facts), ses.reader()
        for stop in (plan.stops[0].function, plan.stops[4].function):
            bp = ses.gdb.breakpoint(f"*{ses.layout.function_address(stop):#x}", hardware=True)
            ses.memory.stopped()
            ses.gdb.cont(120, stop)
            ses.gdb.delete(bp.number)
            if stop == plan.stops[4].function:
                ses.gdb.finish(120, stop)  # the buddy allocator's free lists now exist
                ses.memory.stopped()
            before = ses.memory.stub_bytes
            assert ram.check_banner() == stub.check_banner()
            assert ram.memblock() == stub.memblock()
            for nid in stub.online_nodes():
                s_pgdat, r_pgdat = stub.read_pgdat(nid), ram.read_pgdat(nid)
                assert r_pgdat.data == s_pgdat.data
                assert ram.zones(r_pgdat) == stub.zones(s_pgdat)
                for z in stub.zones(s_pgdat):
                    if z.present_pages:
                        size = ses.layout.sizeof("struct page")
                        first = stub.pfn_to_page(z.zone_start_pfn)
                        n = min(z.spanned_pages, 4096)
                        assert ses.memory.read(first, n * size) == ses.gdb.read(first, n * size)
            for cpu, off in enumerate(stub.per_cpu_offset):  # each CPU's per-cpu area
                at = (ses.layout.address("__per_cpu_start") + off) & ((1 << 64) - 1)
                assert ses.memory.read(at, 256) == ses.gdb.read(at, 256), cpu
            assert ses.memory.stub_bytes == before
        assert ses.memory.file_bytes > 100_000


# -- no VM: decoding with the vmlinux's own DWARF ----------------------------------------------


@each_target
def test_view_decodes_members_by_designator(target: Target) -> None:
    """Bytes placed at DWARF offsets come back through View: nested arrays, atomics (signed)."""
    layout = layout_for(build(target.version, target.arch, quiet=True).vmlinux, target.arch)
    size = layout.sizeof("struct zone")
    data = bytearray(size)
    nr_free_pages = layout.enumerators("enum zone_stat_item")["NR_FREE_PAGES"]
    placed = {"spanned_pages": 123456, "free_area[3].nr_free": 7, "lowmem_reserve[1]": 42}
    for path, value in placed.items():
        off = layout.offsetof("struct zone", path)
        data[off : off + 8] = value.to_bytes(8, "little")
    off = layout.offsetof("struct zone", f"vm_stat[{nr_free_pages}]")
    data[off : off + 8] = (-5).to_bytes(8, "little", signed=True)
    zone = layout.view("struct zone", bytes(data), address=0x1000)
    for path, value in placed.items():
        assert zone[path] == value
    assert zone[f"vm_stat[{nr_free_pages}]"] == -5  # atomic_long_t: a signed counter
    max_nr_zones = layout.type("struct pglist_data").member("node_zones").type.length
    assert len(zone.array("lowmem_reserve")) == max_nr_zones
    area = zone.views("free_area")[3]
    assert area["nr_free"] == 7
    assert area.address == 0x1000 + layout.offsetof("struct zone", "free_area[3]")
    with pytest.raises(InspectorError, match="has no member"):
        zone["no_such_member"]


@each_target
def test_kernel_facts_from_config_and_dwarf(target: Target) -> None:
    """SPARSEMEM geometry: one usemap holds 4 bits per pageblock of a section."""
    b = build(target.version, target.arch, quiet=True)
    facts = facts_for(b, layout_for(b.vmlinux, target.arch))
    assert (facts.page_size, facts.nr_pageblock_bits, facts.pageblock_order) == (4096, 4, 10)
    blocks = 1 << (facts.pfn_section_shift - facts.pageblock_order)
    assert facts.usemap_bytes * 8 == blocks * 4
    assert facts.pageblock_bits_msb_first == (target.version.name == "4.7")
    # kept with the build: the second read comes from the file, and a stale file is replaced
    from inspector.capture.run import FACTS_FILE

    cached = b.dir / FACTS_FILE
    assert cached.exists()
    assert facts_for(b, layout_for(b.vmlinux, target.arch)) == facts
    cached.write_text('{"vmlinux_mtime_ns": 1, "facts": {}}')
    assert facts_for(b, layout_for(b.vmlinux, target.arch)) == facts
    assert '"vmlinux_mtime_ns": 1,' not in cached.read_text()


# -- no VM: readers and handlers on guest memory laid out by hand --------------------------------


class FakeGdb:
    """Guest memory without a guest: bytes placed by the test, zero elsewhere."""

    def __init__(self) -> None:
        self.mem: dict[int, int] = {}
        self.reads = 0

    def put(self, address: int, data: bytes) -> None:
        for i, b in enumerate(data):
            self.mem[address + i] = b

    def put_ulong(self, address: int, value: int) -> None:
        self.put(address, value.to_bytes(8, "little"))

    def read(self, address: int, size: int) -> bytes:
        self.reads += 1
        return bytes(self.mem.get(address + i, 0) for i in range(size))


HEAP = 0xFFFF_8880_0010_0000  # where the tests put the objects the kernel would allocate


def _fake_reader(target: Target) -> tuple[Reader, FakeGdb]:
    b = build(target.version, target.arch, quiet=True)
    layout = layout_for(b.vmlinux, target.arch)
    gdb = FakeGdb()
    return Reader(gdb, layout, facts_for(b, layout)), gdb  # type: ignore[arg-type]


def _put_section_root(r: Reader, gdb: FakeGdb, root_nr: int, root: int) -> None:
    """mem_section[root_nr] = root: 4.7 a static array of roots, 6.12 a pointer to one."""
    at = r.layout.address("mem_section")
    if r.layout.variable_type("mem_section").kind.name != "ARRAY":
        gdb.put_ulong(at, HEAP + 0x8000)
        at = HEAP + 0x8000
    gdb.put_ulong(at + 8 * root_nr, root)


def _put_usemap_movable(r: Reader, gdb: FakeGdb, nr: int, root: int, usemap: int) -> None:
    """Section ``nr`` valid (SECTION_HAS_MEM_MAP) with every pageblock MIGRATE_MOVABLE,
    encoded as set_pfnblock_flags_mask() does in each version."""
    size = r.layout.sizeof("struct mem_section")
    ms = root + nr % (r.facts.page_size // size) * size
    gdb.put_ulong(ms, HEAP + 0x40000 | 0x3)  # the memmap, SECTION_MARKED_PRESENT|HAS_MEM_MAP
    if r.layout.has_member("struct mem_section", "pageblock_flags"):  # 4.7
        gdb.put_ulong(ms + r.layout.offsetof("struct mem_section", "pageblock_flags"), usemap)
    else:  # 6.12: ms->usage->pageblock_flags
        usage = usemap - r.layout.offsetof("struct mem_section_usage", "pageblock_flags")
        gdb.put_ulong(ms + r.layout.offsetof("struct mem_section", "usage"), usage)
    f = r.facts
    words = [0] * (f.usemap_bytes // 8)
    for block in range(1 << (f.pfn_section_shift - f.pageblock_order)):
        bitidx = block * f.nr_pageblock_bits
        b = bitidx & 63
        shift = 64 - (b + 2) - 1 if f.pageblock_bits_msb_first else b  # PB_migrate_end = 2
        words[bitidx // 64] |= MOVABLE << shift
    gdb.put(usemap, b"".join(w.to_bytes(8, "little") for w in words))


@each_target
def test_pageblocks_of_a_section_without_memmap_read_as_unmovable(target: Target) -> None:
    """A zone spanning a hole (x86_64 with RAM above 4 GiB: the PCI hole) has sections with no
    memmap and no usemap; memmap_init_zone() skipped them, so their pageblocks read 0, as
    nothing set them (and as the model has them)."""
    r, gdb = _fake_reader(target)
    root = HEAP + 0x10000
    _put_section_root(r, gdb, 0, root)
    _put_usemap_movable(r, gdb, 0, root, HEAP + 0x20000)  # section 1 stays zeroed: a hole
    per_section = 1 << (r.facts.pfn_section_shift - r.facts.pageblock_order)
    pages = 2 << r.facts.pfn_section_shift
    assert r.pageblock_migratetypes(0, pages) == [MOVABLE] * per_section + [0] * per_section
    nr_in_null_root = r.facts.page_size // r.layout.sizeof("struct mem_section")
    assert r.mem_sections({1, nr_in_null_root}) == {1: None, nr_in_null_root: None}
    with pytest.raises(InspectorError, match="no memmap"):
        r.pfn_to_page(1 << r.facts.pfn_section_shift)


def _zone_view(r: Reader, gdb: FakeGdb, address: int, initialized: bool) -> View:
    """A struct zone at ``address``: every free list empty (pointing at itself) when the zone
    was initialised, else the zeroes it was allocated with."""
    t = "struct zone"
    if initialized:
        member = "wait_table" if r.layout.has_member(t, "wait_table") else "initialized"
        gdb.put_ulong(address + r.layout.offsetof(t, member), 1)
        for order in range(r.nr_orders):
            for mt in range(r.migrate_types):
                head = address + r.layout.offsetof(t, f"free_area[{order}].free_list[{mt}]")
                gdb.put_ulong(head, head)
    return r.struct_at(t, address)


@each_target
def test_free_lists_of_an_uninitialised_zone_are_not_walked(target: Target) -> None:
    """4.7 with ZONE_MOVABLE carved out of a lower zone: ZONE_NORMAL spans nothing, so
    init_currently_empty_zone() never ran for it, but its present_pages wrapped (populated):
    its zeroed list heads are not lists. They are reported empty, without a read."""
    r, gdb = _fake_reader(target)
    zone = _zone_view(r, gdb, HEAP, initialized=False)
    reads = gdb.reads
    areas = r.zone_free_area(zone)
    assert gdb.reads == reads
    empty = [0] * len(MIGRATETYPES)
    assert [(fa.nr_free, fa.free_list) for fa in areas] == [(0, empty)] * r.nr_orders


@each_target
def test_free_lists_of_an_initialised_zone_are_walked(target: Target) -> None:
    r, gdb = _fake_reader(target)
    head = HEAP + r.layout.offsetof("struct zone", f"free_area[3].free_list[{MOVABLE}]")
    _zone_view(r, gdb, HEAP, initialized=True)
    a, b = HEAP + 0x10000, HEAP + 0x20000  # two pages' lru on order 3's Movable list
    gdb.put_ulong(head, a)
    gdb.put_ulong(a, b)
    gdb.put_ulong(b, head)
    page = r.layout.sizeof("struct page")
    mem_map = a - r.layout.offsetof("struct page", "lru") - 8 * page  # a is pfn 8's lru
    areas = r.zone_free_area(r.struct_at("struct zone", HEAP), mem_map=mem_map)
    assert areas[3].free_list == [2 if mt == MOVABLE else 0 for mt in range(len(MIGRATETYPES))]
    assert all(sum(fa.free_list or []) == 0 for fa in areas if fa.order != 3)
    # the blocks by pfn, head first: page_to_pfn() of each entry's struct page
    assert areas[3].blocks is not None
    assert areas[3].blocks[MOVABLE] == [8, 8 + (b - a) // page]
    assert all(not any(fa.blocks or []) for fa in areas if fa.order != 3)
    with pytest.raises(InspectorError, match="no memmap"):
        r.zone_free_area(r.struct_at("struct zone", HEAP))


@each_target
def test_node_sizes_settled_at_the_next_stop(target: Target) -> None:
    """The inlined free_area_init_core stop may come before calculate_node_totalpages() has
    stored node_present_pages (4.7 arm64): ``settle`` re-reads the sizes at the next stop and
    keeps nr_zones as the stop saw it."""
    r, gdb = _fake_reader(target)
    pgdat = HEAP + 0x100000
    gdb.put_ulong(r.layout.address("node_data"), pgdat)
    n_online = r.layout.enumerators("enum node_states")["N_ONLINE"]
    states = r.var("node_states").sub(f"[{n_online}]").address
    gdb.put_ulong(states, 1)  # node 0 online
    pd = "struct pglist_data"

    def put(member: str, value: int) -> None:
        gdb.put_ulong(pgdat + r.layout.offsetof(pd, member), value)

    put("node_start_pfn", 0x40000)
    put("node_spanned_pages", 262144)
    put("node_zones[0].spanned_pages", 262144)
    cap = Capture(r, KernelId(target.version.name, "", target.arch.name), ())
    snap = cap.on_node_entry("free_area_init_core", 0, None)
    assert snap.nodes[0].node_present_pages == 0  # not stored yet
    put("node_present_pages", 262144)
    put("node_zones[0].present_pages", 262144)
    put("nr_zones", 1)  # init_currently_empty_zone(), after the stop
    assert cap.settle() == [snap]
    node = snap.nodes[0]
    assert (node.node_spanned_pages, node.node_present_pages, node.nr_zones) == (262144, 262144, 0)
    assert node.zones[0].present_pages == 262144
    assert cap.settle() == []


def test_guest_file_of_a_command_the_kernel_oopsed_is_kept(tmp_path: Path) -> None:
    out = Inspection(tmp_path, None)  # type: ignore[arg-type]
    oops = "[    1.33] BUG: unable to handle kernel NULL pointer dereference\n[    1.33] Oops: 0000"
    save_guest_file(out, "pagetypeinfo.txt", "cat /proc/pagetypeinfo", 137, oops)
    assert (tmp_path / "pagetypeinfo.txt").read_text() == oops
    assert "137" in out.guest_failures["pagetypeinfo.txt"]
    save_guest_file(out, "zoneinfo.txt", "cat /proc/zoneinfo", 0, "Node 0, zone DMA\n")
    assert "zoneinfo.txt" not in out.guest_failures
    with pytest.raises(InspectorError, match="exited 1"):
        save_guest_file(out, "dmesg.txt", "dmesg", 1, "dmesg: klogctl: Operation not permitted")
    # the oops reached the console while the shell still echoed the command (seen on 4.7
    # x86_64 with kernelcore= on 3 nodes): only "Killed" is between the output markers
    echoed = "cat /proc/pagetypeinfo\n[    1.09] Oops: 0000 [#1] SMP\n@@MMI-B@@\nKilled\n"
    save_guest_file(out, "pagetypeinfo2.txt", "cat /proc/pagetypeinfo", 137, "Killed\n", echoed)
    assert "pagetypeinfo2.txt" in out.guest_failures
    with pytest.raises(InspectorError, match="exited 137"):
        save_guest_file(out, "buddyinfo.txt", "cat /proc/buddyinfo", 137, "Killed\n", "Killed\n")


def test_a_stops_timeout_grows_with_a_server_guests_ram():
    """Under TCG the work between two stops grows with memory: the timeout is the base up to
    64 GiB, then in proportion (a 256 GiB guest's deferred struct pages took over 150 s)."""
    from inspector.capture.run import stop_timeout_for

    g = 1 << 30
    assert stop_timeout_for(120.0, 1 * g) == 120.0 == stop_timeout_for(120.0, 64 * g)
    assert stop_timeout_for(120.0, 256 * g) == 480.0
    assert stop_timeout_for(30.0, 1024 * g) == 480.0
