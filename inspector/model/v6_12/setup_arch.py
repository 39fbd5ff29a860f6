"""Linux 6.12: the memblock allocations of the rest of setup_arch() after free_area_init(),
the firmware resources: x86's HPET, IOAPIC and e820 resources (acpi_parse_hpet() in
arch/x86/kernel/acpi/boot.c, ioapic_setup_resources() in arch/x86/kernel/apic/io_apic.c,
e820__reserve_resources() in arch/x86/kernel/e820.c, from arch/x86/kernel/setup.c), arm64's
request_standard_resources() (arch/arm64/kernel/setup.c).
"""

from __future__ import annotations

# unchanged since 4.7: the x86 resource name sizes
from inspector.model.v4_7.start_kernel import HPET_RESOURCE_NAME_SIZE, IOAPIC_RESOURCE_NAME_SIZE
from inspector.model.v6_12.early import EarlyState612


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
        # mirrors e820__reserve_resources() (arch/x86/kernel/e820.c, 6.12)
        n = self.sizeof("struct resource") * self.mi.nr_e820
        self.memblock_alloc(n, self.smp_cache_bytes, "e820__reserve_resources")

    def x86_setup_arch(self) -> None:
        # setup_arch() after x86_init.paging.pagetable_init() (arch/x86/kernel/setup.c, 6.12):
        # acpi_boot_init(), io_apic_init_mappings(), e820__reserve_resources()
        self.acpi_parse_hpet()
        self.ioapic_setup_resources()
        self.e820__reserve_resources()

    def request_standard_resources(self) -> None:
        # mirrors request_standard_resources() (arch/arm64/kernel/setup.c, 6.12): one array of
        # memblock.memory.cnt resources (4.7 allocated one resource per region, below the DMA
        # limit)
        n = len(self.mb.memory) * self.sizeof("struct resource")
        self.memblock_alloc(n, self.smp_cache_bytes, "request_standard_resources")
