"""Live buddy state through drgn on real kernels: agreement with the guest's /proc files and with
peer tools (drgn's own ``crash kmem -f`` port, the ``crash`` utility on our ELF core), the
invariants on every (version, arch), and proof that each invariant check can fail (on a corrupted
COPY of guest memory, never the guest)."""

from __future__ import annotations

import contextlib
import itertools
import re
import shutil
import struct
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import drgn
import pytest
from drgn.helpers.linux.mm import follow_phys
from drgn.helpers.linux.percpu import per_cpu_ptr

from inspector.arch import get_arch
from inspector.errors import InspectorError
from inspector.kernel.build import build
from inspector.live.buddy import BuddyDump, dump
from inspector.live.crash import CrashAborted, drgn_kmem, parse_kmem_free, run_crash
from inspector.live.direct import live_page_cache
from inspector.live.invariants import CHECKS, check, check_state
from inspector.live.lists import ListWalk
from inspector.live.program import LiveKernel, open_live
from inspector.live.ram import RamPiece
from inspector.live.sections import sections
from inspector.live.session import SHM, LiveGuest, live_guest
from inspector.live.state import kernel_consts, read_state
from inspector.live.vmcore import write_vmcore
from inspector.procfs import parse_blockcounts, parse_buddyinfo, parse_pagetypeinfo
from inspector.pytest_plugin import Target, mmi_targets
from inspector.vm.guest import BootRequest
from inspector.vm.topology import parse_topology

pytestmark = pytest.mark.vm

# Read with the shell's builtins, not cat: no process is forked and exits (its freed stack and
# page tables would move order-0/1 pages between the read and the pause)
READ_PROC = (
    "for f in /proc/buddyinfo /proc/pagetypeinfo; do "
    'while IFS= read -r l; do echo "$l"; done < $f; done'
)
# Interleaved 64 KiB files on the initramfs (ramfs), every other one deleted: free lists fill up.
FRAGMENT = (
    "i=0; while [ $i -lt 300 ]; do dd if=/dev/zero of=/frag$i bs=4k count=16 2>/dev/null; "
    "i=$((i+1)); done; rm -f /frag*[02468]; sync"
)


@contextlib.contextmanager
def _live(
    target: Target, tmp_path: Path, mem: str | None = "1G", smp: int = 1, numa: str | None = None
) -> Iterator[LiveGuest]:
    req = BootRequest(target.version, target.arch, parse_topology(mem, smp, numa, None))
    run_dir = tmp_path / f"run-{target}-{(numa or mem or '').replace(',', '+')}"
    run_dir.mkdir()
    with live_guest(req, run_dir, quiet=True) as lg:
        yield lg


@contextlib.contextmanager
def _paused(lg: LiveGuest) -> Iterator[None]:
    lg.pause()
    try:
        yield
    finally:
        lg.resume()


def _proc_diff(out: str, d: BuddyDump) -> list[str]:
    """What differs between the /proc text and the dump (empty: they agree exactly)."""
    diffs = []
    buddyinfo = out.split("Page block order")[0]  # pagetypeinfo's block counts look alike
    proc_bi, dump_bi = parse_buddyinfo(buddyinfo), d.buddyinfo()
    diffs += [
        f"buddyinfo {k}: /proc {proc_bi.get(k)} dump {dump_bi.get(k)}"
        for k in proc_bi.keys() | dump_bi.keys()
        if proc_bi.get(k) != dump_bi.get(k)
    ]
    for m in re.finditer(r"Page block order: (\d+)", out):
        if int(m.group(1)) != d.snapshot.globals["pageblock_order"]:
            diffs.append(f"pageblock_order: /proc {m.group(1)} dump {d.snapshot.globals}")
    proc_bc, dump_bc = parse_blockcounts(out), d.pageblock_counts()
    diffs += [
        f"pageblocks {k}: /proc {proc_bc.get(k)} dump {dump_bc.get(k)}"
        for k in proc_bc.keys() | dump_bc.keys()
        if proc_bc.get(k) != dump_bc.get(k)
    ]
    proc_pt, dump_pt = parse_pagetypeinfo(out), d.pagetypeinfo()
    diffs += [
        f"pagetypeinfo {k}: /proc {proc_pt.get(k)} dump {dump_pt.get(k)}"
        for k in proc_pt.keys() | dump_pt.keys()
        if proc_pt.get(k) != dump_pt.get(k)
    ]
    return diffs


def _agree_with_proc(lg: LiveGuest, attempts: int = 40) -> list[list[str]]:
    """Read /proc, pause at once, dump; again while something moved, until they agree (the
    event this waits for; no sleep). The guest runs between its read and the pause, and a
    vmstat drain of a per-cpu list can land there: each attempt is independent, so forty in a
    row that all disagree mean a real difference. Returns what moved on the attempts that did
    not agree."""
    lg.guest.run(READ_PROC)  # the first read grows seq_file and tty buffers: warm them up
    moved: list[list[str]] = []
    for _ in range(attempts):
        out = lg.guest.run(READ_PROC)
        with _paused(lg):
            d = dump(lg.lk)
        diff = _proc_diff(out, d)
        if not diff:
            return moved
        moved.append(diff)
    pytest.fail(
        "the dump never agreed with /proc; what moved on each attempt:\n"
        + "\n".join("; ".join(m) for m in moved)
    )


def _drgn_kmem_agrees(lk: LiveKernel, d: BuddyDump) -> None:
    """drgn's own port of crash's ``kmem -f`` counts the same lists the same way."""
    peer = parse_kmem_free(drgn_kmem(lk.prog, "-f"))
    populated = [z for z in peer.zones if z.size and (z.node, z.name) in d.buddyinfo()]
    assert {(z.node, z.name) for z in populated} == set(d.buddyinfo())
    pt = d.pagetypeinfo()
    for z in populated:
        for (order, mt), blocks in z.counts.items():
            assert pt[(z.node, z.name, d.migratetypes[mt])][order] == blocks, (z.name, order, mt)
    # kmem -f compares the lists with the global counter, which lacks the per-cpu diffs
    in_lists = sum(t.free_list_pages for t in d.totals)
    assert (peer.found if peer.found is not None else peer.nr_free_pages) == in_lists
    assert peer.nr_free_pages == d.snapshot.globals["nr_free_pages"]


# ---------------------------------------------------------------------------------------------
# agreement with /proc, drgn's kmem -f, and the invariants, on every (version, arch)


@pytest.mark.parametrize("target", mmi_targets())
def test_dump_agrees_with_proc_and_invariants_hold(target: Target, tmp_path: Path) -> None:
    with _live(target, tmp_path, smp=2) as lg:
        moved = _agree_with_proc(lg)
        # Between the shell's read of /proc and QMP "stop" the shell and console keep running:
        # a few order-0/1 pages move (pcp drains, freed kernel stacks). Name them if they did.
        if moved:
            print(f"{target}: agreed after {len(moved)} retries; moved: {moved}", file=sys.stderr)
        with _paused(lg):
            assert check(lg.lk) == []
            d = dump(lg.lk)
            _drgn_kmem_agrees(lg.lk, d)
        for t in d.totals:  # per-cpu pages are outside NR_FREE_PAGES in both versions
            assert t.free_list_pages == t.nr_free_pages_snapshot
        lg.guest.run(FRAGMENT, timeout=300)
        with _paused(lg):
            assert check(lg.lk) == []
            fragmented = dump(lg.lk, blocks=True)
        assert fragmented.blocks is not None
        print(f"{target}: {len(fragmented.blocks)} free blocks after fragmenting", file=sys.stderr)
        assert len(fragmented.blocks) == sum(sum(c) for c in fragmented.buddyinfo().values())
        with _paused(lg):  # the memmap scan finds the lists the walk finds, entry by entry
            _, walked = read_state(lg.lk.prog, lg.lk.config)
            # … with the memmap read in place through the guest's page tables, byte for byte
            # what drgn reads
            cache = live_page_cache(lg.lk, kernel_consts(lg.lk.prog, lg.lk.config))
            assert cache.direct is not None
            for nr, sec in cache.sections.items():
                if sec.has_mem_map:
                    at = cache.vmemmap + nr * cache.section_bytes
                    pieces = cache.pieces(nr)
                    assert all(isinstance(c, memoryview) for _, c in pieces)  # the RAM file's
                    whole = b"".join(c for _, c in pieces)
                    assert whole == lg.lk.prog.read(at, cache.section_bytes), nr
                    assert bytes(cache.chunk(nr) or b"") == whole
            _, scanned = read_state(lg.lk.prog, lg.lk.config, cache, scan=True)
        entries = [
            [list(map(int, w.nodes)) for o in z.free_lists for w in o]
            for n in walked
            for z in n.zones
        ]
        assert entries == [
            [list(map(int, w.nodes)) for o in z.free_lists for w in o]
            for n in scanned
            for z in n.zones
        ]
        assert lg.lk.vmcoreinfo.source == (
            "derived from vmlinux and guest memory"
            if (target.version.name, target.arch.name) == ("4.7", "arm64")
            else "guest vmcoreinfo_data"
        )


@pytest.mark.parametrize("target", mmi_targets(arches=("x86_64", "arm64")))
def test_numa_nodes_each_agree(target: Target, tmp_path: Path) -> None:
    """Two nodes, each in its own RAM file: both appear, agree with /proc, pass the checks."""
    with _live(target, tmp_path, mem=None, smp=2, numa="512M,512M") as lg:
        _agree_with_proc(lg)
        with _paused(lg):
            d = dump(lg.lk)
            assert check(lg.lk) == []
        assert {n.node_id for n in d.snapshot.nodes} == {0, 1}


@pytest.mark.parametrize("target", mmi_targets())
def test_derived_vmcoreinfo_reads_the_same(target: Target, tmp_path: Path) -> None:
    """VMCOREINFO built from the vmlinux and guest memory gives the same dump as the guest's
    (4.7; 6.12 always exports its own, and its mem_section roots are not derivable)."""
    with _live(target, tmp_path) as lg, _paused(lg):
        own = dump(lg.lk)
        if target.version.name != "4.7":
            with pytest.raises(InspectorError, match="CONFIG_VMCORE_INFO"):
                open_live(lg.pieces, lg.guest.kernel.vmlinux, derive_vmcoreinfo=True)
            return
        with open_live(lg.pieces, lg.guest.kernel.vmlinux, derive_vmcoreinfo=True) as derived:
            assert derived.vmcoreinfo.source == "derived from vmlinux and guest memory"
            assert dump(derived).buddyinfo() == own.buddyinfo()


# ---------------------------------------------------------------------------------------------
# peers on an ELF core: crash's kmem -f / -F (x86_64: Debian's crash reads host-arch dumps) and
# stock drgn


def _drgn_cli_nr_free(core: Path, vmlinux: Path) -> dict[str, list[int]]:
    script = (
        "from drgn.helpers.linux.mmzone import for_each_online_pgdat\n"
        "for p in for_each_online_pgdat(prog):\n"
        "    for z in p.node_zones:\n"
        "        if z.present_pages:\n"
        "            print(z.name.string_().decode(), *[int(a.nr_free) for a in z.free_area])\n"
    )
    drgn = Path(sys.executable).with_name("drgn")
    proc = subprocess.run(
        [str(drgn), "-q", "-c", str(core), "-s", str(vmlinux), "-e", script],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return {ln.split()[0]: [int(x) for x in ln.split()[1:]] for ln in proc.stdout.splitlines()}


@pytest.mark.skipif(shutil.which("crash") is None, reason="crash is not installed")
@pytest.mark.parametrize("target", mmi_targets(arches=("x86_64",)))
def test_dump_matches_crash_on_core(target: Target, tmp_path: Path) -> None:
    with _live(target, tmp_path) as lg:
        lg.guest.run(FRAGMENT, timeout=300)
        lg.pause()
        d = dump(lg.lk, blocks=True)
        core = tmp_path / "vmcore"
        write_vmcore(lg.lk, core)
        vmlinux = lg.guest.kernel.vmlinux
        vmemmap, sizeof_page = (
            read_state(lg.lk.prog)[0].vmemmap,
            lg.lk.prog.type("struct page").size,
        )
    try:
        aborted: list[str] = []
        for _ in range(3):  # crash's own heap corruption does not repeat itself run to run
            try:
                raw = run_crash(vmlinux, core, ["kmem -f"])
                counts = parse_kmem_free(raw)
                pages = parse_kmem_free(run_crash(vmlinux, core, ["kmem -F"]))
                if not counts.zones:
                    raise CrashAborted(f"crash printed no zone: {raw.strip()[-300:]!r}")
                break
            except CrashAborted as e:
                # crash 8.0.2 is reliable on 4.7 cores; on 6.12 it sometimes dies of its own
                # heap corruption (stock drgn on the same core: test_stock_drgn_opens_our_core)
                if target.version.name == "4.7":
                    raise
                aborted.append(str(e))
        else:
            pytest.skip(f"peer tool failed three times, not the dump: {aborted[-1]}")
        pt = d.pagetypeinfo()
        zones = {z.name: z for z in counts.zones if z.size}
        assert set(zones) == {name for _, name in d.buddyinfo()}
        for z in zones.values():
            for (order, mt), n in z.counts.items():
                assert pt[(0, z.name, d.migratetypes[mt])][order] == n, (z.name, order, mt)
        assert counts.found in (None, sum(t.free_list_pages for t in d.totals))
        assert counts.nr_free_pages == d.snapshot.globals["nr_free_pages"]
        assert sizeof_page is not None
        crash_blocks = {
            ((addr - vmemmap) // sizeof_page, order, d.migratetypes[mt])
            for z in pages.zones
            for (order, mt), addrs in z.pages.items()
            for addr in addrs
        }
        if target.version.name == "4.7":  # crash 8.0.2's kmem -F lists no pages on 6.12
            assert crash_blocks == {(b.pfn, b.order, b.migratetype) for b in d.blocks or []}
    finally:
        core.unlink(missing_ok=True)


@pytest.mark.parametrize("target", mmi_targets())
def test_stock_drgn_opens_our_core(target: Target, tmp_path: Path) -> None:
    """``drgn -c vmcore -s vmlinux`` reads the zones of our ELF core through its VMCOREINFO
    note, 4.7 arm64 (derived note) included."""
    with _live(target, tmp_path) as lg:
        lg.pause()
        d = dump(lg.lk)
        core = tmp_path / "vmcore"
        write_vmcore(lg.lk, core)
        vmlinux = lg.guest.kernel.vmlinux
    try:
        assert _drgn_cli_nr_free(core, vmlinux) == {
            name: counts for (_, name), counts in d.buddyinfo().items()
        }
    finally:
        core.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# every check can fail: corrupt a COPY of guest memory


@dataclass
class RamCopy:
    """Copies of the guest's RAM files; ``write`` patches them by guest-physical address."""

    pieces: list[RamPiece]
    undo: list[tuple[int, bytes]] = field(default_factory=list)

    @classmethod
    def of(cls, pieces: list[RamPiece], dest: Path) -> RamCopy:
        files: dict[Path, Path] = {}
        for p in pieces:
            if p.file not in files:
                files[p.file] = dest / f"{dest.name}-{len(files)}.ram"
                shutil.copyfile(p.file, files[p.file])
        return cls([RamPiece(p.phys, files[p.file], p.offset, p.size) for p in pieces])

    def _locate(self, phys: int) -> tuple[Path, int]:
        for p in self.pieces:
            if p.phys <= phys < p.phys + p.size:
                return p.file, p.offset + phys - p.phys
        raise AssertionError(f"{phys:#x} is not RAM")

    def write(self, phys: int, data: bytes) -> None:
        path, off = self._locate(phys)
        with path.open("r+b") as f:
            f.seek(off)
            self.undo.append((phys, f.read(len(data))))
            f.seek(off)
            f.write(data)

    def restore(self) -> None:
        while self.undo:
            phys, data = self.undo.pop()
            path, off = self._locate(phys)
            with path.open("r+b") as f:
                f.seek(off)
                f.write(data)

    def remove(self) -> None:
        for f in {p.file for p in self.pieces}:
            f.unlink(missing_ok=True)


class Corruptor:
    """Writes through kernel virtual addresses (translated by drgn on the clean copy)."""

    def __init__(self, lk: LiveKernel, ram: RamCopy) -> None:
        self.lk, self.ram = lk, ram
        self.k, nodes = read_state(lk.prog, lk.config)
        self.zone = max((z for n in nodes for z in n.zones), key=lambda z: z.present_pages)
        self.init_mm = lk.prog["init_mm"].address_of_()

    def phys(self, va: int) -> int:
        return follow_phys(self.init_mm, va).value_()

    def u64(self, va: int, value: int) -> None:
        self.ram.write(self.phys(va), struct.pack("<Q", value & (1 << 64) - 1))

    def u32(self, va: int, value: int) -> None:
        self.ram.write(self.phys(va), struct.pack("<I", value & 0xFFFFFFFF))

    def read_u64(self, va: int) -> int:
        return self.lk.prog.read_u64(va)

    def page(self, pfn: int) -> int:
        return self.k.vmemmap + pfn * self.k.sizeof_page

    def pfn(self, list_node: int) -> int:
        return (list_node - self.k.lru_offset - self.k.vmemmap) // self.k.sizeof_page

    def node(self, pfn: int) -> int:
        return self.page(pfn) + self.k.lru_offset

    def set_list(self, head: int, nodes: list[int]) -> None:
        ring = [head, *nodes, head]
        for a, b in itertools.pairwise(ring):
            self.u64(a, b)  # a->next = b
            self.u64(b + 8, a)  # b->prev = a

    def mark_buddy(self, pfn: int, order: int) -> None:
        k = self.k
        # a word that reads as buddy: the mask's bits as the kernel sets them, the rest set
        value = k.buddy_value | (~k.buddy_mask & 0xFFFFFFFF)
        self.u32(self.page(pfn) + k.mapcount_offset, value)
        self.u64(self.page(pfn) + k.private_offset, order)

    def free_area(self, order: int) -> int:
        zone = drgn.Object(self.lk.prog, "struct zone", address=self.zone.address)
        return zone.free_area[order].address_  # type: ignore[return-value]

    def add_nr_free(self, order: int, delta: int) -> None:
        va = self.free_area(order) + self.lk.prog.type("struct free_area").member("nr_free").offset
        self.u64(va, self.read_u64(va) + delta)

    def add_free_pages(self, delta: int) -> None:
        zone = drgn.Object(self.lk.prog, "struct zone", address=self.zone.address)
        va = zone.vm_stat[self.k.nr_free_pages_item].address_
        assert va is not None
        self.u64(va, self.read_u64(va) + delta)

    def list_with(self, pred: object) -> tuple[int, int, ListWalk]:
        """(order, migratetype, walk) of the first free list whose walk satisfies ``pred``."""
        for order, by_mt in enumerate(self.zone.free_lists):
            for mt, w in enumerate(by_mt):
                if pred(order, w):  # type: ignore[operator]
                    return order, mt, w
        raise AssertionError("no free list fits this corruption: fragment the guest more")


def _corrupt(c: Corruptor, name: str) -> int | None:
    """Apply the corruption that must trip check ``name``; return the pfn it must name."""
    k, z = c.k, c.zone
    if name == "list":  # second entry points back to the first: a cycle missing the head
        _, _, w = c.list_with(lambda o, w: len(w.nodes) >= 2)
        c.u64(w.nodes[1], w.nodes[0])
        return c.pfn(w.nodes[0])
    if name == "aligned":  # an order ≥ 1 block replaced by its second page
        order, _, w = c.list_with(lambda o, w: o >= 1 and w.nodes)
        bad = c.pfn(w.nodes[0]) + 1
        c.mark_buddy(bad, order)
        c.set_list(w.head, [c.node(bad), *w.nodes[1:]])
        return bad
    if name == "in_zone":  # the zone shrinks to end where its highest free block starts
        top = max(c.pfn(n) for by_mt in z.free_lists for w in by_mt for n in w.nodes)
        zone = drgn.Object(c.lk.prog, "struct zone", address=z.address)
        va = zone.spanned_pages.address_
        assert va is not None
        c.u64(va, top - z.zone_start_pfn)
        return top
    if name == "present":  # the section of a free block loses SECTION_MARKED_PRESENT
        _, _, w = c.list_with(lambda o, w: w.nodes)
        pfn = c.pfn(w.nodes[0])
        shift = (c.lk.prog["SECTION_SIZE_BITS"] - c.lk.prog["PAGE_SHIFT"]).value_()
        nr = pfn >> shift
        assert nr in sections(c.lk.prog)
        section = c.lk.prog["mem_section"]
        per_root = c.lk.prog["SECTIONS_PER_ROOT"].value_()
        root = section[nr // per_root]
        va = root.value_() + (nr % per_root) * c.lk.prog.type("struct mem_section").size
        c.u64(va, c.read_u64(va) & ~1)
        return pfn
    if name == "buddy_mark":
        _, _, w = c.list_with(lambda o, w: w.nodes)
        pfn = c.pfn(w.nodes[0])
        c.u32(c.page(pfn) + k.mapcount_offset, 0xFFFFFFFF)
        return pfn
    if name == "buddy_order":
        order, _, w = c.list_with(lambda o, w: w.nodes)
        pfn = c.pfn(w.nodes[0])
        c.u64(c.page(pfn) + k.private_offset, order + 1)
        return pfn
    if name == "unmerged":  # a free block split into two free buddies one order down
        order, mt, whole = c.list_with(lambda o, w: 1 <= o <= k.max_order - 2 and w.nodes)
        pfn, half = c.pfn(whole.nodes[0]), 1 << (order - 1)
        lower = z.free_lists[order - 1][mt]
        c.set_list(whole.head, whole.nodes[1:])
        c.mark_buddy(pfn, order - 1)
        c.mark_buddy(pfn + half, order - 1)
        c.set_list(lower.head, [*lower.nodes, c.node(pfn), c.node(pfn + half)])
        c.add_nr_free(order, -1)
        c.add_nr_free(order - 1, 2)
        return pfn
    if name == "overlap":  # a page inside an order ≥ 2 free block also listed at order 0
        _, _, big = c.list_with(lambda o, w: o >= 2 and w.nodes)
        inner = c.pfn(big.nodes[0]) + 2
        w0 = z.free_lists[0][0]
        c.mark_buddy(inner, 0)
        c.set_list(w0.head, [*w0.nodes, c.node(inner)])
        c.add_nr_free(0, 1)
        c.add_free_pages(1)
        return inner
    if name == "nr_free":
        c.add_nr_free(3, 1)
        return None
    if name == "nr_free_pages":
        c.add_free_pages(1)
        return None
    if name == "pcp_count":
        pcp = next(p for p in z.pcp)
        zone = drgn.Object(c.lk.prog, "struct zone", address=z.address)
        try:
            ptr = per_cpu_ptr(zone.per_cpu_pageset, pcp.cpu)
        except AttributeError:
            ptr = per_cpu_ptr(zone.pageset, pcp.cpu).pcp.address_of_()
        va = ptr.count.address_
        assert va is not None
        c.u32(va, pcp.count + 1)
        return None
    raise AssertionError(f"no corruption for check {name}")


@pytest.mark.parametrize("target", mmi_targets())
def test_each_check_fails_on_corrupted_copy(target: Target, tmp_path: Path) -> None:
    dest = Path(SHM) if SHM.is_dir() else tmp_path
    copy_dir = dest / f"mmi-copy-{tmp_path.name}"
    copy_dir.mkdir()
    try:
        with _live(target, tmp_path) as lg:
            lg.guest.run(FRAGMENT, timeout=300)
            lg.pause()
            ram = RamCopy.of(lg.pieces, copy_dir)
            vmlinux = lg.guest.kernel.vmlinux
        # the guest is gone: everything below reads and writes the copy only
        with open_live(ram.pieces, vmlinux) as clean:
            assert check(clean) == []
            corruptor = Corruptor(clean, ram)
            for name in CHECKS:
                expected_pfn = _corrupt(corruptor, name)
                found = {}
                with open_live(ram.pieces, vmlinux) as bad:
                    for how in ("walk", "scan"):  # the list walk and the memmap scan alike
                        k, nodes = read_state(bad.prog, bad.config, scan=how == "scan")
                        found[how] = check_state(bad, k, nodes)
                ram.restore()
                for how, vs in found.items():
                    hits = [v for v in vs if v.check == name]
                    assert hits, f"{name} ({how}): not detected; found {[str(v) for v in vs]}"
                    if expected_pfn is not None:
                        pfns = {v.pfn for v in hits}
                        assert expected_pfn in pfns, (name, how, [str(v) for v in hits])
            with open_live(ram.pieces, vmlinux) as again:
                assert check(again) == []  # restored
    finally:
        shutil.rmtree(copy_dir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# failures are one line naming the fix


@pytest.mark.parametrize("target", mmi_targets(versions=("4.7",), arches=("x86_64",)))
def test_wrong_or_stripped_vmlinux_is_one_line(target: Target, tmp_path: Path) -> None:
    with _live(target, tmp_path) as lg, _paused(lg):
        wrong = build(target.version, get_arch("arm64"), quiet=True).vmlinux
        with pytest.raises(InspectorError, match="not the kernel this guest booted"):
            open_live(lg.pieces, wrong)
        stripped = tmp_path / "vmlinux.stripped"
        subprocess.run(
            ["objcopy", "--strip-debug", str(lg.guest.kernel.vmlinux), str(stripped)], check=True
        )
        with pytest.raises(InspectorError, match="debug info") as err:
            open_live(lg.pieces, stripped)
        assert "\n" not in str(err.value)


def test_a_ram_files_data_extents_are_where_the_guest_wrote(tmp_path):
    """vmcore reads only a RAM file's data extents (SEEK_DATA/SEEK_HOLE): reading a memfd's
    holes through its mapping would allocate them."""
    import os

    from inspector.live.ram import GuestRam, RamPiece

    fd = os.memfd_create("mmi-test-ram")
    try:
        size = 64 << 20
        os.ftruncate(fd, size)
        for at in (0, 5 << 20, (5 << 20) + 4096, size - 4096):
            os.pwrite(fd, b"x", at)
        ram = GuestRam(
            [RamPiece(0x1000_0000, Path(f"/proc/self/fd/{fd}"), 1 << 20, size - (1 << 20))]
        )
        extents = ram.data_extents(0)
        # pages written: one at 4 MiB into the piece (5 MiB in the file, two pages), the last
        assert extents == [
            ((4 << 20), (4 << 20) + 8192),
            (size - (1 << 20) - 4096, size - (1 << 20)),
        ]
    finally:
        os.close(fd)
