"""Capturing mm-init state at gdb stops: the stop plan per kernel version, readers, the run."""
