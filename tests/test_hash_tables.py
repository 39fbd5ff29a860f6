"""The hash-table stage (inspector.model.hash_tables) on synthetic page counts: every expected
line derived by hand in the docstring, from alloc_large_system_hash()'s arithmetic."""

from __future__ import annotations

from inspector.kernel_changes import landed
from inspector.model.hash_tables import HashInputs, hash_tables, hashdist

TIB = 1 << 28  # pages of 4 KiB in 1 TiB


def _at(release: str, *, nodes: int = 2, cmdline: str = "", numa: bool = True) -> list[str]:
    h = HashInputs(
        nr_kernel_pages=TIB,
        nr_all_pages=TIB,
        memory_nodes=nodes,
        online_nodes=nodes,
        config_numa=numa,
        cmdline=cmdline,
    )
    t = hash_tables(h, landed(release))
    return [*t.early, "--", *t.late]


def test_a_tib_server_across_releases():
    """1 TiB (2^28 pages, a whole number of MiB), two nodes with memory.

    4.12 (no adaptive scale, PID hash, hashdist): PID scale 18: 2^28 >> 6 = 2^22, capped at
    4096 (order 3); dentry scale 13: >> 1 = 2^27 buckets of 8 bytes = 1 GiB (order 18);
    inode 14: 2^26, 512 MiB (order 17); mount/mountpoint 19: 2^21, 16 MiB (order 12).
    4.13 (9017217b6f45): 64 GiB is 2^24 pages; 2^24 < 2^28 → scale + 1, 2^26 < 2^28 → + 1,
    2^28 is not: scale + 2, so dentry 2^25 (256 MiB, order 16), inode 2^24 (order 15),
    mount 2^19 (4 MiB, order 10).
    6.1 (no PID hash, allocation type printed, huge vmalloc): two nodes keep hashdist, so
    every table is vmalloc()ed after the hand-off, 128 MiB per node ≥ 2 MiB: hugepage; the
    mount tables 2 MiB per node: hugepage too."""
    assert _at("4.12.0") == [
        "PID hash table entries: 4096 (order: 3, 32768 bytes)",
        "--",
        "Dentry cache hash table entries: 134217728 (order: 18, 1073741824 bytes)",
        "Inode-cache hash table entries: 67108864 (order: 17, 536870912 bytes)",
        "Mount-cache hash table entries: 2097152 (order: 12, 16777216 bytes)",
        "Mountpoint-cache hash table entries: 2097152 (order: 12, 16777216 bytes)",
    ]
    assert _at("4.13.0")[2] == (
        "Dentry cache hash table entries: 33554432 (order: 16, 268435456 bytes)"
    )
    assert _at("6.1.0") == [
        "--",
        "Dentry cache hash table entries: 33554432 (order: 16, 268435456 bytes, vmalloc hugepage)",
        "Inode-cache hash table entries: 16777216 (order: 15, 134217728 bytes, vmalloc hugepage)",
        "Mount-cache hash table entries: 524288 (order: 10, 4194304 bytes, vmalloc hugepage)",
        "Mountpoint-cache hash table entries: 524288 (order: 10, 4194304 bytes, vmalloc hugepage)",
    ]


def test_hashdist_follows_the_release_the_nodes_and_the_command_line():
    """One node with memory: hashdist stays 1 before 5.3 (the dentry table after the
    hand-off), is cleared from 5.3 (before it, from memblock: linear); the mount tables are
    never HASH_EARLY: 2^19 buckets = 4 MiB, order 10 < MAX_ORDER, so alloc_pages_exact():
    linear. hashdist=1 on the command line brings vmalloc back; a kernel without NUMA has no
    hashdist; 'nohugevmalloc' keeps PMD mappings away."""
    assert hashdist(HashInputs(1, 1, 1, 1, True, ""), landed("5.2.0")) == 1
    assert hashdist(HashInputs(1, 1, 1, 1, True, ""), landed("5.3.0")) == 0
    assert hashdist(HashInputs(1, 1, 1, 1, False, ""), landed("4.9.0")) == 0
    one = _at("6.1.0", nodes=1)
    assert one[0].endswith("(order: 16, 268435456 bytes, linear)")
    assert one[3] == "Mount-cache hash table entries: 524288 (order: 10, 4194304 bytes, linear)"
    forced = _at("6.1.0", nodes=1, cmdline="hashdist=1")
    assert forced[0] == "--" and forced[1].endswith("bytes, vmalloc hugepage)")
    flat = _at("6.1.0", cmdline="nohugevmalloc")
    assert flat[1].endswith("bytes, vmalloc)")


def test_before_3_14_the_mount_hash_is_one_page():
    """3.10's mnt_init(): one page of list heads, 4096 / 16 = 256, no mountpoint line; the
    dentry table sized by the command line: dhash_entries=1000 → 1024 buckets, 8192 bytes,
    order ilog2(8192) - 12 = 1."""
    lines = _at("3.10.0", cmdline="dhash_entries=1000")
    assert lines[-1] == "Mount-cache hash table entries: 256"
    assert "Dentry cache hash table entries: 1024 (order: 1, 8192 bytes)" in lines
    assert not any(t.startswith("Mountpoint") for t in lines)
