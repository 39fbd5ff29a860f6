"""x86's alternative_instructions() (arch/x86/kernel/alternative.c, 4.7): the SMP-alternatives
pages freed before the initcalls.
"""

from __future__ import annotations

from inspector.model.chains import gp, zp
from inspector.model.common import early_param_last, early_params, pfn_down, pfn_up
from inspector.model.linux.memmap import page_zone
from inspector.model.linux.state import NR_CPUS_DEFAULT, START_KERNEL_MAP, BootState
from inspector.model.provenance import Given


def alternative_instructions(m: BootState) -> None:
    # mirrors alternative_instructions() (arch/x86/kernel/alternative.c, 4.7), CONFIG_SMP:
    # unless the kernel was patched to UP while more CPUs are possible, free_init_pages()
    # (arch/x86/mm/init.c) hands [__smp_locks, __smp_locks_end) back page by page through
    # free_reserved_area(): adjust_managed_page_count(+1) per page. Present CPUs = possible
    # CPUs on these machines (no hotplug slots).
    full = m.full_inputs()
    if m.arch.name != "x86_64" or full.smp_locks is None:
        return
    noreplace_smp = any(n == "noreplace-smp" for n, _ in early_params(m.inputs.cmdline))
    setup_max_cpus = max_cpus(m)
    uniproc_patched = not noreplace_smp and (m.nr_cpu_ids == 1 or setup_max_cpus <= 1)
    if uniproc_patched and m.nr_cpu_ids != 1:
        return
    begin, end = full.smp_locks
    # free_reserved_area(): PAGE_ALIGN(start) .. end & PAGE_MASK, via __pa_symbol()
    start_pfn = pfn_up(begin - START_KERNEL_MAP + (full.phys_base or 0), 12)
    end_pfn = pfn_down(end - START_KERNEL_MAP + (full.phys_base or 0), 12)
    freed: dict[tuple[int, int], int] = {}
    for pfn in range(start_pfn, end_pfn):
        m.zone(*page_zone(m, pfn)).managed_pages += 1  # adjust_managed_page_count()
        m.totalram_pages += 1
        freed[page_zone(m, pfn)] = freed.get(page_zone(m, pfn), 0) + 1
    _note(m, freed, end_pfn - start_pfn)


def _note(m: BootState, freed: dict[tuple[int, int], int], total: int) -> None:
    # the chains: managed_pages and totalram_pages grow by the pages of the SMP alternatives
    fn = "alternative_instructions() → free_init_pages() (arch/x86, both versions)"
    src = "pages of [__smp_locks, __smp_locks_end) (vmlinux symbols, phys_base)"
    renamed: dict[str, str] = {}
    for (nid, idx), n in freed.items():
        path = zp(m.zone(nid, idx), "managed_pages")
        if path in m.prov.chains:
            before = renamed[path] = m.prov.keep(path, "hand-off")
            m.prov.note(
                path,
                m.zone(nid, idx).managed_pages,
                "managed_pages + smp_locks_pages",
                fn,
                managed_pages=before,
                smp_locks_pages=Given(n, src),
            )
    path = gp("totalram_pages")
    if path in m.prov.chains and total > 0:
        before = m.prov.keep(path, "hand-off", renamed)
        m.prov.note(
            path,
            m.totalram_pages,
            "totalram_pages + smp_locks_pages",
            fn,
            totalram_pages=before,
            smp_locks_pages=Given(total, src),
        )


def max_cpus(m: BootState) -> int:
    """setup_max_cpus (init/main.c, 4.7 and 6.12): NR_CPUS unless ``maxcpus=`` (``nosmp``: 0)."""
    maxcpus = early_param_last(m.inputs.cmdline, "maxcpus")
    value = int(maxcpus) if maxcpus and maxcpus.isdigit() else NR_CPUS_DEFAULT
    if any(n == "nosmp" for n, _ in early_params(m.inputs.cmdline)):
        value = 0
    return value
