"""Which declared backport would explain a log's differences: each change record a difference
names is tried as a declaration (``--with`` the changes the release lacks, ``--without`` those
it has), kept when it makes lines equal, so a distribution kernel that carries a later change
is reported with the declaration that accounts for it, never judged silently with it."""

from __future__ import annotations

from dataclasses import dataclass, field

from inspector.bootlog.judge import Judgement, judge


@dataclass
class Explained:
    """The declarations (``--with X`` / ``--without X``) that make ``lines`` differing lines
    equal, and the differences left without one."""

    declarations: list[str] = field(default_factory=list)
    lines: int = 0
    left: int = 0


def _named(j: Judgement) -> list[tuple[str, bool]]:
    """(change id, whether the release has it) for every change the differences name."""
    out: list[tuple[str, bool]] = []
    for r in j.differences:
        for c in r.changes:
            cid, _, rest = c.partition(" (")
            key = (cid, rest.startswith("has it"))
            if key not in out:
                out.append(key)
    return out


def explain_by_backports(
    j: Judgement, *, with_: frozenset[str] = frozenset(), without: frozenset[str] = frozenset()
) -> Explained:
    """Greedy over the named changes, in the order the differences name them, those the
    release lacks first."""
    if not j.differences:
        return Explained()
    best, w, wo = j, set(with_), set(without)
    chosen: list[str] = []
    # a later change the kernel carries first (--with), then one it lacks (--without): the
    # later form of a line replaces the earlier one
    for cid, has in sorted(_named(j), key=lambda c: c[1]):
        tw, two = (w, wo | {cid}) if has else (w | {cid}, wo)
        trial = judge(j.log, with_=frozenset(tw), without=frozenset(two))
        if len(trial.differences) < len(best.differences):
            best, w, wo = trial, tw, two
            chosen.append(f"--{'without' if has else 'with'} {cid}")
    gained = len(j.differences) - len(best.differences)
    return Explained(chosen, gained, len(best.differences))
