"""Supported kernel versions and the toolchain quirks each needs on today's compilers."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from inspector.arch import Arch
from inspector.errors import InspectorError
from inspector.release import Release, family_of


@dataclass(frozen=True)
class Quirk:
    """A named, explained change to the make command line for one version (and arch)."""

    name: str
    why: str
    arches: tuple[str, ...]  # arch names it applies to
    cc_flags: tuple[str, ...] = ()  # appended to CC itself (so cc-option probes see them too)
    make_vars: tuple[tuple[str, str], ...] = ()  # extra VAR=value on make's command line


@dataclass(frozen=True)
class KernelVersion:
    name: str  # "4.7" or "6.12"; for a user's tree, the version whose model and plan it takes
    quirks: tuple[Quirk, ...] = field(default_factory=tuple)
    tree: str | None = None  # a user's kernel tree (KERNEL_TREE=), built in place of the pinned
    config: str | None = None  # the user's own .config for that tree (KERNEL_CONFIG=)
    # the kernel-configs/ fragment set (a version name) when not ``name``'s: a tree's release
    # picks the set whose Kconfig symbols it has
    fragments: str | None = None
    # a distribution's own kernel, unmodified ("debian:6.12"): fetched, never built
    prebuilt: str | None = None

    @property
    def label(self) -> str:
        if self.prebuilt:
            return self.prebuilt.replace(":", "-")
        return f"tree-{self.name}" if self.tree else self.name

    def quirks_for(self, arch: Arch) -> list[Quirk]:
        return [q for q in self.quirks if arch.name in q.arches]


V4_7 = KernelVersion(
    name="4.7",
    quirks=(
        Quirk(
            name="no-pie",
            why=(
                "Debian's gcc builds PIE by default and 4.7 predates kbuild's -fno-PIE; the flag "
                "must ride on CC itself, or every cc-option probe fails and silently drops "
                "-gdwarf-4, -fno-delete-null-pointer-checks, -fconserve-stack"
            ),
            arches=("x86_64", "arm64"),
            cc_flags=("-fno-pie",),
        ),
        Quirk(
            name="host-fcommon",
            why=(
                "gcc >= 10 defaults to -fno-common and 4.7's dtc then fails with 'multiple "
                "definition of yylloc'"
            ),
            arches=("arm64",),
            make_vars=(("HOSTCFLAGS", "-O2 -fcommon"),),
        ),
    ),
)

# A 5.x tree's objtool (tools/lib/subcmd) on gcc >= 12: its realloc() use is a warning that
# objtool's -Werror makes fatal ("pointer may be used after 'realloc'"); 6.1 has it fixed
OBJTOOL_GCC12 = Quirk(
    name="objtool-gcc12",
    why=(
        "gcc >= 12 warns 'pointer may be used after realloc' in tools/lib/subcmd/subcmd-util.h "
        "and objtool builds with -Werror; the warning stays a warning"
    ),
    arches=("x86_64", "arm64"),
    make_vars=(("EXTRA_CFLAGS", "-Wno-error=use-after-free"),),  # reaches tools/lib/subcmd
)
V6_1 = KernelVersion(name="6.1")
V6_12 = KernelVersion(name="6.12")

VERSIONS: dict[str, KernelVersion] = {v.name: v for v in (V4_7, V6_1, V6_12)}


def for_tree(tree: str, release: str) -> KernelVersion:
    """A user's kernel tree, modelled at its own release by the one model and captured with its
    family's stop plan: 4.0–4.19 with 4.7's (and its toolchain quirks), 5.11–6.12 with 6.12's; other
    releases get a one-line error naming the nearest covered release. A 6.12-family tree before
    6.9 builds with 6.1's fragments: vmcoreinfo's symbol is CRASH_CORE there (VMCORE_INFO came
    with 6.9's crash/kexec Kconfig split)."""
    try:
        family = family_of(release)
    except InspectorError as e:
        raise InspectorError(f"{tree}: {e}") from None
    if family == "4.7":
        return replace(V4_7, tree=tree)
    rel = Release.parse(release)
    fragments = "6.1" if rel < Release(6, 9) else "6.12"
    quirks = (OBJTOOL_GCC12,) if rel < Release(6, 1) else ()
    return replace(V6_12, tree=tree, fragments=fragments, quirks=quirks)
