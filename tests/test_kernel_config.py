"""Kconfig fragments: which apply, parsing, and the dropped-option check."""

from pathlib import Path

import pytest

from inspector.arch import ARM64, X86_64
from inspector.errors import InspectorError
from inspector.kernel import config as kconfig
from inspector.kernel.versions import V4_7, V6_12


def test_fragment_order_common_arch_version_specific():
    names = [p.name for p in kconfig.fragments(V4_7, X86_64)]
    assert names[0] == "common.config"
    assert (
        names.index("x86_64.config") < names.index("4.7.config") < names.index("4.7-x86_64.config")
    )
    assert all("arm64" not in n for n in names)
    assert "6.12-arm64.config" in [p.name for p in kconfig.fragments(V6_12, ARM64)]


def test_parse_and_dropped():
    wanted = kconfig.parse("CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=17\n")
    assert wanted == {"CONFIG_A": "y", "CONFIG_B": "n", "CONFIG_C": "17"}
    assert kconfig.dropped({"CONFIG_A": "y", "CONFIG_C": "17"}, wanted) == []
    bad = kconfig.dropped({"CONFIG_B": "y", "CONFIG_C": "12"}, wanted)
    assert bad == ["CONFIG_A=y (got absent)", "CONFIG_B=n (got y)", "CONFIG_C=17 (got 12)"]


def test_check_names_every_dropped_option(tmp_path: Path):
    frag = tmp_path / "f.config"
    frag.write_text("CONFIG_NUMA=y\nCONFIG_SMP=y\n")
    final = tmp_path / ".config"
    final.write_text("CONFIG_SMP=y\n# CONFIG_NUMA is not set\n")
    with pytest.raises(InspectorError, match=r"CONFIG_NUMA=y \(got n\)"):
        kconfig.check(final, [frag])


def test_every_fragment_line_is_an_assignment():
    for frag in kconfig.CONFIGS_DIR.glob("*.config"):
        for line in frag.read_text().splitlines():
            line = line.strip()
            if not line or (line.startswith("#") and not line.endswith("is not set")):
                continue
            assert kconfig.parse(line), f"{frag.name}: cannot parse {line!r}"


def test_a_users_config_lacking_options_is_named(tmp_path: Path) -> None:
    """KERNEL_CONFIG: a user's .config without what the fragments ask for is refused, naming
    the options and the file (the built .config is what is checked)."""
    frags = kconfig.fragments(V6_12, X86_64)
    given = tmp_path / "my.config"
    given.write_text("CONFIG_64BIT=y\nCONFIG_SMP=y\n")
    with pytest.raises(InspectorError, match=r"my.config lacks \d+ option") as e:
        kconfig.check(given, frags, given)
    assert "CONFIG_NUMA" in str(e.value)
    full = tmp_path / "full.config"  # every requested option set: accepted
    full.write_text("".join(f"{k}={v}\n" for k, v in kconfig.requested(frags).items()))
    kconfig.check(full, frags, given)
