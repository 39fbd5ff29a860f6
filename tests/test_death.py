"""A kernel that dies says why at once (inspector.debug.death, the console's panic match): the
panic message formatted from the registers as vsnprintf() would, the oops's own line, and on
real guests of every target a kernel killed by ``mem=1M`` in setup_arch ending the run with
one line naming the death and its function, under gdb (inspect) and without (boot)."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspector.debug.death import death_line, format_printk
from inspector.pytest_plugin import Target, mmi_targets
from inspector.vm.console import oops_context

from .cli import mmi


def test_a_panic_message_is_formatted_as_vsnprintf_would():
    memory = {0x1000: b"memblock_alloc_try_nid\0", 0x2000: (0x1234_5000).to_bytes(8, "little")}

    def read(address: int, size: int) -> bytes:
        return memory[address][:size]

    fmt = "%s: Failed to allocate %lu bytes align=0x%lx nid=%d from=%pa max_addr=%pa\n"
    minus_one = (1 << 64) - 1  # nid -1 in a 64-bit register; %d reads its low 32 bits
    got = format_printk(fmt, [0x1000, 4096, 64, minus_one, 0x2000], read)
    # the sixth argument was passed on the stack: not in the registers, shown as ?
    assert got == (
        "memblock_alloc_try_nid: Failed to allocate 4096 bytes align=0x40 nid=-1 "
        "from=0x0000000012345000 max_addr=?a"
    )
    assert (
        format_printk("100%% %c%02x %pS", [ord("A"), 7, 0xFFFF8000], read) == "100% A07 0xffff8000"
    )


def test_the_death_line_names_where_and_the_way_in():
    frames = ["panic", "alloc_low_pages", "alloc_low_page", "phys_pmd_init", "phys_pud_init"]
    frames += ["init_memory_mapping", "setup_arch", "start_kernel"]
    assert death_line("panic", "m", frames) == (
        'guest panicked in alloc_low_pages: "m" (start_kernel → setup_arch → … → '
        "phys_pmd_init → alloc_low_page → alloc_low_pages)"
    )
    assert (
        death_line("die", "Oops", ["die", "f", "g"], at="h") == 'guest oopsed in h: "Oops" (g → f)'
    )


def test_an_oops_before_the_panic_is_named():
    log = (
        "Unable to handle kernel NULL pointer dereference at virtual address 10\n"
        "pc : __bitmap_set+0x28/0x84\nKernel panic - not syncing: Attempted to kill the idle task!"
    )
    assert oops_context(log) == (
        ' (after "Unable to handle kernel NULL pointer dereference at virtual address 10" '
        "in __bitmap_set)"
    )
    assert oops_context("Kernel panic - not syncing: VFS: Unable to mount root fs") == ""


def _no_qemu_left(tmp_path: Path) -> None:
    for started in (tmp_path / "runs").glob("*/qemu.started"):
        assert not Path(f"/proc/{int(started.read_text())}").exists()


@pytest.mark.vm
@pytest.mark.parametrize("target", mmi_targets(("4.7", "6.12")), ids=str)
def test_a_kernel_killed_in_setup_arch_says_why(target: Target, tmp_path: Path) -> None:
    guest = ["--arch", target.arch.name, "--kver", target.version.name, "--append", "mem=1M"]
    inspect = mmi(["inspect", *guest], tmp_path)
    last = inspect.stderr.strip().splitlines()[-1]
    assert inspect.returncode != 0 and "Traceback" not in inspect.stderr
    assert last.startswith(
        ("mm-inspector: error: guest panicked in ", "mm-inspector: error: guest oopsed in ")
    ), last
    assert "the kernel's log, read from its memory, ends:" in inspect.stderr
    boot = mmi(["boot", *guest, "--run", "true", "--timeout", "300"], tmp_path)
    last = boot.stderr.strip().splitlines()[-1]
    assert (
        "guest panic while waiting for the guest's shell (boot): Kernel panic - not syncing:"
        in last
    )
    _no_qemu_left(tmp_path)
