"""QEMU machines: topology, argv, process lifecycle, console and QMP."""
