"""A drgn ``Program`` over a running or paused guest, reading guest RAM from its host files.

Route (measured against drgn's QMP route in ``bench/buddy_bench.py``): QEMU keeps guest RAM in
``memory-backend-file,share=on`` files; we map them read-only and give drgn one physical memory
segment per RAM piece, then ``set_linux_kernel_custom(VMCOREINFO, is_live=True)``. drgn 0.3.0
on 4.7 needs two more things (see ../shared/FACTS.md): on x86_64 a *virtual* segment for the
kernel image (else "recursive address translation"), and on arm64 ``vmemmap`` found by us —
drgn looks only at the first section of each ``mem_section`` root, which is empty when RAM
starts at 1 GiB.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import drgn

from inspector.arch import get_arch
from inspector.errors import InspectorError
from inspector.live.ram import GuestRam, RamPiece
from inspector.live.sections import vmemmap_base
from inspector.live.vmcoreinfo import (
    X86_START_KERNEL_MAP,
    Image,
    Vmcoreinfo,
    locate_image,
    vmcoreinfo,
)
from inspector.live.vmlinux import Vmlinux
from inspector.resource import Resource

_IMAGE_SPAN = 1 << 30  # x86_64: __START_KERNEL_map .. + KERNEL_IMAGE_SIZE (512 MiB or 1 GiB)


def platform(arch: str) -> drgn.Platform:
    flags = drgn.PlatformFlags.IS_64_BIT | drgn.PlatformFlags.IS_LITTLE_ENDIAN
    return drgn.Platform(drgn.Architecture[get_arch(arch).drgn_arch], flags)


@dataclass
class LiveKernel(Resource):
    """drgn over guest RAM: ``prog`` plus how it was set up (image offset, VMCOREINFO source)."""

    prog: drgn.Program
    ram: GuestRam
    vmlinux: Vmlinux
    image: Image
    vmcoreinfo: Vmcoreinfo
    vmemmap_source: str  # "drgn" or "mem_section walk"

    @property
    def arch(self) -> str:
        return self.vmlinux.arch

    @property
    def config(self) -> Path:
        """The build's .config beside the vmlinux (it may be absent)."""
        return self.vmlinux.path.parent / ".config"

    def sources(self) -> dict[str, str]:
        return {
            "memory": "guest RAM files (memory-backend-file, share=on)",
            "image": f"kernel image located by {self.image.how}",
            "vmcoreinfo": self.vmcoreinfo.source,
            "vmemmap": self.vmemmap_source,
        }

    def close(self) -> None:
        self.ram.close()


def _add_ram(prog: drgn.Program, ram: GuestRam) -> None:
    for phys, size, view in ram.segments():

        def read(_addr: int, count: int, offset: int, _phys: bool, v: memoryview = view) -> bytes:
            return v[offset : offset + count]  # type: ignore[return-value]

        prog.add_memory_segment(phys, size, read, physical=True)


def _add_x86_image(prog: drgn.Program, ram: GuestRam, image: Image) -> None:
    def read(addr: int, count: int, _offset: int, _phys: bool) -> bytes:
        return ram.view(image.phys(addr), count)  # type: ignore[return-value]

    base = X86_START_KERNEL_MAP - image.voffset  # phys_base
    low = next(p for p in ram.pieces if p.phys <= base < p.phys + p.size)
    span = min(_IMAGE_SPAN, low.phys + low.size - base)
    prog.add_memory_segment(X86_START_KERNEL_MAP, span, read, physical=False)


def _load_debug_info(prog: drgn.Program, vmlinux: Path) -> None:
    try:
        prog.load_debug_info([str(vmlinux)])
    except drgn.MissingDebugInfoError as e:
        raise InspectorError(
            f"{vmlinux} has no usable debug info ({str(e).splitlines()[0]}): "
            "rebuild with CONFIG_DEBUG_INFO"
        ) from None
    try:
        prog.type("struct zone")
    except LookupError:
        raise InspectorError(
            f"{vmlinux} has no debug info for struct zone: rebuild with CONFIG_DEBUG_INFO"
        ) from None


def _find_vmemmap(prog: drgn.Program) -> str:
    """Make ``prog["vmemmap"]`` work; say who found it."""
    try:
        prog["vmemmap"]
        return "drgn"
    except (LookupError, drgn.FaultError, ValueError):
        pass
    base = vmemmap_base(prog)
    if base is None:
        raise InspectorError("no memory section with a memmap in the guest: is it still booting?")
    vmemmap = drgn.Object(prog, "struct page *", base)

    def finder(
        _prog: drgn.Program, name: str, flags: drgn.FindObjectFlags, _file: str | None
    ) -> drgn.Object | None:
        if name == "vmemmap" and flags & drgn.FindObjectFlags.VARIABLE:
            return vmemmap
        return None

    prog.register_object_finder("mm-inspector-vmemmap", finder, enable_index=0)
    return "mem_section walk"


def _alias_vm_zone_stat(prog: drgn.Program) -> None:
    """4.7's global zone counters are ``vm_stat[]`` (renamed ``vm_zone_stat`` in 75ef71840539,
    v4.8); drgn's ``nr_free_pages()`` (and so ``crash kmem -f``) asks for the new name."""
    try:
        prog["vm_zone_stat"]
        return
    except LookupError:
        pass
    try:
        vm_stat = prog["vm_stat"]
    except LookupError:
        return

    def finder(
        _prog: drgn.Program, name: str, flags: drgn.FindObjectFlags, _file: str | None
    ) -> drgn.Object | None:
        return vm_stat if name == "vm_zone_stat" else None

    prog.register_object_finder("mm-inspector-vm_zone_stat", finder, enable_index=-1)


def open_live(
    pieces: list[RamPiece], vmlinux_path: Path, *, derive_vmcoreinfo: bool = False
) -> LiveKernel:
    """drgn over the guest whose RAM is in ``pieces``, with ``vmlinux_path``'s debug info."""
    vmlinux = Vmlinux(vmlinux_path)
    ram = GuestRam(pieces)
    ram.open()
    try:
        image = locate_image(ram, vmlinux)
        info = vmcoreinfo(ram, vmlinux, image, derive=derive_vmcoreinfo)
        prog = drgn.Program(platform(vmlinux.arch), vmcoreinfo=info.text)
        _add_ram(prog, ram)
        prog.set_linux_kernel_custom(info.text, is_live=True)
        if vmlinux.arch == "x86_64":
            _add_x86_image(prog, ram, image)
        _load_debug_info(prog, vmlinux_path)
        how = _find_vmemmap(prog)
        _alias_vm_zone_stat(prog)
    except (drgn.FaultError, LookupError, ValueError) as e:
        ram.close()
        raise InspectorError(
            f"drgn cannot read the guest's kernel state ({str(e).splitlines()[0]}): is "
            f"{vmlinux_path} the booted kernel, and is the guest at its shell?"
        ) from None
    except BaseException:
        with contextlib.suppress(Exception):
            ram.close()
        raise
    return LiveKernel(prog, ram, vmlinux, image, info, how)
