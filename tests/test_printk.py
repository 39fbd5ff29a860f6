"""The kernel's log read out of guest memory (inspector.debug.printk): on every target, the
printk ring buffer's records, read from the RAM file while the guest is paused, are the lines
the guest's own ``dmesg`` printed just before, in order (4.7's log_buf, 6.1's and 6.12's prb)."""

from __future__ import annotations

import re

import pytest

from inspector.debug.layout import layout_for
from inspector.debug.printk import kernel_log
from inspector.live.session import live_guest
from inspector.pytest_plugin import Target, mmi_targets
from inspector.vm.guest import BootRequest
from inspector.vm.topology import parse_topology

PREFIX = re.compile(r"^\[\s*\d+\.\d+\] ?")


@pytest.mark.vm
@pytest.mark.parametrize("target", mmi_targets(), ids=str)
def test_the_ring_buffer_read_from_memory_is_dmesg(target: Target, tmp_path) -> None:
    req = BootRequest(target.version, target.arch, parse_topology("512M", 2, None, None))
    with live_guest(req, tmp_path, quiet=True) as lg:
        shown = [PREFIX.sub("", line) for line in lg.guest.run("dmesg").splitlines()]
        lg.pause()
        try:
            layout = layout_for(lg.guest.kernel.vmlinux, target.arch)
            records = kernel_log(lambda a, n: lg.lk.prog.read(a, n), layout)
        finally:
            lg.resume()
    lines = [line for record in records for line in record.split("\n")]
    assert len(shown) > 50 and any(s.startswith("Linux version") for s in shown[:2])
    assert lines[: len(shown)] == shown
