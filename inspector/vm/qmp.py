"""A minimal QMP client over the run's unix socket."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

from inspector.errors import InspectorError


class QMP:
    def __init__(self, path: Path, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(timeout)
                self.sock.connect(str(path))
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise InspectorError(f"QMP socket {path} did not come up") from None
                time.sleep(0.05)
        self.file = self.sock.makefile("rwb")
        self._read()  # greeting
        self.execute("qmp_capabilities")

    def _read(self) -> dict[str, Any]:
        while True:
            line = self.file.readline()
            if not line:
                raise InspectorError("QMP connection closed (QEMU exited?)")
            msg: dict[str, Any] = json.loads(line)
            if "event" not in msg:
                return msg

    def execute(self, command: str, **arguments: Any) -> Any:
        req: dict[str, Any] = {"execute": command}
        if arguments:
            req["arguments"] = arguments
        self.file.write(json.dumps(req).encode() + b"\n")
        self.file.flush()
        reply = self._read()
        if "error" in reply:
            raise InspectorError(f"QMP {command} failed: {reply['error'].get('desc')}")
        return reply.get("return")

    def close(self) -> None:
        try:
            self.file.close()
        finally:
            self.sock.close()
