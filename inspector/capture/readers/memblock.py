"""Stop 1, the model's inputs: memblock.memory and .reserved (mm/memblock.c), x86's
numa_meminfo and the NUMA distance table, the cpu→node map, the firmware map (x86's e820 table,
arm64's DT memory), boot_command_line, and the variables the model starts from (stop 1) or
learns at the hand-off (ACPI's IOAPIC count and HPET base).
"""

from __future__ import annotations

from inspector import decode
from inspector.capture.readers.nodes import NodeReader
from inspector.debug.layout import View
from inspector.schema import FirmwareRange, Inputs, Memblock, MemblockRegion

# arch/x86/include/uapi/asm/e820.h (4.7) and arch/x86/include/asm/e820/types.h (6.12)
E820_TYPES = {
    1: "usable",
    2: "reserved",
    3: "ACPI data",
    4: "ACPI NVS",
    5: "unusable",
    7: "persistent (legacy)",
    12: "persistent",
    13: "soft reserved",
}
_MASK64 = decode.MASK64


class InputReader(NodeReader):
    """Stop 1's inputs and the hand-off's later inputs."""

    def memblock(self, mb: View | None = None) -> Memblock:
        """memblock.memory and .reserved (``mb``: the ``memblock`` struct if already read)."""
        mb = mb or self.var("memblock")
        return Memblock(self._regions(mb.sub("memory")), self._regions(mb.sub("reserved")))

    def _regions(self, mtype: View) -> list[MemblockRegion]:
        cnt, ptr = mtype["cnt"], mtype["regions"]
        size = self.layout.sizeof("struct memblock_region")
        data = self.gdb.read(ptr, cnt * size)
        out = []
        for i in range(cnt):
            r = View(self.layout.type("struct memblock_region"), data, i * size)
            nid = r["nid"] if self.layout.has_member("struct memblock_region", "nid") else 0
            out.append(MemblockRegion(r["base"], r["size"], nid, r["flags"]))
        # memblock keeps one empty region in an empty type
        return [r for r in out if r.size]

    def numa_meminfo(self) -> list[MemblockRegion]:
        if not self.layout.has_symbol("numa_meminfo"):  # x86 only
            return []
        mi = self.var("numa_meminfo")
        return [
            MemblockRegion(b["start"], b["end"] - b["start"], b["nid"])
            for b in mi.views("blk", mi["nr_blks"])
        ]

    def node_distance(self, nodes: list[int]) -> list[list[int]]:
        """numa_distance[from * cnt + to]; LOCAL/REMOTE defaults when the table is not set."""
        cnt = self.var_int("numa_distance_cnt") if self.layout.has_symbol("numa_distance") else 0
        n = max(nodes, default=0) + 1
        if cnt == 0:
            return [[10 if a == b else 20 for b in range(n)] for a in range(n)]
        table = self.gdb.read(self.var_int("numa_distance"), cnt * cnt)
        return [[table[a * cnt + b] for b in range(cnt)] for a in range(cnt)]

    def cpu_to_node(self) -> list[int]:
        """The arch's cpu→node map as it stands (-1: not assigned yet)."""
        n = self.nr_cpu_ids
        if self.layout.has_symbol("x86_cpu_to_node_map_early_ptr"):
            if self.var_int("x86_cpu_to_node_map_early_ptr"):
                return self.var("x86_cpu_to_node_map_early_map").array("")[:n]
            addr = self.layout.address("x86_cpu_to_node_map")
            return [
                int.from_bytes(self.gdb.read((addr + off) & _MASK64, 4), "little", signed=True)
                for off in self.per_cpu_offset
            ]
        if self.layout.has_symbol("cpu_to_node_map"):  # arm64
            return self.var("cpu_to_node_map").array("")[:n]
        return []

    def firmware_map(self, memblock: Memblock) -> list[FirmwareRange]:
        """x86_64: the e820 table; elsewhere the DT memory, as memblock.memory holds it."""
        if self.layout.has_symbol("e820"):  # 4.7: struct e820map e820
            t = self.var("e820")
            entries = t.views("map", t["nr_map"])
        elif self.layout.has_symbol("e820_table"):  # 6.12: struct e820_table *e820_table
            t = self.struct_at("struct e820_table", self.var_int("e820_table"))
            entries = t.views("entries", t["nr_entries"])
        else:
            return [FirmwareRange(r.base, r.base + r.size, "memory") for r in memblock.memory]
        return [
            FirmwareRange(
                e["addr"], e["addr"] + e["size"], E820_TYPES.get(e["type"], str(e["type"]))
            )
            for e in entries
        ]

    def inputs(self, max_zone_pfn_addr: int) -> Inputs:
        max_zone_pfn = [
            int.from_bytes(b, "little")
            for b in _chunks(self.gdb.read(max_zone_pfn_addr, 8 * self.max_nr_zones), 8)
        ]
        mb_view = self.var("memblock")
        mb = self.memblock(mb_view)
        nodes = self.online_nodes()
        return Inputs(
            max_zone_pfn=max_zone_pfn,
            zone_names=self.zone_names,
            memblock=mb,
            numa_meminfo=self.numa_meminfo(),
            node_distance=self.node_distance(nodes),
            cpu_to_node=_trim_unassigned(self.cpu_to_node()),
            firmware_map=self.firmware_map(mb),
            cmdline=self.var("boot_command_line").data.split(b"\0", 1)[0].decode(errors="replace"),
            constants=self.constants() | self.stop1_variables(mb_view),
            online_nodes=nodes,
            possible_nodes=self.nodes_in("N_POSSIBLE"),
        )

    def stop1_variables(self, mb: View) -> dict[str, int]:
        """Kernel variables the model starts from, as they stand at stop 1: max_low_pfn (the
        clamp of nobootmem's __free_memory_core), memblock.current_limit (the top of early
        allocations), x86's phys_base (__pa_symbol() of the kernel image)."""
        out = {
            "max_low_pfn": self.var_int("max_low_pfn"),
            "memblock.current_limit": mb["current_limit"],
        }
        if self.layout.arch.name == "x86_64":  # an asm symbol (head_64.S): no DWARF type
            out["phys_base"] = self.ulong(self.layout.address("phys_base"))
        if self.layout.has_symbol("e820_table_firmware"):  # 6.12: the BIOS map, kept whole
            t = self.struct_at("struct e820_table", self.var_int("e820_table_firmware"))
            out["nr_e820_firmware"] = t["nr_entries"]
        for name in ("max_pfn", "max_possible_pfn", "memstart_addr", "dma_reserve"):
            # the top of RAM (x86's pci_swiotlb_detect_4gb()), arm64's PHYS_OFFSET, and x86's
            # memblock_find_dma_reserve() result (computed in setup_arch(), before stop 1)
            if self.layout.has_symbol(name):
                out[name] = self.var_int(name)
        return out

    def handoff_variables(self) -> dict[str, int]:
        """What ACPI's MADT and HPET tables set after stop 1 (x86_64): the IOAPIC count and
        the HPET base, which size ioapic_setup_resources() and acpi_parse_hpet()."""
        return {
            n: self.var_int(n) for n in ("nr_ioapics", "hpet_address") if self.layout.has_symbol(n)
        }


def _trim_unassigned(cpu_to_node: list[int]) -> list[int]:
    """Drop the trailing CPUs not assigned a node yet (-1): at free_area_init(_nodes) entry
    nr_cpu_ids is still NR_CPUS on both arches."""
    while cpu_to_node and cpu_to_node[-1] < 0:
        cpu_to_node.pop()
    return cpu_to_node


def _chunks(data: bytes, n: int) -> list[bytes]:
    return [data[i : i + n] for i in range(0, len(data), n)]
