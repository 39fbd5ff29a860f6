"""Live buddy-allocator state of a running or paused guest, through drgn over its RAM files.

    with live_guest(BootRequest(version, arch, topology)) as lg:   # session: boot + attach
        lg.pause()
        d = dump(lg.lk, blocks=True)                               # buddy: the dump
        violations = check(lg.lk)                                  # invariants
        write_vmcore(lg.lk, Path("vmcore"))                        # vmcore: ELF + VMCOREINFO

Modules, lowest first: ``vmlinux`` (ELF symbols), ``ram`` (guest RAM files → physical reads),
``vmcoreinfo`` (where the image is; the guest's VMCOREINFO or one derived), ``program`` (the
drgn Program), ``sections``/``lists``/``pageblocks``/``state`` (reading), ``buddy`` (dump),
``invariants``, ``vmcore``, ``crash`` (peer oracles), ``session`` (boot + attach), ``cli``.
"""
