"""Which Linux 6.12 function computes each field the model predicts, for compare's reports."""

from __future__ import annotations

FUNCTIONS: dict[str, str] = {
    "node.node_start_pfn": "free_area_init_node() (mm/mm_init.c)",
    "node.node_spanned_pages": "calculate_node_totalpages() (mm/mm_init.c)",
    "node.node_present_pages": "calculate_node_totalpages() (mm/mm_init.c)",
    "node.nr_zones": "init_currently_empty_zone() (mm/mm_init.c)",
    "zone.zone_start_pfn": "zone_spanned_pages_in_node() (mm/mm_init.c)",
    "zone.spanned_pages": "zone_spanned_pages_in_node() (mm/mm_init.c)",
    "zone.present_pages": "zone_absent_pages_in_node() (mm/mm_init.c)",
    "zone.managed_pages": "zone_init_internals() (mm/mm_init.c)",
    "zone.pageblock_migratetypes": "memmap_init_range() (mm/mm_init.c)",
    "zone": "free_area_init_core() (mm/mm_init.c)",
    "node": "free_area_init() (mm/mm_init.c)",
    "zonelist": "build_zonelists() (mm/page_alloc.c)",
    "zonelist.zones": "build_zonelists() (mm/page_alloc.c)",
    "globals.page_group_by_mobility_disabled": "build_all_zonelists() (mm/page_alloc.c)",
    "globals.policy_zone": "check_highest_zone() (mm/page_alloc.c)",
    "globals.nr_online_nodes": "free_area_init() (mm/mm_init.c)",
    "globals.nr_kernel_pages": "calc_nr_kernel_pages() (mm/mm_init.c)",
    "globals.nr_all_pages": "calc_nr_kernel_pages() (mm/mm_init.c)",
    "globals.movable_zone": "find_usable_zone_for_movable() (mm/mm_init.c)",
    "globals.zone_movable_pfn": "find_zone_movable_pfns_for_nodes() (mm/mm_init.c)",
    "globals.required_kernelcore": "cmdline_parse_kernelcore() (mm/mm_init.c)",
    "globals.required_movablecore": "cmdline_parse_movablecore() (mm/mm_init.c)",
    "globals.arch_zone_lowest_possible_pfn": "free_area_init() (mm/mm_init.c)",
    "globals.arch_zone_highest_possible_pfn": "free_area_init() (mm/mm_init.c)",
    "globals.arg": "memmap_init() (mm/mm_init.c)",
}
