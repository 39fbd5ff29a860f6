"""Where every stop is named, once: each role of the stop plan and its name in each kernel version.

A stop's *role* is what it is for (stop 1's inputs, the hand-off, the watermarks); its *name* is
the kernel function the capture breaks in, which is what snapshots, the model, compare and the
report call it. Everything that needs a stop asks here.
"""

from __future__ import annotations

from enum import StrEnum

from inspector.errors import InspectorError


class Role(StrEnum):
    INPUTS = "inputs"  # stop 1, entry: what the model starts from
    NODE = "node"  # free_area_init_core entry, per node
    MEMMAP = "memmap"  # memmap_init_zone / memmap_init_range return, per zone
    ZONELISTS = "zonelists"  # build_all_zonelists return
    HANDOFF = "handoff"  # free_all_bootmem / memblock_free_all entry: memblock handed over
    BUDDY = "buddy"  # the same function's return: the buddy allocator
    # page_alloc_init_late return (CONFIG_DEFERRED_STRUCT_PAGE_INIT): the deferred struct pages
    DEFERRED = "deferred"
    WMARKS = "wmarks"  # init_per_zone_wmark_min return


RETURN = ".return"  # a stop captured at entry and at return names its return snapshot so

STOP_NAMES: dict[str, dict[Role, str]] = {
    "4.7": {
        Role.INPUTS: "free_area_init_nodes",
        Role.NODE: "free_area_init_core",
        Role.MEMMAP: "memmap_init_zone",
        Role.ZONELISTS: "build_all_zonelists",
        Role.HANDOFF: "free_all_bootmem",
        Role.BUDDY: "free_all_bootmem" + RETURN,
        Role.DEFERRED: "page_alloc_init_late",
        Role.WMARKS: "init_per_zone_wmark_min",
    },
    # 6.1 has 6.12's names (the change record "stop-renames" in inspector.kernel_changes;
    # memmap_init_range() and init_per_zone_wmark_min() read from 6.1's mm/page_alloc.c)
    "6.12": {
        Role.INPUTS: "free_area_init",
        Role.NODE: "free_area_init_core",
        Role.MEMMAP: "memmap_init_range",
        Role.ZONELISTS: "build_all_zonelists",
        Role.HANDOFF: "memblock_free_all",
        Role.BUDDY: "memblock_free_all" + RETURN,
        Role.DEFERRED: "page_alloc_init_late",
        Role.WMARKS: "init_per_zone_wmark_min",
    },
}
STOP_NAMES["6.1"] = dict(STOP_NAMES["6.12"])


def stop_name(version: str, role: Role) -> str:
    """The snapshot name of ``role`` in Linux ``version``."""
    try:
        return STOP_NAMES[version][role]
    except KeyError:
        raise InspectorError(
            f"no stop plan for Linux {version}: choose one of {', '.join(STOP_NAMES)}"
        ) from None


def role_of(version: str, name: str) -> Role:
    """The role of the stop called ``name`` in Linux ``version``."""
    for role, stop in STOP_NAMES.get(version, {}).items():
        if stop == name:
            return role
    raise InspectorError(f"{name!r} is no stop of the Linux {version} plan")


def names_of(role: Role) -> tuple[str, ...]:
    """``role``'s name in every version (for readers of runs of any version)."""
    return tuple(dict.fromkeys(names[role] for names in STOP_NAMES.values()))
