"""The far ends of the simple measurements, run as child processes.

``python -m pymodaq_plugins_scopeone.bench._peer raw-send HOST:PORT SIZE MAX_S``
    connects and streams frames (4-byte big-endian length + pixels, ``sendall`` of a
    memoryview: no copy) until the receiver closes or ``MAX_S`` passes.

``python -m pymodaq_plugins_scopeone.bench._peer pyleco SIZE``
    runs a PyLECO Coordinator bound to 127.0.0.1 and an actor ``cam`` whose binary RPC
    ``get_frame`` returns the frame as additional payload; prints ``READY <port>``.

Both stop on SIGTERM (the default action) or by themselves; neither writes any file.
"""

from __future__ import annotations

import socket
import struct
import sys
import threading
import time
from typing import Any, List, Optional, Tuple

from ._procs import READY, free_port
from ._results import FrameSize

SOCKET_TIMEOUT_S = 30.0


def raw_send(address: str, size_key: str, max_s: float) -> int:
    host, _, port = address.rpartition(":")
    payload = memoryview(FrameSize.parse(size_key).frame(1).tobytes())
    header = struct.pack(">I", len(payload))
    deadline = time.monotonic() + max_s
    with socket.create_connection((host, int(port)), timeout=SOCKET_TIMEOUT_S) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while time.monotonic() < deadline:
                sock.sendall(header)
                sock.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the receiver has measured enough and closed
    return 0


def pyleco_serve(size_key: str) -> int:
    from pyleco.coordinators.coordinator import Coordinator
    from pyleco.utils.coordinator_utils import ZmqMultiSocket
    from pyleco.utils.message_handler import MessageHandler

    class LoopbackSocket(ZmqMultiSocket):  # type: ignore[misc]
        """The Coordinator's socket, bound to 127.0.0.1 only (it binds to every interface by default)."""

        def bind(self, host: str = "127.0.0.1", port: Any = 0) -> None:
            super().bind("127.0.0.1", port)

    frame_bytes = FrameSize.parse(size_key).frame(1).tobytes()
    port = free_port()
    stop = threading.Event()
    started = threading.Event()
    failure: List[BaseException] = []

    def coordinator() -> None:
        try:
            with Coordinator(namespace="bench", host="127.0.0.1", port=port, multi_socket=LoopbackSocket()) as c:
                started.set()
                c.routing(stop_event=stop)
        except BaseException as error:  # reported by the main thread
            failure.append(error)
            started.set()

    def get_frame() -> Tuple[None, List[bytes]]:
        return None, [frame_bytes]

    threading.Thread(target=coordinator, name="coordinator", daemon=True).start()
    if not started.wait(10.0) or failure:
        print(f"coordinator failed: {failure[0] if failure else 'timeout'}", file=sys.stderr)
        return 1
    handler = MessageHandler(name="cam", host="127.0.0.1", port=port)
    handler.register_binary_rpc_method(get_frame, return_binary_output=True)
    print(f"{READY} {port}", flush=True)
    try:
        handler.listen(stop_event=stop)
    finally:
        stop.set()
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 4 and args[0] == "raw-send":
        return raw_send(args[1], args[2], float(args[3]))
    if len(args) == 2 and args[0] == "pyleco":
        return pyleco_serve(args[1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
