"""Bad input: each gives a one-line error naming the fix, a non-zero exit, no traceback and no
process left behind. The CLI is run as a user runs it."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .chaos import MMI, _alive, _children_of, _cmdline, _pids_matching, memfds_left

REPO = Path(__file__).resolve().parents[1]


def run(
    args: list[str], tmp_path: Path, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "MMI_RUNS_DIR": str(tmp_path / "runs"), **(env or {})}
    return subprocess.run(
        [*MMI, *args], capture_output=True, text=True, env=full_env, cwd=REPO, timeout=timeout
    )


def one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode not in (0, None), proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("mm-inspector: error: "), proc.stderr
    for n in needles:
        assert n in last, last
    return last


def as_from_a_terminal() -> None:
    """A child's SIGINT as a terminal gives it: default, even when this suite was started with
    SIGINT ignored (nohup, CI runners, ``cmd &`` from a script), which children inherit."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def assert_no_qemu_left(tmp_path: Path) -> None:
    """Every QEMU a run started (recorded in its run directory) is gone, not even a zombie."""
    started = list((tmp_path / "runs").glob("*/qemu.started"))
    assert started, "no QEMU was started: the test proves nothing"
    for record in started:
        pid = int(record.read_text())
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue  # gone
        # the pid may have been reused by an unrelated process: only a QEMU counts
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        assert b"qemu-system" not in cmd, f"QEMU {pid} left behind ({status.splitlines()[2]})"


def test_unknown_arch(tmp_path):
    one_line_error(run(["boot", "--arch", "mips", "--run", "true"], tmp_path), "unknown arch")


def test_unknown_version(tmp_path):
    proc = run(["boot", "--arch", "x86_64", "--kver", "5.0", "--run", "true"], tmp_path)
    one_line_error(proc, "unknown kernel version", "4.7", "6.12")


def test_missing_4_7_source_says_how_to_supply_one(tmp_path):
    env = {
        "MMI_CACHE_DIR": str(tmp_path / "cache"),
        "KERNEL_SRC_4_7": "",
        "MMI_KERNEL_ORG": f"file://{tmp_path}/nowhere",
    }
    proc = run(["boot", "--arch", "x86_64", "--kver", "4.7", "--run", "true"], tmp_path, env)
    one_line_error(proc, "no Linux 4.7 source", "KERNEL_SRC_4_7=", "KVER=6.12")


def test_tarball_with_wrong_checksum(tmp_path):
    fake = tmp_path / "linux-4.7.tar.xz"
    fake.write_bytes(b"not a kernel")
    env = {"MMI_CACHE_DIR": str(tmp_path / "cache"), "KERNEL_SRC_4_7": str(fake)}
    proc = run(["build", "--arch", "x86_64", "--kver", "4.7"], tmp_path, env)
    one_line_error(proc, "checksum mismatch", "expected 5190c3d1")


def test_corrupt_tarball(tmp_path):
    fake = tmp_path / "linux-4.7.4.tar.xz"
    fake.write_bytes(b"\xfd7zXZ\x00 truncated")
    env = {"MMI_CACHE_DIR": str(tmp_path / "cache"), "KERNEL_SRC_4_7": str(fake)}
    proc = run(["build", "--arch", "x86_64", "--kver", "4.7"], tmp_path, env)
    one_line_error(proc, "cannot unpack")
    assert not list((tmp_path / "cache" / "src" / "4.7").glob("linux-*"))


def test_build_failure_shows_log_tail_and_path(tmp_path):
    tree = tmp_path / "linux-4.7-broken"
    tree.mkdir()
    (tree / "Makefile").write_text(
        "VERSION = 4\nPATCHLEVEL = 7\nSUBLEVEL = 0\nEXTRAVERSION =\n"
        "tinyconfig:\n\t@echo 'scripts/kconfig: deliberately broken for a test'; exit 3\n"
    )
    env = {"MMI_CACHE_DIR": str(tmp_path / "cache"), "KERNEL_SRC_4_7": str(tree)}
    proc = run(["build", "--arch", "x86_64", "--kver", "4.7"], tmp_path, env)
    last = one_line_error(proc, "kernel build failed", "build.log")
    assert "deliberately broken" in proc.stderr  # the log's tail is shown
    log = Path(last.split("see ")[-1])
    assert log.exists() and "deliberately broken" in log.read_text()


def test_qemu_missing(tmp_path):
    empty = tmp_path / "empty-path"
    empty.mkdir()
    proc = run(
        ["boot", "--arch", "arm64", "--kver", "6.12", "--run", "true"],
        tmp_path,
        {"PATH": str(empty)},
    )
    one_line_error(proc, "qemu-system-aarch64 not found", "mm-inspector deps")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--mem", "1G", "--numa", "512M,256M"], "add up"),
        (["--numa", "512X,512M"], "bad NUMA node 0 size"),
        (["--numa", "512M,,512M"], "bad NUMA"),
        (["--smp", "2", "--numa", "1G@0,1G@0"], "exactly once"),
        (["--numa", "1G,1G", "--numa-dist", "0-1=5"], "11..254"),
    ],
)
def test_malformed_topology(tmp_path, args, needle):
    proc = run(["boot", "--arch", "x86_64", "--kver", "6.12", *args, "--run", "true"], tmp_path)
    one_line_error(proc, needle)


@pytest.mark.vm
def test_mem_too_small(tmp_path):
    proc = run(
        ["boot", "--arch", "x86_64", "--kver", "6.12", "--mem", "16M", "--run", "true"], tmp_path
    )
    one_line_error(proc, "MEM=16M is too small", "use MEM=")


@pytest.mark.vm
def test_guest_panic(tmp_path):
    proc = run(
        [
            "boot",
            "--arch",
            "x86_64",
            "--kver",
            "6.12",
            "--append",
            # without an initramfs init or a root fs, the kernel must panic
            "rdinit=/nonexistent init=/nonexistent",
            "--run",
            "true",
        ],
        tmp_path,
    )
    one_line_error(proc, "guest panic", "Kernel panic - not syncing")
    assert_no_qemu_left(tmp_path)


@pytest.mark.vm
def test_boot_timeout(tmp_path):
    proc = run(
        ["boot", "--arch", "arm64", "--kver", "6.12", "--timeout", "0.2", "--run", "true"], tmp_path
    )
    one_line_error(proc, "timed out after 0 s waiting for the guest's shell")
    assert_no_qemu_left(tmp_path)


@pytest.mark.vm
def test_ctrl_c_during_boot_stops_qemu(tmp_path):
    env = {**os.environ, "MMI_RUNS_DIR": str(tmp_path / "runs")}
    proc = subprocess.Popen(
        [*MMI, "boot", "--arch", "x86_64", "--kver", "6.12", "--run", "sleep 120"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
        preexec_fn=as_from_a_terminal,  # the user's Ctrl-C reaches it, as from a terminal
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        logs = list((tmp_path / "runs").glob("*/console.log"))
        if logs and "userspace up" in logs[0].read_text(errors="replace"):
            break
        time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("guest never reached its shell")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("mm-inspector: interrupted")
    assert_no_qemu_left(tmp_path)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_build_stops_make_and_its_jobs(tmp_path, sig):
    tree = tmp_path / "linux-4.7-slow"
    tree.mkdir()
    marker = tmp_path / "job-started"
    # this test's own job: a sleep no other run on the host can have (its argument names it)
    naps = f"{317 + random.randrange(10**6) / 10**6:.6f}"
    (tree / "Makefile").write_text(
        "VERSION = 4\nPATCHLEVEL = 7\nSUBLEVEL = 0\nEXTRAVERSION =\n"
        f"tinyconfig:\n\t@touch {marker}; sleep {naps} && echo job-finished\n"
    )
    env = {**os.environ, "MMI_CACHE_DIR": str(tmp_path / "cache"), "KERNEL_SRC_4_7": str(tree)}
    proc = subprocess.Popen(
        [*MMI, "build", "--arch", "x86_64", "--kver", "4.7"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
        preexec_fn=as_from_a_terminal,
    )
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "make never started its job"
    children = _children_of(proc.pid)
    assert _pids_matching(f"sleep {naps}"), "the job is not running: the test proves nothing"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("mm-inspector: interrupted")
    deadline = time.monotonic() + 10  # make's jobs are SIGTERMed: they go within moments
    while (left := _pids_matching(f"sleep {naps}")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == [], f"build jobs left running: {left}"
    assert [_cmdline(p) for p in children if _alive(p)] == []


@pytest.mark.vm
@pytest.mark.parametrize("command", ["boot", "inspect", "buddy"])
def test_sigkill_leaves_no_qemu_or_gdb(tmp_path, command):
    """mm-inspector killed outright (SIGKILL: no handler runs) still leaves no QEMU, no gdb and
    no RAM: QEMU and gdb die with the process that started them, and the guest's RAM is in
    memfds named after the run, held by nobody once they are gone."""
    env = {**os.environ, "MMI_RUNS_DIR": str(tmp_path / "runs")}
    argv = [*MMI, command, "--arch", "x86_64", "--kver", "6.12"]
    extra = {"boot": ["--run", "sleep 120"], "inspect": [], "buddy": ["--watch", "1"]}[command]
    proc = subprocess.Popen(
        argv + extra,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=REPO,
        start_new_session=True,  # as a user's shell would: our kill reaches mm-inspector alone
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list((tmp_path / "runs").glob("*/qemu.started")):
        time.sleep(0.05)
    # what must go with it: QEMU, gdb (inspect), the janitor; wait for them, not for a time
    wanted = ["qemu-system", *(["gdb"] if command == "inspect" else [])]
    while time.monotonic() < deadline:
        children = _children_of(proc.pid)
        names = " ".join(_cmdline(p) for p in children)
        if all(w in names for w in wanted):
            break
        time.sleep(0.05)
    assert all(w in names for w in wanted), f"not started: {wanted} in {names}"
    if command != "boot":  # inspect and buddy hold the guest's RAM in memfds
        assert memfds_left(tmp_path / "runs"), "no RAM memfd was found: the check proves nothing"
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10  # the parent-death signals take a moment to land
    while time.monotonic() < deadline and (
        [p for p in children if _alive(p)] or memfds_left(tmp_path / "runs")
    ):
        time.sleep(0.1)
    assert_no_qemu_left(tmp_path)
    assert [_cmdline(p) for p in children if _alive(p)] == []
    assert memfds_left(tmp_path / "runs") == []


def _socket_inodes(pid: int) -> set[str]:
    out = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            out.add(target[len("socket:[") : -1])
    return out


def _inet_inodes() -> set[str]:
    """Inodes of every TCP and UDP socket on the host (IPv4 and IPv6)."""
    out = set()
    for name in ("tcp", "tcp6", "udp", "udp6"):
        p = Path("/proc/net") / name
        if p.exists():
            for line in p.read_text().splitlines()[1:]:
                fields = line.split()
                if len(fields) > 9:
                    out.add(fields[9])
    return out


@pytest.mark.vm
def test_no_way_in(tmp_path):
    """QEMU has no TCP or UDP socket (its sockets are checked, not its command line), and the
    run directory and every socket and file QEMU makes there are the user's alone."""
    env = {**os.environ, "MMI_RUNS_DIR": str(tmp_path / "runs")}
    proc = subprocess.Popen(
        # the guest waits until the checks are done (the test ends it), not for a time
        [*MMI, "boot", "--arch", "x86_64", "--kver", "6.12", "--run", "sleep 600"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        deadline = time.monotonic() + 120
        logs: list[Path] = []
        while time.monotonic() < deadline:
            logs = list((tmp_path / "runs").glob("*/console.log"))
            if logs and "userspace up" in logs[0].read_text(errors="replace"):
                break
            time.sleep(0.1)
        run_dir = logs[0].parent
        pid = int((run_dir / "qemu.started").read_text())
        sockets = _socket_inodes(pid)
        assert sockets, "QEMU holds no socket: the test proves nothing"
        assert sockets & _inet_inodes() == set()
        assert run_dir.stat().st_mode & 0o077 == 0
        for p in [*run_dir.iterdir(), *(run_dir / "sockets").glob("*")]:
            if p.name.endswith(".sock") or p.name in ("qemu.pid", "qemu.stderr"):
                assert p.lstat().st_mode & 0o077 == 0, f"{p.name} is {oct(p.lstat().st_mode)}"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err


def _last_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode != 0, proc.stdout[-500:]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return proc.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--smp", "65"], "CONFIG_NR_CPUS=64"),
        (["--mem", "4096G"], "would have this host back about"),
        (["--append", 'mem=1G "oops'], "quote that does not close"),
        (["--smp", "two"], "bad SMP"),
    ],
    ids=["smp-above-nr-cpus", "mem-above-host", "unclosed-quote", "smp-not-a-number"],
)
def test_bad_guest_request_is_one_line(tmp_path, args, needle):
    proc = run(["boot", "--arch", "x86_64", "--kver", "6.12", *args, "--run", "true"], tmp_path)
    assert needle in _last_line(proc)
    assert not list((tmp_path / "runs").glob("*/qemu.started")), "nothing may start"


def test_a_guest_too_big_even_sparse_is_one_line(tmp_path):
    """inspect keeps guest RAM in sparse memfds, so only what the guest touches (about 1/60 of
    its RAM) must fit; beyond that, one line naming the estimate, and nothing starts."""
    proc = run(["inspect", "--arch", "x86_64", "--kver", "6.12", "--mem", "4000G"], tmp_path)
    last = _last_line(proc)
    assert "would have this host back about" in last and "ask for less" in last
    assert not list((tmp_path / "runs").glob("*/qemu.started")), "nothing may start"


def test_more_numa_nodes_than_max_numnodes(tmp_path):
    numa = ",".join(["64M"] * 17)  # arm64 6.12: NODES_SHIFT=4, 16 nodes
    proc = run(
        ["boot", "--arch", "arm64", "--kver", "6.12", "--numa", numa, "--smp", "17"], tmp_path
    )
    assert "CONFIG_NODES_SHIFT=4" in _last_line(proc)


def _finished_run(tmp_path: Path) -> Path:
    """A run directory shaped like a finished inspect run, around one real snapshot file."""
    from inspector.schema import KernelId, Snapshot

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    Snapshot("free_area_init", KernelId("6.12", "6.12.0", "x86_64")).write(
        run_dir / "00-free_area_init.json"
    )
    (run_dir / "complete.json").write_text("{}\n")
    return run_dir


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda t: t[: len(t) // 2], "not a whole snapshot"),
        (lambda t: t.replace('"schema": 3', '"schema": 99'), "newer than this mm-inspector"),
        (lambda t: t.replace('"schema": 3', '"schema": 1'), "capture it again"),
        (lambda t: t.replace('"nodes": []', '"nodes": 7'), "does not hold a snapshot"),
    ],
    ids=["truncated", "newer-schema", "older-schema", "hand-edited"],
)
def test_damaged_snapshot_is_one_line(tmp_path, edit, needle):
    run_dir = _finished_run(tmp_path)
    snap = run_dir / "00-free_area_init.json"
    snap.write_text(edit(snap.read_text()))
    line = _last_line(run(["compare", str(run_dir)], tmp_path))
    assert needle in line and "00-free_area_init.json" in line


@pytest.mark.vm
def test_full_disk_while_capturing(tmp_path):
    """A runs directory that fills up mid-capture: one line naming the file, nothing left."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", str(mnt)]).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        env = {**os.environ, "MMI_RUNS_DIR": str(mnt)}
        proc = subprocess.run(
            [*MMI, "inspect", "--arch", "x86_64", "--kver", "6.12"],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            timeout=300,
        )
        line = _last_line(proc)
        assert "No space left on device" in line and str(mnt) in line
        started = list(mnt.glob("*/qemu.started"))
        assert started and not list(mnt.glob("*/complete.json"))
        for record in started:
            cmd = Path(f"/proc/{int(record.read_text())}/cmdline")
            assert not cmd.exists() or b"qemu-system" not in cmd.read_bytes()
    finally:
        subprocess.run(["umount", "-l", str(mnt)])


def test_kernel_src_4_7_that_is_a_4_8_tree(tmp_path):
    tree = tmp_path / "linux-4.8"
    tree.mkdir()
    (tree / "Makefile").write_text("VERSION = 4\nPATCHLEVEL = 8\nSUBLEVEL = 0\nEXTRAVERSION =\n")
    env = {**os.environ, "MMI_CACHE_DIR": str(tmp_path / "cache"), "KERNEL_SRC_4_7": str(tree)}
    proc = subprocess.run(
        [*MMI, "build", "--arch", "x86_64", "--kver", "4.7"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    line = _last_line(proc)
    assert "4.8.0" in line and "not 4.7" in line


@pytest.mark.vm
def test_a_guest_filling_its_ram_is_stopped_by_the_guard(tmp_path):
    """Guest RAM is backed only where the guest writes (reserve=off), so a 4 GiB guest starts on
    a host that could not hold it; what it touches is bounded. With the bound at 700M, a RUN that
    writes 3000 MiB into the guest's tmpfs makes QEMU's resident memory cross it: QEMU is
    killed at once and the error says why in one line; no QEMU is left."""
    fill = "dd if=/dev/zero of=/fill bs=1M count=3000; echo filled"
    guest = ["boot", "--arch", "x86_64", "--kver", "6.12", "--mem", "4G", "--timeout", "300"]
    proc = run([*guest, "--run", fill], tmp_path, env={"MMI_HOST_GUARD": "700M"})
    line = one_line_error(proc, "more than the 700M this host can spare", "MMI_HOST_GUARD")
    assert "filled" not in proc.stdout, line
    run_dir = next((tmp_path / "runs").iterdir())
    assert (run_dir / "guard.txt").read_text().strip() == line.removeprefix("mm-inspector: error: ")
    pid = int((run_dir / "qemu.started").read_text())
    assert not Path(f"/proc/{pid}").exists()
