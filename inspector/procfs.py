"""Parsers for the guest's own mm files: /proc/zoneinfo, buddyinfo, pagetypeinfo (4.7, 6.12)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_ZONE_HEADER = re.compile(r"^Node (\d+), zone\s+(\w+)")
_KV = re.compile(r"^\s*([a-z_ ]+?):?\s+(-?\d+)\s*$")


@dataclass
class ZoneInfo:
    """One ``Node N, zone NAME`` block of /proc/zoneinfo."""

    node: int
    name: str
    values: dict[str, int] = field(default_factory=dict)  # spanned, present, managed, min, …
    protection: tuple[int, ...] = ()
    pagesets: list[dict[str, int]] = field(default_factory=list)  # per cpu: count, high, batch

    def get(self, key: str, default: int = 0) -> int:
        return self.values.get(key, default)


def parse_zoneinfo(text: str) -> list[ZoneInfo]:
    zones: list[ZoneInfo] = []
    zone: ZoneInfo | None = None
    in_pagesets = False
    for raw in text.splitlines():
        line = raw.rstrip()
        if m := _ZONE_HEADER.match(line):
            zone = ZoneInfo(int(m.group(1)), m.group(2))
            zones.append(zone)
            in_pagesets = False
            continue
        if zone is None or not line.strip():
            continue
        stripped = line.strip()
        if stripped.startswith("protection:"):
            zone.protection = tuple(int(x) for x in re.findall(r"-?\d+", stripped))
        elif stripped == "pagesets":
            in_pagesets = True
        elif in_pagesets and (m := re.match(r"cpu:\s*(\d+)", stripped)):
            zone.pagesets.append({"cpu": int(m.group(1))})
        elif stripped.startswith("pages free"):
            zone.values["free"] = int(stripped.split()[-1])
        elif m := _KV.match(line):
            key = m.group(1).strip().replace(" ", "_")
            if (
                in_pagesets
                and zone.pagesets
                and key in ("count", "high", "batch", "high_min", "high_max")
            ):
                zone.pagesets[-1][key] = int(m.group(2))
            else:
                zone.values.setdefault(key, int(m.group(2)))
    return zones


def parse_buddyinfo(text: str) -> dict[tuple[int, str], list[int]]:
    """``{(node, zone): [free blocks of order 0, 1, …]}``."""
    out: dict[tuple[int, str], list[int]] = {}
    for line in text.splitlines():
        if m := _ZONE_HEADER.match(line.strip()):
            counts = [int(x) for x in line[m.end() :].split()]
            out[(int(m.group(1)), m.group(2))] = counts
    return out


_PAGETYPE = re.compile(r"^Node\s+(\d+), zone\s+(\w+), type\s+(\w+)\s+([\d\s]+)$")


def parse_pagetypeinfo(text: str) -> dict[tuple[int, str, str], list[int]]:
    """``{(node, zone, migratetype): [free blocks of order 0, 1, …]}`` from /proc/pagetypeinfo."""
    out: dict[tuple[int, str, str], list[int]] = {}
    for line in text.splitlines():
        if m := _PAGETYPE.match(line.strip()):
            out[(int(m.group(1)), m.group(2), m.group(3))] = [int(x) for x in m.group(4).split()]
    return out


def parse_blockcounts(text: str) -> dict[tuple[int, str], list[int]]:
    """``{(node, zone): [pageblocks per migratetype]}`` from pagetypeinfo's block-count table."""
    part = text.split("Number of blocks type")[1:]
    return {k: v for chunk in part for k, v in parse_buddyinfo(chunk.split("\n", 1)[1]).items()}
