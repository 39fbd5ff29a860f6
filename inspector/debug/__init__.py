"""Debugging a paused guest: a gdb/MI session over QEMU's gdbstub, and struct layouts from DWARF."""
