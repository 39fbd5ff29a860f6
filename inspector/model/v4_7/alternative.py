"""x86's alternative_instructions() (arch/x86/kernel/alternative.c, 4.7): the SMP-alternatives
pages freed before the initcalls.
"""

from __future__ import annotations

from inspector.model.common import early_param_last, early_params, pfn_down, pfn_up
from inspector.model.v4_7.memmap import page_zone
from inspector.model.v4_7.state import NR_CPUS_DEFAULT, START_KERNEL_MAP, Linux47State


def alternative_instructions(m: Linux47State) -> None:
    # mirrors alternative_instructions() (arch/x86/kernel/alternative.c, 4.7), CONFIG_SMP:
    # unless the kernel was patched to UP while more CPUs are possible, free_init_pages()
    # (arch/x86/mm/init.c) hands [__smp_locks, __smp_locks_end) back page by page through
    # free_reserved_area(): adjust_managed_page_count(+1) per page. Present CPUs = possible
    # CPUs on these machines (no hotplug slots).
    if m.arch.name != "x86_64" or m.inputs.smp_locks is None:
        return
    noreplace_smp = any(n == "noreplace-smp" for n, _ in early_params(m.inputs.cmdline))
    setup_max_cpus = max_cpus(m)
    uniproc_patched = not noreplace_smp and (m.nr_cpu_ids == 1 or setup_max_cpus <= 1)
    if uniproc_patched and m.nr_cpu_ids != 1:
        return
    begin, end = m.inputs.smp_locks
    # free_reserved_area(): PAGE_ALIGN(start) .. end & PAGE_MASK, via __pa_symbol()
    start_pfn = pfn_up(begin - START_KERNEL_MAP + (m.inputs.phys_base or 0), 12)
    end_pfn = pfn_down(end - START_KERNEL_MAP + (m.inputs.phys_base or 0), 12)
    for pfn in range(start_pfn, end_pfn):
        m.zone(*page_zone(m, pfn)).managed_pages += 1  # adjust_managed_page_count()
        m.totalram_pages += 1


def max_cpus(m: Linux47State) -> int:
    """setup_max_cpus (init/main.c, 4.7 and 6.12): NR_CPUS unless ``maxcpus=`` (``nosmp``: 0)."""
    maxcpus = early_param_last(m.inputs.cmdline, "maxcpus")
    value = int(maxcpus) if maxcpus and maxcpus.isdigit() else NR_CPUS_DEFAULT
    if any(n == "nosmp" for n, _ in early_params(m.inputs.cmdline)):
        value = 0
    return value
