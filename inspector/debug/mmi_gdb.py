"""The ``mmi`` commands inside an interactive gdb (``mm-inspector gdb``).

gdb loads this file with ``-x``. It imports nothing of mm-inspector: gdb's embedded Python and
drgn's libdw do not mix (drgn crashes in __libdw_dwp_section_info inside gdb 13). Each command
is sent to the mm-inspector process over a socket (fd ``MMI_RPC_FD``), which decodes with the
capture's own readers and asks back for guest memory, registers and frame arguments as it needs
them; this side only reads the inferior and runs the guest.

    mmi zones                                   nodes and zones as the capture reads them
    mmi freelists [--node N --zone Z --order O] free_area counts per migratetype, first pfns
    mmi memblock                                memblock.memory and .reserved
    mmi zonelists                               every node's zonelists
    mmi pageblocks                              pageblock migratetypes per zone (counts)
    mmi next                                    run to the next stop of the plan, print its capture
"""

import json
import os
import socket

import gdb  # type: ignore[import-untyped,import-not-found,unused-ignore]

SOCK = socket.socket(fileno=int(os.environ["MMI_RPC_FD"]))
RFILE = SOCK.makefile("r")
STATE = {"at": ""}  # the function the guest is stopped at


def _reply(msg: dict) -> None:  # type: ignore[type-arg]
    SOCK.sendall((json.dumps(msg) + "\n").encode())


def _frame_arguments() -> dict:  # type: ignore[type-arg]
    frame = gdb.selected_frame()
    block = frame.block()
    while block is not None and block.function is None:
        block = block.superblock
    out = {}
    for sym in block or []:
        if sym.is_argument:
            try:
                out[sym.name] = str(sym.value(frame))
            except gdb.error:
                out[sym.name] = "<optimized out>"
    return out


def call(request: dict) -> object:  # type: ignore[type-arg]
    """Send ``request``; serve the reads it needs; return its result (or raise its error)."""
    _reply(request)
    while True:
        line = RFILE.readline()
        if not line:
            raise gdb.GdbError("mm-inspector went away")
        msg = json.loads(line)
        op = msg.get("op")
        try:
            if op == "read":
                data = bytes(gdb.selected_inferior().read_memory(msg["addr"], msg["size"]))
                _reply({"data": data.hex()})
            elif op == "regs":
                frame = gdb.selected_frame()
                mask = (1 << 64) - 1
                _reply({"regs": {n: int(frame.read_register(n)) & mask for n in msg["names"]}})
            elif op == "args":
                _reply({"args": _frame_arguments()})
            elif op == "done":
                return msg.get("result")
            elif op == "error":
                raise gdb.GdbError(msg["message"])
        except gdb.MemoryError as e:
            _reply({"fault": str(e)})


def run_to(function: str, where: str, hardware: bool = False) -> None:
    """Break at ``where`` (``*ADDR`` or a linespec) and continue until it is hit."""
    kind = gdb.BP_HARDWARE_BREAKPOINT if hardware else gdb.BP_BREAKPOINT
    bp = gdb.Breakpoint(where, internal=True, type=kind)
    try:
        gdb.execute("continue", to_string=True)
    finally:
        bp.delete()
    STATE["at"] = function
    print(f"mm-inspector: stopped at {function} ({where})")


def capture_here(stop: dict) -> None:  # type: ignore[type-arg]
    """What the capture reads at this stop: its entry handler, then its return handler after
    ``finish`` (the parent runs the handlers; this side runs the guest)."""
    text = call({"cmd": "capture", "phase": "entry", "at": STATE["at"]})
    if text:
        print(text, end="")
    if stop.get("on_return"):
        gdb.execute("finish", to_string=True)
        print(f"mm-inspector: ran {STATE['at']} to its return")
        text = call({"cmd": "capture", "phase": "return", "at": STATE["at"]})
        if text:
            print(text, end="")


class Mmi(gdb.Command):  # type: ignore[misc]
    """mm-inspector's views of memory initialisation: mmi zones | freelists | memblock |
    zonelists | pageblocks | next"""

    def __init__(self) -> None:
        super().__init__("mmi", gdb.COMMAND_DATA, prefix=True)


class Sub(gdb.Command):  # type: ignore[misc]
    def __init__(self, name: str, doc: str) -> None:
        self.name = name
        self.__doc__ = doc
        super().__init__(f"mmi {name}", gdb.COMMAND_DATA)

    def invoke(self, arg: str, from_tty: bool) -> None:
        if self.name == "next":
            plan = call({"cmd": "plan"})
            names = [s["function"] for s in plan]  # type: ignore[attr-defined]
            i = names.index(STATE["at"]) + 1 if STATE["at"] in names else 0
            if i >= len(names):
                print("mm-inspector: no stop after this one in the plan")
                return
            run_to(names[i], plan[i]["where"])  # type: ignore[index]
            capture_here(plan[i])  # type: ignore[index]
            return
        text = call({"cmd": self.name, "args": gdb.string_to_argv(arg), "at": STATE["at"]})
        print(text, end="")


COMMANDS = {
    "zones": "Every node and its zones, as the capture reads them here.",
    "freelists": "free_area per order and migratetype: [--node N] [--zone Z] [--order O]",
    "memblock": "memblock.memory and memblock.reserved, region by region.",
    "zonelists": "Every node's zonelists (fallback and this node's).",
    "pageblocks": "Pageblock migratetypes per zone, counted.",
    "next": "Run to the next stop of mm-inspector's plan and print what it captures there.",
}


def start() -> None:
    """Connect to the guest, run to the stop the parent names, say what to type."""
    Mmi()
    for name, doc in COMMANDS.items():
        Sub(name, doc)
    gdb.execute("set pagination off")
    gdb.execute("set confirm off")
    gdb.execute(f"target remote {os.environ['MMI_SOCKET']}", to_string=True)
    route = call({"cmd": "route"})  # [(function, where, hardware)] up to the stop
    for function, where, hardware in route:  # type: ignore[attr-defined]
        run_to(function, where, hardware)
    print(
        "mm-inspector: mmi zones | mmi freelists [--node N --zone Z --order O] | mmi memblock"
        " | mmi zonelists | mmi pageblocks | mmi next;  quit stops the guest"
    )


start()
