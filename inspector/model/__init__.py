"""The reference model of Linux memory initialisation (inspector.model.linux), registered once
per stop plan (4.7's function names, 6.1's and 6.12's) with the log lines each plan's kernels
print: compare, validate, the report and the CLI ask ``model_for``. The model itself is one,
run at the release of its inputs."""

from __future__ import annotations

import re

from inspector.errors import InspectorError
from inspector.kernel_changes import landed
from inspector.model.linux import replay
from inspector.model.linux.fields import FUNCTIONS
from inspector.model.spec import ModelSpec, Replay
from inspector.release import Release, family_of

# The memory-init lines of each version's log that its model predicts: each one printed must be
# predicted, and each predicted must have been printed.
LOG_LINES_4_7 = re.compile(
    r"^(Zone ranges:|  (DMA|DMA32|Normal|Movable|Device) +(\[mem|empty)"
    r"|Movable zone start for each node"
    r"|  Node \d+: 0x|Early memory node ranges|  node +\d+: \[mem|Initmem setup node"
    r"|On node \d+ totalpages:|  \w+ zone: \d+ pages (used for memmap|reserved|exceeds freesize)"
    r"|  \w+ zone: \d+ pages, LIFO batch:|Built \d+ zonelists|Policy zone:"
    r"|Could not find start_pfn|Memory: \d+K/\d+K available"
    r"|percpu: Embedded |(PID|Dentry cache|Inode-cache|Mount-cache|Mountpoint-cache) hash table"
    r"|software IO TLB \[mem)"
)
LOG_LINES_6_12 = re.compile(
    r"^(Zone ranges:|  (DMA|DMA32|Normal|Movable|Device) +(\[mem|empty)"
    r"|Movable zone start for each node"
    r"|  Node \d+: 0x|Early memory node ranges|  node +\d+: \[mem|Initmem setup node"
    r"|On node \d+, zone \w+: \d+ pages in unavailable ranges|Fallback order for Node \d+:"
    r"|Built \d+ zonelists|Policy zone:|The system has no mirror memory"
    r"|percpu: Embedded |percpu: cpu \d+ has no node"
    r"|(Dentry cache|Inode-cache|Mount-cache|Mountpoint-cache) hash table"
    r"|software IO TLB: |PCI-DMA: Using software bounce buffering)"
)
# 6.12's memblock=debug window: free_area_init() prints "Zone ranges:" before any allocation;
# kmem_cache_init() prints "SLUB:" right after mem_init()'s memblock_free_all() ("Memory:" comes
# much later in 6.12, from page_alloc_init_late())
TRACE_START_6_12 = re.compile(r"^Zone ranges:")
TRACE_END_6_12 = re.compile(r"^SLUB: ")

# 6.1's log: 6.12's lines, mem_init_print_info()'s "Memory:" line, which mm_init() still
# printed right after mem_init() (change "memory-line-late"), and free_area_init()'s line for
# an offline node (change "offline-node-line-dropped")
LOG_LINES_6_1 = re.compile(
    LOG_LINES_6_12.pattern[:-1]
    + r"|Memory: \d+K/\d+K available|Initializing node \d+ as memoryless)"
)


def log_lines_modern(release: str) -> re.Pattern[str]:
    """6.12's lines, and those a release before a change still printed: mem_init_print_info()'s
    "Memory:" line right after mem_init() (change "memory-line-late") and free_area_init()'s
    line for an offline node (change "offline-node-line-dropped")."""
    have = landed(release)
    extra = [
        pattern
        for change, pattern in (
            ("memory-line-late", r"Memory: \d+K/\d+K available"),
            ("offline-node-line-dropped", r"Initializing node \d+ as memoryless"),
        )
        if change not in have
    ]
    return re.compile(LOG_LINES_6_12.pattern[:-1] + "".join("|" + e for e in extra) + ")")


def _modern(version: str, log_lines: re.Pattern[str]) -> ModelSpec:
    # the stop plans from 5.11 on (6.12's stop names): the one model (inspector.model.linux)
    # at the release of the inputs, whose branches ask the change records
    return ModelSpec(
        version,
        replay,
        FUNCTIONS[version],
        log_lines,
        trace_start=TRACE_START_6_12,
        trace_end=TRACE_END_6_12,
        log_lines_by_release=log_lines_modern,
    )


MODELS: dict[str, ModelSpec] = {
    "4.7": ModelSpec("4.7", replay, FUNCTIONS["4.7"], LOG_LINES_4_7),
    "6.1": _modern("6.1", LOG_LINES_6_1),
    "6.12": _modern("6.12", LOG_LINES_6_12),
}


def model_for(version: str) -> ModelSpec:
    """The model of Linux ``version``, or a one-line error naming the versions that have one."""
    if version not in MODELS:
        raise InspectorError(
            f"no model for Linux {version} yet: models exist for {', '.join(MODELS)}"
        )
    return MODELS[version]


def model_for_release(release: str | Release) -> ModelSpec:
    """The model that runs a kernel of ``release`` (its changes decided by the release), or a
    one-line error naming the nearest covered release (inspector.release.family_of)."""
    return MODELS[family_of(release)]


def functions_for(version: str) -> dict[str, str]:
    spec = MODELS.get(version)
    return spec.functions if spec else {}


__all__ = [
    "LOG_LINES_4_7",
    "LOG_LINES_6_1",
    "LOG_LINES_6_12",
    "MODELS",
    "ModelSpec",
    "Replay",
    "functions_for",
    "model_for",
    "model_for_release",
]
