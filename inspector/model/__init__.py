"""Reference models of Linux memory initialisation, one module per kernel version."""

from inspector.model.v4_7 import STOPS, boot_log_lines, predict

__all__ = ["STOPS", "boot_log_lines", "predict"]
