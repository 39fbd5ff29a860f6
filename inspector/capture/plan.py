"""The stop plan per kernel version: where to break and which capture handler runs there.

Stops, in the order the kernel reaches them (4.7 name; 6.12 in brackets):

1. ``free_area_init_nodes`` [``free_area_init``] entry: the inputs (schema.Inputs).
2. ``free_area_init_core`` entry, once per online node (inlined on both versions; gdb breaks at
   the inlined site; the node is the k-th online node on the k-th hit).
3. ``memmap_init_zone`` [``memmap_init_range``]: arguments at entry, the zone and its pageblock
   migratetypes at return (``finish``), once per populated zone (6.12: per zone range).
4. ``build_all_zonelists`` return: every node's zones (sizes final) and zonelists.
5. ``free_all_bootmem`` [``memblock_free_all``]: memblock at entry; free areas at return.
6. ``init_per_zone_wmark_min`` return: watermarks, lowmem_reserve, per-cpu pagesets.

With CONFIG_DEFERRED_STRUCT_PAGE_INIT (6.1, 6.12) a stop comes between 5 and 6: the return of
``page_alloc_init_late``, after the per-node ``deferred_init_memmap`` kthreads initialised the
rest of the struct pages and freed them (the zones' managed pages, their part of the free lists).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from inspector.capture.stops import Capture
from inspector.debug.gdb import Stop
from inspector.errors import InspectorError
from inspector.registry import Role, stop_name
from inspector.schema import Snapshot

Handler = Callable[[Capture, str, int, Stop | None], Snapshot | None]


@dataclass(frozen=True)
class StopSpec:
    """One stop: its role, where to break, and the capture handlers run at entry and after
    return (``Capture`` methods, referenced directly)."""

    role: Role
    name: str  # the snapshot's ``stop``: the kernel function (inspector.registry)
    entry: Handler | None  # run at the breakpoint
    on_return: Handler | None = None  # run after ``finish``; None: no finish
    repeat: bool = False  # hit once per node/zone; else deleted after its first hit
    inlined: bool = False  # no out-of-line copy: gdb's linespec finds the inlined site(s)
    # a loop over every page runs in it: while it runs no breakpoint stays on its pages and its
    # return is caught off them (inspector.debug.returns)
    hot: bool = False

    @property
    def function(self) -> str:
        """The breakpoint location: the kernel function the stop is named after."""
        return self.name


@dataclass(frozen=True)
class Plan:
    version: str
    stops: tuple[StopSpec, ...]
    # (the node mask free_area_init(_nodes) walks is the release's: inspector.capture.run's
    # init_nodes(), by change "possible-nodes")


def _plan(version: str, deferred: bool = False) -> Plan:
    """The same six stops on every version, named as the version names them; ``deferred``: and
    page_alloc_init_late's return before the watermarks."""

    def name(role: Role) -> str:
        return stop_name(version, role)

    return Plan(
        version,
        (
            StopSpec(Role.INPUTS, name(Role.INPUTS), Capture.on_inputs),
            StopSpec(Role.NODE, name(Role.NODE), Capture.on_node_entry, repeat=True, inlined=True),
            StopSpec(
                Role.MEMMAP,
                name(Role.MEMMAP),
                Capture.on_memmap_args,
                Capture.on_memmap_done,
                repeat=True,
                hot=True,
            ),
            StopSpec(Role.ZONELISTS, name(Role.ZONELISTS), None, Capture.on_zonelists),
            StopSpec(Role.HANDOFF, name(Role.HANDOFF), Capture.on_memblock, Capture.on_buddy),
            *(
                (StopSpec(Role.DEFERRED, name(Role.DEFERRED), None, Capture.on_deferred),)
                if deferred
                else ()
            ),
            StopSpec(Role.WMARKS, name(Role.WMARKS), None, Capture.on_watermarks),
        ),
    )


PLAN_4_7 = _plan("4.7")
PLAN_6_1 = _plan("6.1")
PLAN_6_12 = _plan("6.12")

PLANS = {p.version: p for p in (PLAN_4_7, PLAN_6_1, PLAN_6_12)}


def check_plan(plan: Plan, has_function: Callable[[str], bool], vmlinux: object) -> None:
    """Every stop of ``plan`` must be a function of the vmlinux (a user's tree that renamed or
    removed one gets a one-line error naming it)."""
    for s in plan.stops:
        if not s.inlined and not has_function(s.function):  # inlined: gdb's linespec says
            raise InspectorError(
                f"{vmlinux} has no function {s.function}: the stop plan of Linux {plan.version} "
                f"needs it (a tree is taken as the covered release whose functions match)"
            )


# the model replays deferred_init_memmap() at these plans (inspector.model.linux)
DEFERRED_VERSIONS = ("6.1", "6.12")


def plan_for(version: str, *, deferred: bool = False) -> Plan:
    """The stop plan of Linux ``version``; ``deferred``: the kernel was built with
    CONFIG_DEFERRED_STRUCT_PAGE_INIT (its pglist_data has ``first_deferred_pfn``), so the plan
    also stops where the deferred struct pages are done."""
    if version not in PLANS:
        raise InspectorError(f"no stop plan for Linux {version}: choose one of {', '.join(PLANS)}")
    if deferred:
        if version not in DEFERRED_VERSIONS:
            raise InspectorError(
                f"a Linux {version} kernel with CONFIG_DEFERRED_STRUCT_PAGE_INIT is not modelled: "
                f"build it without (the model replays deferred init for "
                f"{', '.join(DEFERRED_VERSIONS)})"
            )
        return _plan(version, deferred=True)
    return PLANS[version]


def plan_for_kernel(version: str, has_member: Callable[[str, str], bool]) -> Plan:
    """The stop plan of one vmlinux: its version's, with the deferred stop when its DWARF has
    pglist_data's ``first_deferred_pfn`` (only with CONFIG_DEFERRED_STRUCT_PAGE_INIT), the way
    drgn's helpers decide by probing the vmlinux."""
    return plan_for(version, deferred=has_member("struct pglist_data", "first_deferred_pfn"))
