"""A connection the PyMoDAQ side refuses at once is retried at the capped pace (no side env needed).

PyMoDAQ 4.4's TCP server plugins accept one client type per port and close any other right
after reading it (``TCPServer.listen_client``: "GRABBER is not a valid type"), and in the poll
where they do that they read nothing from the client they did accept (``break``). An agent that
retried such a refused connection every 50 ms starved the accepted client: pointed at a 4.4
``DAQ_Move_TCPServer``, the axis' ``Infos`` and ``move_done`` were never read (found by
test_agent_with_pymodaq44_servers.py). This test plays that refusal with a plain socket.
"""

from __future__ import annotations

import socket
import threading
import time

from pymodaq_plugins_scopeone.agent._link import LinkModule, PyMoDAQLink
from pymodaq_plugins_scopeone.protocol import ClientType, Message

CAP_S = 0.4
WATCH_S = 2.5


class Grabber(LinkModule):
    name = "camera-test"
    client_type = ClientType.GRABBER

    def settings_xml(self) -> str:
        return '<detector_settings type="group" title="Settings" visible="1" removable="0" readonly="0"/>'

    def on_connected(self, epoch: int) -> None:
        """Nothing to do: the test only counts connection attempts."""

    def on_message(self, message: Message, arrival: float, epoch: int) -> None:
        """Nothing to do: the server never sends anything."""

    def on_disconnected(self, epoch: int, reason: str) -> None:
        """Nothing to do: the refusal is the point."""


class RefusingServer:
    """Accepts, reads the first bytes (the client type), closes: what 4.4 does to a wrong type."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = int(self.listener.getsockname()[1])
        self.accepted: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.accepted.append(time.monotonic())
            with conn:
                conn.settimeout(1.0)
                conn.recv(64)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.listener.close()


def test_refused_connections_back_off_to_the_cap() -> None:
    server = RefusingServer()
    link = PyMoDAQLink(Grabber(), "127.0.0.1", server.port, reconnect_max_s=CAP_S)
    try:
        link.start()
        time.sleep(WATCH_S)
    finally:
        link.stop(3.0)
        server.close()
    attempts = server.accepted
    gaps = [later - earlier for earlier, later in zip(attempts, attempts[1:])]
    # 0.05 + 0.1 + 0.2 + 0.4 + 0.4 ... s: about 8 attempts in 2.5 s; retrying every 50 ms gave ~40.
    assert 3 <= len(attempts) <= 12, (len(attempts), gaps)
    assert min(gaps[-3:]) >= 0.8 * CAP_S, gaps
