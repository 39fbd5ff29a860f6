"""``mm-inspector dmesg``: a boot log read as a real machine's (its firmware lines are the inputs,
its memory-init lines are judged). Held against logs the project's own guests print (real 4.7
and 6.12 kernels, an e820 map shaped by memmap=exactmap and two SRAT nodes), and minimal
hand-written logs for the reader's corner cases. No real machine's log is in this repository."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from inspector.bootlog.backports import explain_by_backports
from inspector.bootlog.judge import judge
from inspector.bootlog.read import parse, strip
from inspector.errors import InspectorError
from inspector.kernel_changes import BY_ID, first_release, landed
from inspector.pytest_plugin import mmi_targets

REPO = Path(__file__).resolve().parents[1]
MMI = [sys.executable, "-m", "inspector"]
# A laptop-like e820 map inside 1 GiB of guest RAM over two 512 MiB nodes: a hole under 1 MiB,
# a range that ends inside a page, one across the node boundary, a hole inside node 1 (the
# kernel at 16 MiB and QEMU's initrd at the top stay in usable ranges)
EXACTMAP = (
    "memmap=exactmap",
    "memmap=0x9f000@0",
    "memmap=0x7e00000@0x100000",
    "memmap=0x12c00800@0x8000000",
    "memmap=0xa000000@0x1b000000",
    "memmap=0x1a000000@0x26000000",
)


def _guest_log(target: object, mmi_boot: object, **topo: object) -> str:
    guest = mmi_boot(target, **topo)  # type: ignore[operator]
    return guest.run("dmesg", timeout=120)  # type: ignore[no-any-return]


@pytest.mark.vm
@pytest.mark.parametrize("target", mmi_targets(("4.7",), ("x86_64",)))
def test_a_4_7_guests_own_log_is_judged_equal(target, mmi_boot, tmp_path):
    """4.7's own log: every judged line equal, the node ranges derived from the e820 map and
    the SRAT (not read from the log's output), and every class of the sizing stage judged."""
    log = _guest_log(target, mmi_boot, numa="512M,512M", smp=2, append=EXACTMAP)
    path = tmp_path / "guest.dmesg"
    path.write_text(log)
    j = judge(parse(log, str(path)))
    assert j.differences == [], "\n".join(f"{r.printed} | {r.predicted}" for r in j.differences)
    counts = j.counts()
    for cls in (
        "zone ranges",
        "node ranges",
        "initmem setup",
        "node totalpages",
        "zone memmap",
        "zone LIFO batch",
        "zonelists",
        "policy zone",
        "memory total",
        "hash tables",
    ):
        assert counts.get(cls, (0, 0))[0] > 0, cls
    assert counts["node ranges"][0] >= 1 + 5  # the header and at least the five ranges
    assert not any(d.from_output for d in j.inputs if "memblock" in d.what)
    # the same through the command, as a user runs it
    proc = subprocess.run([*MMI, "dmesg", str(path)], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert "0 differ" in proc.stderr.strip().splitlines()[-1]
    # and each predicted number's chain ends in the log's firmware lines
    proc = subprocess.run(
        [*MMI, "dmesg", str(path), "--explain", "node1.DMA32.managed_pages"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    tree = proc.stdout
    assert tree.startswith("node[1].zone[DMA32].managed_pages = ")
    assert "memmap_pages" in tree and "<- log: e820 map and its edits: log line" in tree
    assert "SRAT memory affinities" in tree


@pytest.mark.vm
@pytest.mark.parametrize("target", mmi_targets(("4.7",), ("x86_64",)))
def test_a_changed_firmware_line_changes_the_judgement(target, mmi_boot, tmp_path):
    """The e820 map drives the prediction: shrink one usable range in the log's firmware map
    and the node ranges, totalpages and zone lines the model predicts no longer match."""
    log = _guest_log(target, mmi_boot, numa="512M,512M", smp=2, append=EXACTMAP)
    lines = log.splitlines()
    at = next(i for i, x in enumerate(lines) if "user: [mem 0x0000000026000000-" in x)
    lines[at] = lines[at].replace("0x000000003fffffff", "0x000000003effffff")
    j = judge(parse("\n".join(lines)))
    classes = {r.cls for r in j.differences}
    assert {"node ranges", "node totalpages"} <= classes, classes


@pytest.mark.vm
@pytest.mark.parametrize("target", mmi_targets(("6.12",), ("x86_64",)))
def test_a_6_12_guests_log_names_the_change_behind_each_difference(target, mmi_boot, tmp_path):
    """6.12's log, judged with 4.7's model taken forward by the change records: the per-node
    lines are pr_debug there (so not predicted), and every line that differs names at least one
    change record that touches it, or is counted as unexplained in the report."""
    log = _guest_log(target, mmi_boot, numa="512M,512M", smp=2, append=EXACTMAP)
    j = judge(parse(log))
    assert "init-lines-pr-debug" in landed(j.log.version)
    assert not any(r.cls == "node totalpages" for r in j.results)
    equal = [r for r in j.results if r.equal]
    assert {r.cls for r in equal} >= {"zone ranges", "node ranges", "initmem setup"}
    # from 6.10 managed pages are the present pages at build_all_zonelists() (change
    # "managed-equals-present"): Total pages needs no dma_reserve, so it is judged, and equal
    assert "managed-equals-present" in landed(j.log.version)
    assert "zonelists" not in j.not_judged
    built = [r for r in j.results if r.cls == "zonelists"]
    assert built and all(r.equal for r in built), [(r.printed, r.predicted) for r in built]
    # 5.16's "Fallback order for Node N" lines, one per node, judged and equal (two nodes: the
    # order does not depend on the distances the log does not print)
    fallback = [r for r in j.results if r.cls == "fallback order"]
    assert len(fallback) == 2 and all(r.equal for r in fallback)


def test_releases_decide_the_changes():
    assert first_release(BY_ID["pcp-batch-cap"]) == (4, 19)
    assert "pcp-batch-cap" not in landed((4, 18, 0))
    assert "pcp-batch-cap" in landed((4, 19, 0))
    assert "init-lines-pr-debug" in landed((5, 14, 0))
    assert "init-lines-pr-debug" not in landed((5, 13, 19))
    # 4.7 has the changes placed before 4.0 (the 3.x behaviours), none after
    assert landed((4, 7, 0)) == {
        "mem-ranges-018",
        "initmem-line-from-mm",
        "zonelist-default-node-order",
        "x86-dma32-limit-clamped",
        "mem-init-print-info",
        "mount-hash-sized",
    }


HEAD = "[    0.000000] Linux version 5.4.0-42-generic (gcc) #46 SMP x86_64\n"


def _log_with(tmp_path: Path, body: bytes) -> Path:
    p = tmp_path / "boot.log"
    p.write_bytes(body)
    return p


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"hello\nworld\n", "not a Linux boot log"),
        (b"[    3.1] Zone ranges:\n[    3.2] Memory: 1K/2K available\n", "ring buffer wrapped"),
        (
            HEAD.encode() + b"[    0.0] BIOS-e820: [mem 0x0-0x9ffff] usable\n",
            "before 'Zone ranges:'",
        ),
        (
            b"[    0.0] Linux version 4.19.0-6-686-pae (gcc) #1 SMP i686\n"
            b"[    0.0] BIOS-e820: [mem 0x0-0x9ffff] usable\n[    0.0] Zone ranges:\n",
            "i686 kernel",
        ),
    ],
    ids=["not-a-log", "wrapped", "cut-before-zone-ranges", "32-bit"],
)
def test_bad_logs_are_one_line(tmp_path, body, needle):
    proc = subprocess.run(
        [*MMI, "dmesg", str(_log_with(tmp_path, body))], capture_output=True, text=True, cwd=REPO
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("mm-inspector: error: ") and needle in last, last


def test_prefixes_and_bytes_a_real_log_carries():
    """journalctl's prefix, syslog levels, dmesg -T stamps and non-UTF-8 bytes."""
    assert strip("Dec 07 03:32:18 host kernel: Zone ranges:") == "Zone ranges:"
    assert strip("<6>[    0.000000] Zone ranges:") == "Zone ranges:"
    assert strip("[Mon Dec  7 03:32:18 2026] Zone ranges:") == "Zone ranges:"
    assert strip("kern  :info  : [    0.000000] Zone ranges:") == "Zone ranges:"
    raw = (HEAD + "[    0.000000] Command line: x=\xff\n").encode("latin-1")
    raw += b"[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000003fffffff] usable\n"
    raw += b"[    0.000000] Zone ranges:\n"
    log = parse(raw.decode("utf-8", errors="replace"))
    assert log.release == "5.4.0-42-generic" and log.arch == "x86_64"


def test_an_arm64_log_without_its_memory_map_is_refused(tmp_path):
    body = (
        b"[    0.000000] Booting Linux on physical CPU 0x0000000000 [0x410fd034]\n"
        b"[    0.000000] Linux version 5.4.0 (gcc) #1 SMP PREEMPT aarch64\n"
        b"[    0.000000] On node 0 totalpages: 188416\n"
    )
    proc = subprocess.run(
        [*MMI, "dmesg", str(_log_with(tmp_path, body))], capture_output=True, text=True, cwd=REPO
    )
    assert proc.returncode == 2
    assert "without 'Early memory node ranges'" in proc.stderr


def test_own_log_needs_no_argument_or_says_how(monkeypatch, tmp_path):
    """No argument: this machine's own log; where dmesg cannot be read, one line naming how
    to give a saved one."""
    env = {**os.environ, "PATH": str(tmp_path)}  # no dmesg on the PATH
    proc = subprocess.run([*MMI, "dmesg"], capture_output=True, text=True, cwd=REPO, env=env)
    if Path("/var/log/dmesg").is_file():
        pytest.skip("this machine keeps /var/log/dmesg")
    assert proc.returncode == 2
    assert "journalctl -k -b > boot.log" in proc.stderr.strip().splitlines()[-1]


@pytest.mark.vm
@pytest.mark.parametrize("kver", ["4.7", "6.12"])
def test_boot_replays_a_logs_map(kver, mmi_boot, tmp_path):
    """``--boot`` on a log whose machine we know (a 4.7 guest of two nodes with an e820 map
    made by memmap=exactmap): the replica gets the same map, nodes and CPUs, its captures
    agree with the model (0 differences), and on 4.7 every judged line of the replica's log is
    the machine's own."""
    from inspector.kernel import source
    from inspector.kernel.versions import V4_7
    from inspector.pytest_plugin import Target

    if why := source.available(V4_7):
        pytest.skip(why)
    from inspector.arch import get_arch

    machine = Target(V4_7, get_arch("x86_64"))
    path = tmp_path / "machine.dmesg"
    path.write_text(_guest_log(machine, mmi_boot, numa="512M,512M", smp=2, append=EXACTMAP))
    env = {**os.environ, "MMI_RUNS_DIR": str(tmp_path / "runs")}
    proc = subprocess.run(
        [*MMI, "dmesg", str(path), "--boot", "--kver", kver],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    out = proc.stdout
    assert "NUMA=512M,512M" in out and "SMP=2" in out
    # the map as memblock saw it: the kernel's own edit of the first page comes along
    assert "memmap=0x9e000@0x1000 " in out
    for word in EXACTMAP[2:]:
        size, _, at = word.removeprefix("memmap=").partition("@")
        assert f"memmap={int(size, 16):#x}@{int(at, 16):#x}" in out, word
    assert "0 log lines and 0 captured values differ from the model" in proc.stderr
    page = re.search(r"walkthrough of the replica: (\S+)", proc.stderr)  # the replica's page
    assert page and "free_area_init_core()" in Path(page.group(1)).read_text()
    rows = [line for line in out.splitlines() if line[:2] in ("= ", "≠ ")]
    assert len(rows) > 20
    if kver == "4.7":
        assert [r for r in rows if r.startswith("≠")] == []


def test_a_backport_is_declared_never_silent(tmp_path):
    """A 4.12 kernel with 4.19's batch cap (as SUSE's) differs on its LIFO line until the user
    declares the change; the judgement then says so. The log is written by hand: usable RAM
    [0, 640K) and [1M, 2G) on one node, page 0 reserved by trim_bios_range() (the log, like
    one saved without KERN_DEBUG lines, does not print it); DMA spans 4095 pages with 3999
    present, memmap 64 (4095·64 B, to a page), managed 3935, batch 0; DMA32 spans and holds
    520192 pages, memmap 8128, managed 512064, so batch = rounddown_pow_of_two(c/4 · 3/2) - 1
    with the cap c = 128 pages (512 KiB) before 4.19 → 31, 256 (1 MiB) from 4.19 → 63.
    The hash tables (alloc_large_system_hash(), 8-byte buckets) from nr_kernel_pages = the
    managed 515999 (with dma_reserve unknown, down to 515999 - 3999: the same lines), rounded
    up to a MiB: 516096; PID (scale 18) 516096 >> 6 = 8064 → 8192, capped at 4096; dentry
    (13) >> 1 → 2^18; inode (14) >> 2 → 2^17; mount and mountpoint (19) >> 7 = 4032 → 2^12.
    A NUMA kernel before 5.3 (hashdist) makes the dentry and inode tables after mem_init()."""
    body = HEAD.replace("5.4.0-42-generic", "4.12.14-lp151.28-default") + "".join(
        f"[    0.000000] {line}\n"
        for line in (
            "BIOS-e820: [mem 0x0000000000000000-0x000000000009ffff] usable",
            "BIOS-e820: [mem 0x0000000000100000-0x000000007fffffff] usable",
            "No NUMA configuration found",
            "Zone ranges:",
            "  DMA      [mem 0x0000000000001000-0x0000000000ffffff]",
            "  DMA32    [mem 0x0000000001000000-0x000000007fffffff]",
            "  Normal   empty",
            "Movable zone start for each node",
            "Early memory node ranges",
            "  node   0: [mem 0x0000000000001000-0x000000000009ffff]",
            "  node   0: [mem 0x0000000000100000-0x000000007fffffff]",
            "Initmem setup node 0 [mem 0x0000000000001000-0x000000007fffffff]",
            "On node 0 totalpages: 524191",
            "  DMA zone: 64 pages used for memmap",
            "  DMA zone: 3999 pages, LIFO batch:0",
            "  DMA32 zone: 8128 pages used for memmap",
            "  DMA32 zone: 520192 pages, LIFO batch:63",
            "Built 1 zonelists in Node order, mobility grouping on.  Total pages: 515999",
            "Policy zone: DMA32",
            "PID hash table entries: 4096 (order: 3, 32768 bytes)",
            "Memory: 2000000K/2096764K available (8192K kernel code)",
            "Dentry cache hash table entries: 262144 (order: 9, 2097152 bytes)",
            "Inode-cache hash table entries: 131072 (order: 8, 1048576 bytes)",
            "Mount-cache hash table entries: 4096 (order: 3, 32768 bytes)",
            "Mountpoint-cache hash table entries: 4096 (order: 3, 32768 bytes)",
        )
    )
    log = parse(body)
    plain = judge(log)
    assert [r.printed for r in plain.differences] == ["  DMA32 zone: 520192 pages, LIFO batch:63"]
    (lifo,) = plain.differences
    assert lifo.predicted == "  DMA32 zone: 520192 pages, LIFO batch:31"
    assert any(c.startswith("pcp-batch-cap (lacks it") for c in lifo.changes)
    ex = explain_by_backports(plain)
    assert (ex.declarations, ex.lines, ex.left) == (["--with pcp-batch-cap"], 1, 0)
    declared = judge(log, with_=frozenset({"pcp-batch-cap"}))
    assert declared.differences == []
    assert any("has pcp-batch-cap (--with)" in d.text() for d in declared.inputs)
    with pytest.raises(InspectorError, match="no kernel change nope"):
        judge(log, with_=frozenset({"nope"}))


def test_ram_below_4g_follows_the_machines_max_ram_below_4g():
    """Where QEMU puts RAM (and so where a stop reads the RAM file): its default split (3 GiB
    below 4 GiB from 3.5 GiB of RAM on pc, 2 GiB from 2.75 GiB on q35), and a replica's
    max-ram-below-4g (capped at 3 GiB on pc by QEMU's gigabyte alignment when RAM goes above
    it). A wrong split read the per-cpu areas of a 7.7 GiB replica from the wrong place."""
    from inspector.arch import get_arch
    from inspector.vm.qemu import lowmem

    x86, g = get_arch("x86_64"), 1 << 30
    assert lowmem(x86, None, 1 * g) == 1 * g
    assert lowmem(x86, None, 0xE000_0000) == 3 * g
    assert lowmem(x86, None, 0xDFF0_0000) == 0xDFF0_0000
    assert lowmem(x86, "q35", 4 * g) == 2 * g
    assert lowmem(x86, "pc,max-ram-below-4g=2986M", 7840 << 20) == 2986 << 20
    assert lowmem(x86, "pc,max-ram-below-4g=3500M", 8 * g) == 3 * g
    assert lowmem(x86, "pc,max-ram-below-4g=1008M", 1008 << 20) == 1008 << 20
    assert lowmem(get_arch("arm64"), None, 4 * g) is None
    # the pc-i440fx-1.x machine types have no gigabyte alignment: up to 3.5 GiB stays low
    assert lowmem(x86, "pc-i440fx-1.7,max-ram-below-4g=3500M", 8 * g) == 3500 << 20
    assert lowmem(x86, "pc-i440fx-1.7", 8 * g) == 0xE000_0000


def _laptop_low(low_end: int) -> str:
    """A hand-written 5.4 log of an 8 GiB laptop: usable [0, 640K), [1M, low_end) and
    [4G, 9G): low RAM ends at ``low_end``."""
    return "[    0.000000] Linux version 5.4.0-42-generic (gcc) #46 SMP x86_64\n" + "".join(
        f"[    0.000000] {line}\n"
        for line in (
            "BIOS-e820: [mem 0x0000000000000000-0x000000000009ffff] usable",
            f"BIOS-e820: [mem 0x0000000000100000-{low_end - 1:#018x}] usable",
            "BIOS-e820: [mem 0x0000000100000000-0x000000023fffffff] usable",
            "No NUMA configuration found",
            "Zone ranges:",
        )
    )


def test_a_map_with_more_than_3_gib_low_replays_on_the_1_7_machine():
    """QEMU's pc keeps at most 3 GiB below 4 GiB when RAM goes above it; up to 3.5 GiB the
    replica takes pc-i440fx-1.7 (no gigabyte alignment) with max-ram-below-4g at the machine's
    low end (3.25 GiB: 3328M); above 3.5 GiB it is refused in one line."""
    from inspector.bootlog.firmware import memory_map
    from inspector.bootlog.replica import replica

    log = parse(_laptop_low(0xD000_0000))
    r = replica(log, memory_map(log))
    assert r.machine == "pc-i440fx-1.7,max-ram-below-4g=3328M"
    assert r.mem == (3328 << 20) + (5 << 30)
    three = parse(_laptop_low(0xC000_0000))
    assert replica(three, memory_map(three)).machine == "pc,max-ram-below-4g=3072M"
    high = parse(_laptop_low(0xE800_0000))
    with pytest.raises(InspectorError, match=r"at most 3\.5 GiB below 4 GiB"):
        replica(high, memory_map(high))


def _machine_8g(release: str) -> str:
    """A hand-written 3.14-era log of an 8 GiB one-node machine: usable [0, 640K), [1M, 3G)
    and [4G, 9G), no SRAT (dummy_numa_init() fakes node 0 over [0, max_pfn = 0x240000)).
    By hand: DMA spans 4095 pages, 3999 present, memmap 64 (4095·64 B to a page), managed
    3935, batch 0; DMA32 spans 1044480 with 782336 present (more than 1/16 holes, so the memmap
    of the present pages: 12224), managed 770112; Normal 1310720 pages, memmap 20480, managed
    1290240; batches 31 (the cap of 128 pages before 4.19). default_zonelist_order(): the DMA
    zones hold 774047 of 2064287 managed pages (less than half), and the node's 786335 of
    2097055 present pages are below 70%: Zone order. Total pages: the managed sum, 2064287.
    Hash tables from nr_kernel_pages 2064287 (to 2060288 without dma_reserve's 3999: the same
    lines) rounded up to a MiB, 2064384: PID >> 6 → capped at 4096; dentry >> 1 = 1032192 →
    2^20; inode >> 2 → 2^19; mount and mountpoint >> 7 = 16128 → 2^14 (sized since 3.14)."""
    return f"[    0.000000] Linux version {release} (gcc) #1 SMP x86_64\n" + "".join(
        f"[    0.000000] {line}\n"
        for line in (
            "BIOS-e820: [mem 0x0000000000000000-0x000000000009ffff] usable",
            "BIOS-e820: [mem 0x0000000000100000-0x00000000bfffffff] usable",
            "BIOS-e820: [mem 0x0000000100000000-0x000000023fffffff] usable",
            "No NUMA configuration found",
            "Faking a node at [mem 0x0000000000000000-0x000000023fffffff]",
            "Initmem setup node 0 [mem 0x00000000-0x23fffffff]",
            "Zone ranges:",
            "  DMA      [mem 0x00001000-0x00ffffff]",
            "  DMA32    [mem 0x01000000-0xffffffff]",
            "  Normal   [mem 0x100000000-0x23fffffff]",
            "Movable zone start for each node",
            "Early memory node ranges",
            "  node   0: [mem 0x00001000-0x0009ffff]",
            "  node   0: [mem 0x00100000-0xbfffffff]",
            "  node   0: [mem 0x100000000-0x23fffffff]",
            "On node 0 totalpages: 2097055",
            "  DMA zone: 64 pages used for memmap",
            "  DMA zone: 3999 pages, LIFO batch:0",
            "  DMA32 zone: 12224 pages used for memmap",
            "  DMA32 zone: 782336 pages, LIFO batch:31",
            "  Normal zone: 20480 pages used for memmap",
            "  Normal zone: 1310720 pages, LIFO batch:31",
            "Built 1 zonelists in Zone order, mobility grouping on.  Total pages: 2064287",
            "Policy zone: Normal",
            "PID hash table entries: 4096 (order: 3, 32768 bytes)",
            "Memory: 8000000K/8388220K available (8192K kernel code)",
            "Dentry cache hash table entries: 1048576 (order: 11, 8388608 bytes)",
            "Inode-cache hash table entries: 524288 (order: 10, 4194304 bytes)",
            "Mount-cache hash table entries: 16384 (order: 5, 131072 bytes)",
            "Mountpoint-cache hash table entries: 16384 (order: 5, 131072 bytes)",
        )
    )


def test_a_3_14_log_is_judged_with_3_14s_behaviour():
    """The 3.x changes the records place before 4.0: 8-digit addresses, x86's Initmem line
    from setup_node_data() before 'Zone ranges:', DMA32 up to 4 GiB, the zonelist-order
    heuristic. Every line of the 3.14 log is as the model predicts at 3.14; the same log
    labelled 4.9 differs exactly there, each difference naming its change."""
    assert judge(parse(_machine_8g("3.14.44-desktop"))).differences == []
    later = judge(parse(_machine_8g("4.9.0-8-amd64")))
    named = {c.split(" ")[0] for r in later.differences for c in r.changes}
    assert {"mem-ranges-018", "initmem-line-from-mm", "zonelist-default-node-order"} <= named
    assert all(r.changes for r in later.differences)
    built = [r for r in later.results if r.cls == "zonelists"]
    assert built[0].predicted.startswith("Built 1 zonelists in Node order")


def test_3_10s_own_memory_line_counts_max_pfn():
    """x86_64's own mem_init() line before change "mem-init-print-info" (RHEL 7's 3.10) gives
    max_pfn pages in 'k' (0x240000 pages: 9437184k), not the present pages."""
    log = _machine_8g("3.10.0-327.el7.x86_64").replace(
        "Memory: 8000000K/8388220K available", "Memory: 8000000k/9437184k available"
    )
    j = judge(parse(log))
    (memory,) = [r for r in j.results if r.cls == "memory total"]
    assert memory.equal and memory.predicted == "Memory: /9437184K"


def test_a_log_cut_short_leaves_the_late_tables_unjudged():
    """A log that ends at the Memory: line (no line of the later boot) cannot show mnt_init()'s
    tables nor, before 5.3 on a NUMA kernel, the dentry and inode ones: not judged, counted
    with why; a line cut in the middle is not judged either. The same log whole: all equal."""
    whole = _machine_8g("3.14.44-desktop")
    cut = whole[: whole.index("Dentry cache")]
    j = judge(parse(cut))
    assert j.differences == []
    assert j.not_judged["hash tables after the log's end"][0] == 4
    half = whole[: whole.index("(order: 5, 131072 bytes)\n[")]  # Mount-cache's line cut
    h = judge(parse(half))
    assert h.differences == [] and h.not_judged["hash tables after the log's end"][0] == 2
    assert "hash tables after the log's end" not in judge(parse(whole)).not_judged


def test_a_file_of_several_boots_is_judged_on_the_last():
    """journalctl -k without -b (or a console kept across reboots) holds several boots: the
    last is judged (the 3.14 one here, equal), and the judgement says so."""
    log = parse(_machine_8g("4.9.0-8-amd64") + _machine_8g("3.14.44-desktop"))
    assert log.boots == 2 and log.release == "3.14.44-desktop"
    j = judge(log)
    assert j.differences == []
    assert any("the last of the 2 boots" in d.text() for d in j.inputs)


def test_debians_banner_gives_the_stable_level():
    """Debian's 5.10.0-9-amd64 is 5.10.70 ('#1 SMP Debian 5.10.70-1'): the level that decides
    a stable backport (unavailable-per-node-zone from 5.10.70); gcc's own 'Debian 10.2.1-6'
    before the build number is not taken for it."""
    head = (
        "[    0.000000] Linux version 5.10.0-9-amd64 (debian-kernel@lists.debian.org) "
        "(gcc-10 (Debian 10.2.1-6) 10.2.1 20210110) #1 SMP Debian 5.10.70-1 (2021-09-30)\n"
    )
    body = _machine_8g("x").split("\n", 1)[1]
    log = parse(head + body)
    assert log.release == "5.10.0-9-amd64" and log.version == (5, 10, 70)
    assert "unavailable-per-node-zone" in landed(log.version)
    assert "stable level 5.10.70" in judge(log).model
    other = parse(head.replace("Debian 5.10.70-1", "5.10.70-1") + body)
    assert other.version == (5, 10, 0)


@pytest.mark.vm
def test_any_boot_command_replays_a_log_with_dmesg(mmi_boot, tmp_path):
    """``--dmesg LOG`` on a booting command (here `boot --run`; gdb, drgn, inspect and buddy
    take the same request): the guest gets the log's map, nodes and CPUs, the user's --append
    after them; --mem with --dmesg, or an --arch the log contradicts, is one line."""
    from inspector.arch import get_arch
    from inspector.kernel.versions import V6_12
    from inspector.pytest_plugin import Target

    machine = Target(V6_12, get_arch("x86_64"))
    path = tmp_path / "machine.dmesg"
    path.write_text(_guest_log(machine, mmi_boot, numa="512M,512M", smp=2, append=EXACTMAP))
    env = {**os.environ, "MMI_RUNS_DIR": str(tmp_path / "runs")}
    base = [*MMI, "boot", "--dmesg", str(path), "--kver", "6.12"]
    proc = subprocess.run(
        [*base, "--append", "quiet", "--run", "cat /proc/cmdline; ls /sys/devices/system/node"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "replica of machine.dmesg: MEM=1024M SMP=2" in proc.stderr
    cmdline = next(ln for ln in proc.stdout.splitlines() if "memmap=exactmap" in ln)
    assert cmdline.split().index("quiet") > cmdline.split().index("memmap=exactmap")
    assert "node0" in proc.stdout and "node1" in proc.stdout
    for extra, needle in (
        (["--mem", "2G"], "drop --mem"),
        (["--arch", "arm64"], "is an x86_64 log: drop --arch"),
    ):
        bad = subprocess.run(
            [*base, *extra, "--run", "true"], capture_output=True, text=True, cwd=REPO, env=env
        )
        assert bad.returncode == 2 and needle in bad.stderr.strip().splitlines()[-1], bad.stderr


@pytest.mark.vm
def test_a_6_1_guests_hash_tables_and_holes_are_judged_equal(mmi_boot):
    """6.1 prints what 4.7 does not: the hash tables with their allocation type (linear from
    memblock on one node, vmalloc after the hand-off across two) and 'On node N, zone Z: K pages
    in unavailable ranges' for the e820 holes: each judged at release 6.1, all equal."""
    from inspector.arch import get_arch
    from inspector.kernel.versions import V6_1
    from inspector.pytest_plugin import Target

    target = Target(V6_1, get_arch("x86_64"))
    for numa in ("1024M", "512M,512M"):
        j = judge(parse(_guest_log(target, mmi_boot, numa=numa, smp=2, append=EXACTMAP)))
        for cls in ("hash tables", "unavailable ranges"):
            rows = [r for r in j.results if r.cls == cls]
            assert rows and all(r.equal for r in rows), [(r.printed, r.predicted) for r in rows]
        how = "vmalloc" if "," in numa else "linear"
        dentry = next(r.printed for r in j.results if (r.printed or "").startswith("Dentry"))
        assert dentry.endswith(f"bytes, {how})"), dentry
