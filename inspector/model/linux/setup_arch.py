"""Linux 6.12: the memblock allocations of the rest of setup_arch() after free_area_init(),
the firmware resources: x86's HPET, IOAPIC and e820 resources (acpi_parse_hpet() in
arch/x86/kernel/acpi/boot.c, ioapic_setup_resources() in arch/x86/kernel/apic/io_apic.c,
e820__reserve_resources() in arch/x86/kernel/e820.c, from arch/x86/kernel/setup.c), arm64's
request_standard_resources() (arch/arm64/kernel/setup.c).
"""

from __future__ import annotations

from inspector.errors import InspectorError
from inspector.model.linux.early import EarlyState612

# unchanged since 4.7: the x86 resource name sizes
from inspector.model.linux.start_kernel_v4 import HPET_RESOURCE_NAME_SIZE, IOAPIC_RESOURCE_NAME_SIZE

# E820_TYPE_RAM and E820_TYPE_RESERVED_KERN (128), as the capture names e820 types
E820_RAM = ("usable", "128")


class ArchResources612(EarlyState612):
    """setup_arch()'s firmware resources, after free_area_init()."""

    def acpi_parse_hpet(self) -> None:
        # mirrors acpi_parse_hpet() (arch/x86/kernel/acpi/boot.c, 6.12), from acpi_boot_init()
        if self.mi.config_hpet_timer and self.mi.hpet_address:
            size = self.sizeof("struct resource") + HPET_RESOURCE_NAME_SIZE
            self.memblock_alloc(size, self.smp_cache_bytes, "acpi_parse_hpet")

    def ioapic_setup_resources(self) -> None:
        # mirrors ioapic_setup_resources() (arch/x86/kernel/apic/io_apic.c, 6.12), from
        # io_apic_init_mappings()
        if self.mi.nr_ioapics:
            n = (IOAPIC_RESOURCE_NAME_SIZE + self.sizeof("struct resource")) * self.mi.nr_ioapics
            self.memblock_alloc(n, self.smp_cache_bytes, "ioapic_setup_resources")

    def e820__reserve_resources(self) -> None:
        # mirrors e820__reserve_resources() (arch/x86/kernel/e820.c, 6.12): the resources,
        # then with CONFIG_FIRMWARE_MEMMAP a firmware_map_add_early() (drivers/firmware/
        # memmap.c) for each entry of the BIOS map (e820_table_firmware)
        n = self.sizeof("struct resource") * self.mi.nr_e820
        self.memblock_alloc(n, self.smp_cache_bytes, "e820__reserve_resources")
        if self.mi.config_firmware_memmap:
            for _ in range(self.mi.nr_e820_firmware):
                size = self.sizeof("struct firmware_map_entry")
                self.memblock_alloc(size, self.smp_cache_bytes, "firmware_map_add_early")

    def e820__register_nosave_regions(self) -> None:
        # mirrors e820__register_nosave_regions(max_pfn) (arch/x86/kernel/e820.c, 6.12) under
        # CONFIG_HIBERNATION: the holes and the non-RAM entries below max_pfn, each a
        # register_nosave_region() (kernel/power/snapshot.c) that extends the last region
        # when it starts where that one ends, else takes a struct nosave_region from memblock
        if not self.mi.config_hibernation:
            return
        if not self.mi.max_pfn:
            raise InspectorError("max_pfn was not captured at stop 1: capture the run again")
        ps = self.page_shift
        last_end: int | None = None

        def register(start: int, end: int) -> None:
            nonlocal last_end
            if start >= end:
                return
            if last_end != start:
                size = self.sizeof("struct nosave_region")
                self.memblock_alloc(size, self.smp_cache_bytes, "register_nosave_region")
            last_end = end

        pfn = 0
        for start, end, kind in self.mi.e820_table:
            up = (start + (1 << ps) - 1) >> ps  # PFN_UP(entry->addr)
            if pfn < up:
                register(pfn, up)
            pfn = end >> ps  # PFN_DOWN(entry->addr + entry->size)
            if kind not in E820_RAM:
                register(up, pfn)
            if pfn >= self.mi.max_pfn:
                break

    def x86_setup_arch(self) -> None:
        # setup_arch() after x86_init.paging.pagetable_init() (arch/x86/kernel/setup.c, 6.12):
        # acpi_boot_init(), io_apic_init_mappings(), e820__reserve_resources(),
        # e820__register_nosave_regions(max_pfn)
        self.acpi_parse_hpet()
        self.ioapic_setup_resources()
        self.e820__reserve_resources()
        self.e820__register_nosave_regions()

    def request_standard_resources(self) -> None:
        # mirrors request_standard_resources() (arch/arm64/kernel/setup.c, 6.12): one array of
        # memblock.memory.cnt resources (4.7 allocated one resource per region, below the DMA
        # limit)
        n = len(self.mb.memory) * self.sizeof("struct resource")
        self.memblock_alloc(n, self.smp_cache_bytes, "request_standard_resources")
