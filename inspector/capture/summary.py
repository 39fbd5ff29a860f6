"""summary.txt: what a run captured, stop by stop, in a form a person reads."""

from __future__ import annotations

from inspector.capture.inspection import Inspection
from inspector.schema import Snapshot

MiB = 1 << 20


def _zone_lines(snap: Snapshot) -> list[str]:
    lines = []
    for node in snap.nodes:
        lines.append(
            f"    node {node.node_id}: start_pfn {node.node_start_pfn:#x} spanned "
            f"{node.node_spanned_pages} present {node.node_present_pages}"
        )
        for z in node.zones:
            if not z.spanned_pages:
                continue
            parts = [
                f"      {z.name:<8} start {z.zone_start_pfn:#8x} spanned {z.spanned_pages:>7} "
                f"present {z.present_pages:>7}"
            ]
            if z.managed_pages is not None:
                parts.append(f"managed {z.managed_pages:>7}")
            if z.memmap_pages is not None:
                parts.append(f"memmap {z.memmap_pages}")
            if z.nr_free_pages is not None:
                parts.append(f"NR_FREE_PAGES {z.nr_free_pages}")
            if z.watermark is not None:
                parts.append(f"wmark {z.watermark}")
            if z.lowmem_reserve is not None:
                parts.append(f"protection {z.lowmem_reserve}")
            lines.append(" ".join(parts))
            if z.free_area is not None:
                lines.append("        nr_free " + " ".join(str(a.nr_free) for a in z.free_area))
            if z.pageset:
                p = z.pageset[0]
                lines.append(f"        pcp high {p.high} batch {p.batch} (cpu 0)")
            if z.pageblock_migratetypes is not None:
                counts: dict[int, int] = {}
                for mt in z.pageblock_migratetypes:
                    counts[mt] = counts.get(mt, 0) + 1
                lines.append(f"        pageblocks by migratetype {dict(sorted(counts.items()))}")
    return lines


def snapshot_lines(snap: Snapshot) -> list[str]:
    lines = []
    if snap.inputs is not None:
        i = snap.inputs
        if i.max_zone_pfn:
            lines.append(
                "    max_zone_pfn "
                + ", ".join(
                    f"{n}={p:#x}" for n, p in zip(i.zone_names, i.max_zone_pfn, strict=False)
                )
            )
        mem = sum(r.size for r in i.memblock.memory)
        res = sum(r.size for r in i.memblock.reserved)
        lines.append(
            f"    memblock.memory {len(i.memblock.memory)} regions {mem / MiB:.1f} MiB, "
            f"reserved {len(i.memblock.reserved)} regions {res / MiB:.1f} MiB"
        )
        if i.cmdline:
            lines.append(f"    cmdline {i.cmdline!r}")
        if i.node_distance:
            lines.append(f"    node_distance {i.node_distance}; cpu_to_node {i.cpu_to_node}")
        if i.constants:
            lines.append(f"    {i.constants}")
    lines += _zone_lines(snap)
    if snap.zonelists:
        for zl in snap.zonelists:
            names = " ".join(f"{n}:{z}" for n, z in zl.zones)
            lines.append(f"    zonelist node {zl.node} {zl.kind}: {names}")
    if snap.globals:
        lines.append("    " + " ".join(f"{k}={v}" for k, v in snap.globals.items()))
    return lines


def summary_text(out: Inspection, banner: str, round_trips: int, bytes_read: int) -> str:
    lines = [
        banner,
        f"run dir {out.run_dir}",
        f"last stop captured {out.last_stop_seconds:.2f} s after QEMU started; shell at "
        f"{out.shell_seconds:.2f} s; gdb round trips {round_trips}, {bytes_read} bytes read",
        f"guest memory: {out.ram_bytes} bytes from the RAM file, {out.stub_bytes} through gdb; "
        "returns: " + (", ".join(f"{k} {v}" for k, v in sorted(out.returns.items())) or "none"),
        "",
    ]
    for rec, snap in zip(out.records, out.snapshots, strict=True):
        lines.append(
            f"{rec.path.name}: at {rec.at_seconds:.2f} s, capture {rec.capture_seconds * 1000:.0f}"
            f" ms, {rec.round_trips} round trips, {rec.bytes_read} bytes"
        )
        lines += snapshot_lines(snap)
    lines.append("")
    lines.append("guest files: " + ", ".join(sorted(out.guest_files)))
    for name, what in sorted(out.guest_failures.items()):
        lines.append(f"  {name}: {what}")
    return "\n".join(lines) + "\n"
