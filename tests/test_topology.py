"""Parsing of MEM/SMP/NUMA/NUMA_DIST and the QEMU arguments they become (pure, no VM)."""

import dataclasses
from pathlib import Path

import pytest

from inspector.arch import ARM64, X86_64
from inspector.errors import InspectorError
from inspector.vm.qemu import MachineSpec, RunPaths, numa_args, qemu_argv
from inspector.vm.topology import format_size, parse_size, parse_topology

G = 1 << 30
M = 1 << 20


def test_sizes_round_trip():
    assert parse_size("512M") == 512 * M
    assert parse_size("2g") == 2 * G
    assert parse_size("1536") == 1536 * M
    assert format_size(parse_size("1536M")) == "1536M"
    assert format_size(parse_size("3G")) == "3G"
    for bad in ("", "1.5G", "12X", "-1G", "100K"):
        with pytest.raises(InspectorError):
            parse_size(bad)


def test_numa_defaults_mem_to_sum_and_spreads_cpus():
    topo = parse_topology(None, 4, "512M,1G")
    assert topo.mem == 512 * M + G
    assert [n.cpus for n in topo.nodes] == [(0, 2), (1, 3)]


def test_numa_sizes_must_add_up_to_mem():
    with pytest.raises(InspectorError, match="add up"):
        parse_topology("1G", 2, "512M,256M")


def test_explicit_cpus_and_memoryless_node():
    topo = parse_topology("2G", 3, "1G@0-1,0@2,1G")
    assert [(n.mem, n.cpus) for n in topo.nodes] == [(G, (0, 1)), (0, (2,)), (G, ())]
    args = numa_args(topo)
    # the memoryless node has no memory backend
    assert "node,nodeid=1,cpus=2" in args
    assert args.count("-object") == 2


def test_cpu_lists_must_cover_every_cpu_once():
    with pytest.raises(InspectorError, match="exactly once"):
        parse_topology(None, 2, "1G@0,1G@0")
    with pytest.raises(InspectorError, match="SMP"):
        parse_topology(None, 1, "1G@0,1G@1")


def test_distances_are_symmetric_and_completed():
    topo = parse_topology(None, 3, "1G,1G,1G", "0-1=15,1-2=40")
    d = topo.distances
    assert d[(0, 1)] == d[(1, 0)] == 15
    assert d[(1, 2)] == d[(2, 1)] == 40
    assert d[(0, 2)] == 20  # unspecified pairs get REMOTE_DISTANCE
    for bad in ("0-0=20", "0-5=20", "0-1=5", "0-1"):
        with pytest.raises(InspectorError):
            parse_topology(None, 3, "1G,1G,1G", bad)
    with pytest.raises(InspectorError):
        parse_topology("1G", 1, None, "0-1=20")


def spec_paths(d: Path) -> RunPaths:
    return RunPaths(d, d)


@pytest.mark.parametrize("arch", [X86_64, ARM64], ids=lambda a: a.name)
def test_argv_has_no_tcp_listener(arch, tmp_path, monkeypatch):
    monkeypatch.setattr("inspector.vm.qemu.qemu_binary", lambda a: a.qemu)
    topo = parse_topology("1G", 2, "512M,512M")
    spec = MachineSpec(arch, tmp_path / "k", tmp_path / "i", topo, paused=True)
    argv = qemu_argv(spec, RunPaths(tmp_path, tmp_path))
    text = " ".join(argv)
    assert "tcp:" not in text and "-s " not in text and "telnet" not in text
    assert f"unix:{tmp_path}/gdb.sock" in text and f"unix:{tmp_path}/qmp.sock" in text
    # a running guest gets no gdbstub unless asked for one
    running = " ".join(
        qemu_argv(MachineSpec(arch, spec.kernel, spec.initrd, topo), spec_paths(tmp_path))
    )
    assert "-gdb" not in running and f"unix:{tmp_path}/qmp.sock" in running
    assert argv[argv.index("-machine") + 1].startswith(arch.machine)


def test_tcg_one_thread_for_all_vcpus_unless_asked(tmp_path: Path) -> None:
    """-accel tcg,thread=single by default; multi when asked; kvm passes no TCG option."""
    topo = parse_topology("1G", "2", None)
    spec = MachineSpec(X86_64, tmp_path / "k", tmp_path / "i", topo)
    for kw, want in (({}, "tcg,thread=single"), ({"tcg_thread": "multi"}, "tcg,thread=multi"),
                     ({"accel": "kvm"}, "kvm")):  # fmt: skip
        argv = qemu_argv(dataclasses.replace(spec, **kw), RunPaths(tmp_path, tmp_path))
        assert argv[argv.index("-accel") + 1] == want
        assert "accel=" not in argv[argv.index("-machine") + 1]


def test_x86_guests_past_1_tib_get_the_physical_address_bits_they_need():
    """qemu64 has 40 physical address bits; pc puts RAM past 4 GiB after the PCI hole, so a
    1 TiB guest ends above 2^40 and QEMU refuses it ("phys-bits too low") unless told more."""
    from inspector.vm.qemu import cpu_model

    def cpu(arch: object, mem: str) -> str:
        topo = parse_topology(mem, 1, None)
        spec = MachineSpec(arch, Path("k"), Path("i"), topo)  # type: ignore[arg-type]
        return cpu_model(spec)

    assert cpu(X86_64, "256G") == "qemu64"
    assert cpu(X86_64, "1023G") == "qemu64,phys-bits=41"  # 1023 GiB + the hole's 2 GiB
    assert cpu(X86_64, "1T") == "qemu64,phys-bits=41"
    assert cpu(X86_64, "4T") == "qemu64,phys-bits=43"
    assert cpu(ARM64, "1T") == ARM64.cpu


def test_ram_above_4g_moves_to_1_tib_where_qemu_moves_it():
    """QEMU 7.1+ keeps an AMD vCPU's RAM and PCI window out of the HyperTransport range below
    1 TiB: a guest whose RAM above 4 GiB (and the 2 GiB window after it) would reach 1012 GiB
    gets that RAM from 1 TiB on. The RAM map the readers use must say so, or every read of it
    goes elsewhere."""
    from inspector.live.ram import ram_map
    from inspector.vm.qemu import above_4g_start

    g = 1 << 30
    assert above_4g_start("pc", 512 * g) == 4 * g
    assert above_4g_start("pc", 1009 * g) == 4 * g  # 4 + 1006 + 2 ends below 1012 GiB
    assert above_4g_start("pc", 1010 * g) == 1 << 40
    assert above_4g_start("pc-i440fx-7.0", 1 << 40) == 4 * g  # before the relocation
    topo = parse_topology(None, 1, "512G,512G")
    pieces = ram_map(X86_64, None, topo, [Path("n0"), Path("n1")])
    assert [(p.phys, p.file.name, p.offset, p.size) for p in pieces] == [
        (0, "n0", 0, 3 * g),
        (1 << 40, "n0", 3 * g, 509 * g),
        ((1 << 40) + 509 * g, "n1", 0, 512 * g),
    ]
