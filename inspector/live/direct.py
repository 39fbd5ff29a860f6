"""Kernel virtual memory of a paused live guest as views of its RAM files, without copies.

drgn's reads copy twice (our segment callback's bytes, then drgn's own buffer); a section's
memmap is 2 MiB, so a dump of a 4 GiB guest copies 64 MiB for nothing. Here the guest's page
tables (``init_mm.pgd``, walked by ``inspector.debug.pagetables``) give the physical address of
each page or block and the RAM file gives a view of it. The translation is checked once against
drgn's read; any doubt (5-level paging, an unknown granule, a mismatch) means no direct reads.
"""

from __future__ import annotations

import drgn

from inspector.debug.pagetables import Walker, arm64_walker, x86_64_walker
from inspector.errors import InspectorError
from inspector.live.lists import Direct, PageCache
from inspector.live.program import LiveKernel
from inspector.live.state import KernelConsts, page_cache


def _walker(lk: LiveKernel) -> Walker | None:
    prog = lk.prog
    root = lk.image.phys(prog["init_mm"].pgd.value_())
    if lk.arch == "x86_64":
        with_l5 = "__pgtable_l5_enabled"
        if any(s.name == with_l5 for s in prog.symbols(with_l5)) and prog[with_l5].value_():
            return None
        return x86_64_walker(root, 0)
    text = lk.vmcoreinfo.get("NUMBER(VA_BITS)")  # the image's address misleads: 5.4+ puts it
    if text is None:  # in the top half of the kernel range, one bit lower
        return None
    return arm64_walker(root, ((64 - int(text)) << 16) | (2 << 30))  # TCR_EL1: T1SZ, TG1 4 KiB


def direct_reader(lk: LiveKernel, probe: int) -> Direct | None:
    """A ``Direct`` for ``lk``'s kernel virtual memory; ``probe``: an address whose first page
    is checked against drgn's read (None when that check fails or no walk applies)."""
    try:
        walker = _walker(lk)
    except (LookupError, ValueError, drgn.FaultError):
        return None
    if walker is None:
        return None
    ram = lk.ram

    def view(va: int, size: int) -> list[memoryview] | None:
        """The views of the physically consecutive runs that map [va, va+size), in order."""
        runs: list[list[int]] = []  # [physical start, length]
        at, end = va, va + size
        while at < end:
            m = walker.translate(ram.u64, at)
            if m is None:
                return None
            n = min(m.size, end - at)
            if runs and runs[-1][0] + runs[-1][1] == m.phys:
                runs[-1][1] += n
            else:
                runs.append([m.phys, n])
            at += n
        try:
            views = [ram.view(phys, n) for phys, n in runs]
        except InspectorError:  # not RAM, or across two RAM pieces
            return None
        return views

    try:
        got = view(probe, 4096)
        if got is None or b"".join(got) != lk.prog.read(probe, 4096):
            return None
    except (drgn.FaultError, InspectorError):
        return None
    return view


def live_page_cache(lk: LiveKernel, k: KernelConsts) -> PageCache:
    """``page_cache`` for a paused live guest: sections read in place from its RAM files when
    the page-table walk checks out (else through drgn, as before)."""
    cache = page_cache(lk.prog, k)
    first = next((nr for nr, s in sorted(cache.sections.items()) if s.has_mem_map), None)
    if first is not None:
        cache.direct = direct_reader(lk, k.vmemmap + first * cache.section_bytes)
    return cache
