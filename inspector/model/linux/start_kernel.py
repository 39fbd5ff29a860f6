"""Linux 6.12: every memblock allocation and free from free_area_init() to memblock_free_all(),
in the kernel's order (init/main.c start_kernel(), arch/*/kernel/setup.c setup_arch()).

After free_area_init() 6.12 still allocates from memblock: the firmware resources (x86: HPET,
IOAPIC, e820; arm64: one resource per memblock.memory region), the two command-line copies, the
first per-cpu chunk and its bookkeeping, the unknown-parameters string print_unknown_bootoptions()
builds and frees, the dentry and inode hashes (without hashdist), x86's cpu_entry_area page
tables, and the swiotlb buffer with its slots and areas. Each is replayed on the model's
:class:`~inspector.model.memblock.MemblockState` (``m.mb``, which already holds the pg_data_t of
offline nodes from free_area_init()), each function citing the 6.12 code it mirrors. memblock at
memblock_free_all() entry is then a prediction, compared with the capture and, when the guest
booted with ``memblock=debug``, with the kernel's own trace, range by range.

What 6.12 changed since 4.7 (inspector/model/linux/start_kernel_v4.py): no zone wait tables and no
PID hash; two command-line copies, not three; PERCPU_DYNAMIC_EARLY_SIZE 20 KiB and the first
chunk's bitmaps (pcpu_alloc_first_chunk()) from memblock; alloc_large_system_hash() has a
low_limit and prints the allocator; d_hash_shift holds 32 - log2(entries); hashdist is cleared
when one node has memory; swiotlb has areas and slots, and on arm64 shrinks to 1/1024 of RAM when
no bounce is needed for ZONE_DMA.

One module per piece of kernel code, each a subclass of
:class:`~inspector.model.linux.early.EarlyState612`: ``setup_arch`` (the firmware resources),
``cmdline`` (setup_command_line(), the unknown parameters), ``percpu`` (the first chunk),
``hashes`` (alloc_large_system_hash()), ``cpu_entry_area`` (x86's trap_init()), ``swiotlb``
(mem_init()'s bounce buffer). :class:`EarlyAllocs612` here runs them in start_kernel()'s order.
"""

from __future__ import annotations

from inspector.errors import InspectorError
from inspector.model.common import early_param_last
from inspector.model.linux.cma import Cma612
from inspector.model.linux.cmdline import CommandLine612
from inspector.model.linux.cpu_entry_area import CpuEntryArea612
from inspector.model.linux.hashes import LargeSystemHash612
from inspector.model.linux.percpu import Percpu612
from inspector.model.linux.setup_arch import ArchResources612
from inspector.model.linux.state import BootState
from inspector.model.linux.swiotlb import Swiotlb612

PRB_AVGBITS = 5  # kernel/printk/printk.c: an average record of 32 bytes per descriptor
LOG_ALIGN = 8  # __alignof__(unsigned long)


class EarlyAllocs612(
    ArchResources612,
    Cma612,
    CommandLine612,
    Percpu612,
    LargeSystemHash612,
    CpuEntryArea612,
    Swiotlb612,
):
    """The memblock allocations of one 6.12 boot between free_area_init() and
    memblock_free_all(), on ``m.mb``."""

    def __init__(self, m: BootState) -> None:
        super().__init__(m)
        self.setup_io_tlb_npages()

    def setup_log_buf(self) -> None:
        """setup_log_buf(0) (kernel/printk/printk.c, 6.12): log_buf_add_cpu() asks for
        __LOG_BUF_LEN + (possible CPUs - 1) << LOG_CPU_MAX_BUF_SHIFT, rounded up to a power of
        two (log_buf_len_update()), when that per-cpu extra exceeds half of __LOG_BUF_LEN;
        the new text buffer, its descriptors (the length >> PRB_AVGBITS of struct prb_desc)
        and their infos (struct printk_info) come from memblock_alloc(…, LOG_ALIGN), in that
        order. log_buf_len= (which x86 already acts on in setup_arch()) is not modelled."""
        if early_param_last(self.mi.cmdline, "log_buf_len"):
            raise InspectorError("a printk buffer sized by log_buf_len= is not modelled")
        n = self.mi.nr_possible_cpus
        base = 1 << self.mi.log_buf_shift
        extra = (n - 1) << self.mi.log_cpu_max_buf_shift
        if n == 1 or extra <= base // 2:
            return
        new_len = 1 << (extra + base - 1).bit_length()  # roundup_pow_of_two()
        descs = new_len >> PRB_AVGBITS
        self.memblock_alloc(new_len, LOG_ALIGN, "setup_log_buf")
        self.memblock_alloc(descs * self.sizeof("struct prb_desc"), LOG_ALIGN, "setup_log_buf")
        self.memblock_alloc(descs * self.sizeof("struct printk_info"), LOG_ALIGN, "setup_log_buf")

    # --- the whole stretch ---------------------------------------------------------------------

    def after_free_area_init(self) -> None:
        """From free_area_init()'s return to setup_per_cpu_areas() (init/main.c)."""
        if self.x86:
            self.x86_setup_arch()
        else:
            # bootmem_init() after zone_sizes_init() (arch/arm64/mm/init.c, 6.12), then
            # setup_arch()'s request_standard_resources()
            self.dma_contiguous_reserve(self.arch_low_address_limit() + 1)
            self.request_standard_resources()
        self.setup_command_line()
        self.setup_per_cpu_areas()

    def after_percpu(self) -> None:
        """From parse_args() to trap_init() (init/main.c); build_all_zonelists() runs before
        it until change "zonelists-in-mm-core-init", after it (mm_core_init()) since."""
        self.print_unknown_bootoptions()
        self.setup_log_buf()
        self.vfs_caches_init_early()
        if self.x86:
            self.setup_cpu_entry_areas()  # trap_init()

    def after_zonelists(self) -> None:
        """From build_all_zonelists() to memblock_free_all() entry (mm_core_init() →
        mem_init())."""
        if self.x86:
            self.x86_mem_init()
        else:
            self.arm64_mem_init()

    def handoff_globals(self) -> dict[str, int]:
        """The schema.GLOBALS_HANDOFF 6.12 still has, as these allocations leave them: the
        hash pointers in the linear map (NULL, shift 0 under hashdist until vfs_caches_init())
        and d_hash_shift as 32 - log2(entries); the first chunk's base and unit size."""
        g = {
            "dentry_hashtable": 0,
            "d_hash_shift": 0,
            "inode_hashtable": 0,
            "i_hash_shift": 0,
        }
        for h in self.hashes:
            if not h.base:
                continue
            log2 = h.entries.bit_length() - 1
            if h.name == "Dentry cache":
                g["dentry_hashtable"] = self.linear_map(h.base)
                g["d_hash_shift"] = 32 - log2
            elif h.name == "Inode-cache":
                g["inode_hashtable"] = self.linear_map(h.base)
                g["i_hash_shift"] = log2
        if self.percpu is not None:
            g["pcpu_base_addr"] = self.linear_map(self.percpu.base)
            g["pcpu_unit_size"] = self.percpu.unit_size
        return g
