"""Kernel sources, configuration fragments, toolchain quirks and cached builds."""
