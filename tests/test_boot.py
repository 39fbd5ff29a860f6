"""Real kernels under QEMU: the guest's own /proc/zoneinfo shows the topology we asked for."""

from pathlib import Path

import pytest

from inspector.procfs import parse_buddyinfo, parse_zoneinfo
from inspector.pytest_plugin import mmi_targets
from inspector.vm.topology import parse_topology

from .layout import expected_zones, ram_ranges

PAGE = 4096

TOPOLOGIES = [
    pytest.param({"mem": "1G"}, id="1node-1G"),
    pytest.param({"numa": "768M,256M", "smp": 2}, id="2nodes-uneven"),
]


@pytest.mark.vm
@pytest.mark.parametrize("topo", TOPOLOGIES)
@pytest.mark.parametrize("target", mmi_targets())
def test_zoneinfo_shows_requested_topology(target, topo, mmi_boot):
    guest = mmi_boot(target, **topo)
    topology = parse_topology(topo.get("mem"), topo.get("smp"), topo.get("numa"))
    zones = parse_zoneinfo(guest.read("/proc/zoneinfo"))
    populated = {}
    for z in zones:
        if z.get("present"):
            populated.setdefault(z.node, set()).add(z.name)
    want = expected_zones(target.arch, target.version.name, None, topology)
    assert populated == want

    # Each node's present pages: its RAM less firmware holes (a few hundred KiB on x86).
    for nid, ranges in enumerate(ram_ranges(target.arch, None, topology)):
        ram_pages = sum(hi - lo for lo, hi in ranges) // PAGE
        present = sum(z.get("present") for z in zones if z.node == nid)
        assert ram_pages - 1024 <= present <= ram_pages, f"node {nid}"
        for z in zones:
            if z.node == nid and z.get("present"):
                assert z.get("managed") <= z.get("present") <= z.get("spanned")

    # buddyinfo lists exactly the populated zones, with one count per order.
    buddy = parse_buddyinfo(guest.read("/proc/buddyinfo"))
    assert {(n, name) for n, names in want.items() for name in names} == set(buddy)
    assert len({len(v) for v in buddy.values()}) == 1

    cpus = guest.run("cat /sys/devices/system/cpu/online").strip()
    assert cpus == ("0" if topology.smp == 1 else f"0-{topology.smp - 1}")


@pytest.mark.vm
def test_make_passes_free_text_to_the_guest_as_typed():
    """APPEND and RUN reach the guest exactly as typed: make expands neither `$2` (the kernel's
    own memmap= syntax) nor anything else in them."""
    import subprocess
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    append = "memmap=64M$256M"
    run = "cat /proc/cmdline; echo '$2 a  \"b\"'"
    proc = subprocess.run(
        ["make", "-s", "boot-x86_64", "KVER=6.12", f"APPEND={append}", f"RUN={run}"],
        capture_output=True,
        text=True,
        cwd=repo,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert append in lines[0].split()
    assert lines[1] == '$2 a  "b"'


def _cpulist(text: str) -> set[int]:
    out: set[int] = set()
    for part in text.strip().split(","):
        if part:
            lo, _, hi = part.partition("-")
            out |= set(range(int(lo), int(hi or lo) + 1))
    return out


@pytest.mark.vm
@pytest.mark.parametrize("target", mmi_targets())
def test_numa_distances_and_cpus_reach_the_guest(target, mmi_boot):
    """NUMA_DIST and each node's CPUs as asked, read back from the guest's own sysfs (model and
    capture would otherwise agree on QEMU's defaults without anybody noticing)."""
    numa, dist = "256M@0,256M@1-2,512M@3", "0-1=30,0-2=25,1-2=40"
    guest = mmi_boot(target, numa=numa, smp=4, numa_dist=dist)
    rows = guest.run(
        "for n in 0 1 2; do d=/sys/devices/system/node/node$n; "
        'echo "$n|$(cat $d/distance)|$(cat $d/cpulist)"; done'
    )
    seen = {}
    for line in rows.strip().splitlines():
        nid, distance, cpus = line.split("|")
        seen[int(nid)] = ([int(x) for x in distance.split()], _cpulist(cpus))
    # the table asked for, spelled out (10 on the diagonal, symmetric)
    assert seen == {
        0: ([10, 30, 25], {0}),
        1: ([30, 10, 40], {1, 2}),
        2: ([25, 40, 10], {3}),
    }


def test_guest_ram_is_backed_only_where_written():
    """Every QEMU RAM backend of ours is either a file/memfd (sparse) or anonymous with
    reserve=off (MAP_NORESERVE): a guest larger than the host's free memory starts."""
    from inspector.arch import get_arch
    from inspector.vm.qemu import MachineSpec, machine_args, memory_args, numa_args
    from inspector.vm.topology import parse_topology

    arch = get_arch("x86_64")
    one = parse_topology("256G", 8)
    spec = MachineSpec(arch, Path("k"), Path("i"), one)
    argv = machine_args(spec) + memory_args(spec)
    assert "memory-backend=ram" in argv[1]
    assert "memory-backend-ram,id=ram,size=256G,reserve=off" in argv
    eight = parse_topology(None, 8, ",".join(["32G"] * 8))
    backends = [a for a in numa_args(eight) if a.startswith("memory-backend")]
    assert len(backends) == 8 and all(b.endswith(",reserve=off") for b in backends)
