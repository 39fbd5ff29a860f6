"""The kernel's own log, read out of guest memory: the printk ring buffer, for when the console
printed nothing (no console yet, a death before earlycon) or less than the kernel logged.

Two layouts, told apart by the vmlinux's DWARF as drgn's ``get_printk_records()`` does:

- ``log_buf`` (until 5.10, so 4.7): ``struct printk_log`` records from ``log_first_idx`` to
  ``log_next_idx`` in ``log_buf``, a zero ``len`` meaning "wrap to the start"
  (kernel/printk/printk.c, 4.7).
- ``prb`` (5.10 on, commit 896fbe20b4e2 ("printk: use the lockless ringbuffer"), so 6.1 and
  6.12): a descriptor ring (``prb_desc`` state and text position, ``printk_info`` text length)
  over a text data ring whose blocks start with their descriptor id
  (kernel/printk/printk_ringbuffer.c, 6.12: ``desc_read()``, ``get_data()``).

Offsets come from DWARF; memory from ``read(address, size)`` (a stop's RamMemory or gdb).
"""

from __future__ import annotations

from collections.abc import Callable

from inspector.debug.layout import Layout
from inspector.errors import InspectorError

Read = Callable[[int, int], bytes]
MASK64 = (1 << 64) - 1
MAX_RECORDS = 1 << 16
# prb_desc state_var: the state in the top 2 bits, the id below (DESC_SV_BITS = 64)
DESC_FLAGS_SHIFT = 62
DESC_ID_MASK = (1 << DESC_FLAGS_SHIFT) - 1
DESC_COMMITTED, DESC_FINALIZED = 1, 2


def _u(read: Read, address: int, size: int) -> int:
    return int.from_bytes(read(address, size), "little")


def kernel_log(read: Read, layout: Layout) -> list[str]:
    """Every record the ring buffer still holds, oldest first, one string per record."""
    if layout.has_symbol("prb") and layout.has_member("struct printk_ringbuffer", "desc_ring"):
        return _prb_records(read, layout)
    if layout.has_symbol("log_first_idx"):
        return _log_buf_records(read, layout)
    raise InspectorError(f"{layout.vmlinux}: neither log_buf (before 5.10) nor prb (5.10 on)")


def _log_buf_records(read: Read, layout: Layout) -> list[str]:
    """4.7: struct printk_log { u64 ts_nsec; u16 len, text_len, dict_len; … } then the text."""
    buf = _u(read, layout.address("log_buf"), 8)
    first = _u(read, layout.address("log_first_idx"), 4)
    end = _u(read, layout.address("log_next_idx"), 4)
    header = layout.sizeof("struct printk_log")
    len_off = layout.offsetof("struct printk_log", "len")
    text_off = layout.offsetof("struct printk_log", "text_len")
    out: list[str] = []
    idx = first
    while idx != end and len(out) < MAX_RECORDS:
        length = _u(read, buf + idx + len_off, 2)
        if length == 0:  # log_next(): the rest of the buffer is unused, wrap
            if idx == 0:
                break
            idx = 0
            continue
        text_len = _u(read, buf + idx + text_off, 2)
        out.append(read(buf + idx + header, text_len).decode(errors="replace"))
        idx += length
    return out


def _prb_records(read: Read, layout: Layout) -> list[str]:
    rb = _u(read, layout.address("prb"), 8)
    ring = rb + layout.offsetof("struct printk_ringbuffer", "desc_ring")
    text = rb + layout.offsetof("struct printk_ringbuffer", "text_data_ring")

    def field(base: int, struct: str, member: str, size: int) -> int:
        return _u(read, base + layout.offsetof(struct, member), size)

    count = 1 << field(ring, "struct prb_desc_ring", "count_bits", 4)
    descs = field(ring, "struct prb_desc_ring", "descs", 8)
    infos = field(ring, "struct prb_desc_ring", "infos", 8)
    head = field(ring, "struct prb_desc_ring", "head_id", 8) & DESC_ID_MASK
    tail = field(ring, "struct prb_desc_ring", "tail_id", 8) & DESC_ID_MASK
    size = 1 << field(text, "struct prb_data_ring", "size_bits", 4)
    data = field(text, "struct prb_data_ring", "data", 8)
    desc_size, info_size = layout.sizeof("struct prb_desc"), layout.sizeof("struct printk_info")
    state_off = layout.offsetof("struct prb_desc", "state_var")
    lpos_off = layout.offsetof("struct prb_desc", "text_blk_lpos")
    begin_off = layout.offsetof("struct prb_data_blk_lpos", "begin")
    next_off = layout.offsetof("struct prb_data_blk_lpos", "next")
    len_off = layout.offsetof("struct printk_info", "text_len")

    def wraps(lpos: int) -> int:  # DATA_WRAPS()
        return lpos // size

    out: list[str] = []
    desc_id = tail
    for _ in range(min(count, MAX_RECORDS)):
        slot = desc_id % count
        desc = descs + slot * desc_size
        state_var = _u(read, desc + state_off, 8)
        state = state_var >> DESC_FLAGS_SHIFT
        if state_var & DESC_ID_MASK == desc_id and state in (DESC_COMMITTED, DESC_FINALIZED):
            begin = _u(read, desc + lpos_off + begin_off, 8)
            nxt = _u(read, desc + lpos_off + next_off, 8)
            text_len = _u(read, infos + slot * info_size + len_off, 2)
            at = None
            if begin & 1 == 0 and nxt & 1 == 0:  # not a data-less record (FAILED_LPOS, …)
                if wraps(begin) == wraps(nxt) and begin < nxt:
                    at = data + begin % size
                elif wraps(begin + size) == wraps(nxt):  # the block wrapped to the start
                    at = data
            if at is not None:  # past the block's id (an unsigned long)
                out.append(read(at + 8, text_len).decode(errors="replace"))
        if desc_id == head:
            break
        desc_id = (desc_id + 1) & DESC_ID_MASK
    return out
