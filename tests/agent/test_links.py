"""Link management: both sides going away and coming back, state reports, Quit, bad input."""

from __future__ import annotations

import socket
import time
from typing import Callable

import numpy as np
import pytest

from pymodaq_plugins_scopeone.agent import Agent
from pymodaq_plugins_scopeone.protocol import DataActuator, DataReady, MoveAbs, MoveDone, Quit, SendData
from pymodaq_plugins_scopeone.simulator import Simulator, SimulatorConfig

from .scripted_server import Peer, ScriptedServer


def grab_ok(peer: Peer) -> np.ndarray:
    peer.send(SendData("2D"))
    message = peer.expect(DataReady, 10.0)
    return message.data.data[0].data[0]  # type: ignore[union-attr]


def ready(peer: Peer, timeout_s: float = 5.0) -> Peer:
    peer.wait_info(lambda i: i.name == "ScopeOne" and i.value == "ready", timeout_s)
    return peer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_pymodaq_side_restarts(sim: Simulator, make_agent: Callable[..., Agent], server: ScriptedServer) -> None:
    make_agent(axes=("Z",))
    port = server.port
    assert grab_ok(ready(server.wait_peer("camera", "Camera"))).shape == (512, 512)
    current = server
    try:
        for _cycle in range(2):
            current.close()
            current = ScriptedServer(port)
            start = time.monotonic()
            camera = ready(current.wait_peer("camera", "Camera", timeout_s=5.0))
            z = current.wait_peer("axis", "Z", timeout_s=5.0)
            assert time.monotonic() - start < 3.0  # backoff capped at reconnect_max_s
            assert grab_ok(camera).shape == (512, 512)
            z.send(MoveAbs(DataActuator.of(3.0, "µm", "Z")))
            assert z.expect(MoveDone, 5.0).position.value == pytest.approx(3.0)  # type: ignore[union-attr]
    finally:
        current.close()


def test_pymodaq_side_not_up_yet(sim: Simulator, make_agent: Callable[..., Agent]) -> None:
    port = free_port()
    make_agent(server_port=port, axes=())
    time.sleep(0.6)
    late = ScriptedServer(port)
    try:
        camera = ready(late.wait_peer("camera", "Camera", timeout_s=5.0))
        assert grab_ok(camera).dtype == np.uint16
    finally:
        late.close()


def test_scopeone_restarts(
    sim: Simulator, sim_config: Callable[..., SimulatorConfig], make_agent: Callable[..., Agent], server: ScriptedServer
) -> None:
    make_agent(axes=("X",))
    camera = ready(server.wait_peer("camera", "Camera"))
    x = ready(server.wait_peer("axis", "X"))
    assert grab_ok(camera).shape == (512, 512)
    sim.stop()
    camera.wait_info(lambda i: i.name == "ScopeOne" and "not reachable" in i.value)
    x.wait_info(lambda i: i.name == "ScopeOne" and "not reachable" in i.value)
    camera.send(SendData("2D"))  # while ScopeOne is away: served once it is back
    for cycle in range(2):
        restarted = Simulator(sim_config()).start()
        try:
            before = len(camera.infos)
            camera.wait_info(lambda i: i.value == "ready", timeout_s=5.0, after=before)
            if cycle == 0:
                assert camera.expect(DataReady, 5.0).data.data[0].shape == (512, 512)  # type: ignore[union-attr]
            assert grab_ok(camera).shape == (512, 512)
            x.send(MoveAbs(DataActuator.of(25.0, "µm", "X")))
            assert x.expect(MoveDone, 5.0).position.value == pytest.approx(25.0)  # type: ignore[union-attr]
        finally:
            restarted.stop()
        camera.wait_info(lambda i: "not reachable" in i.value, timeout_s=5.0, after=before)


def test_state_reports(
    sim_config: Callable[..., SimulatorConfig], make_agent: Callable[..., Agent], server: ScriptedServer
) -> None:
    make_agent(axes=("Z",))
    z = server.wait_peer("axis", "Z")
    z.wait_info(lambda i: i.name == "ScopeOne" and "ScopeOne not reachable" in i.value)
    with Simulator(sim_config(load_demo=False)) as bare:
        z.wait_info(lambda i: i.value == "configuration not loaded")
        camera = server.wait_peer("camera", "Camera")
        assert "exposure_ms" not in camera.settings_xml  # nothing known yet
        bare.load_demo()
        ready(camera)
        deadline = time.monotonic() + 5
        while "exposure_ms" not in camera.settings_xml:  # Infos resent with ScopeOne's values
            assert time.monotonic() < deadline
            time.sleep(0.01)


def test_cameras_are_discovered(sim: Simulator, make_agent: Callable[..., Agent], server: ScriptedServer) -> None:
    make_agent(cameras=None, axes=())
    assert grab_ok(ready(server.wait_peer("camera", "Camera"))).ndim == 2


def test_quit_on_clean_shutdown(sim: Simulator, make_agent: Callable[..., Agent], server: ScriptedServer) -> None:
    agent = make_agent(axes=("Y",))
    peers = [server.wait_peer("camera", "Camera"), server.wait_peer("axis", "Y")]
    agent.stop()
    for peer in peers:
        assert peer.closed.wait(3.0)
        assert peer.quit_received


def test_bad_bytes_from_pymodaq_drop_only_that_connection(
    sim: Simulator, make_agent: Callable[..., Agent], server: ScriptedServer
) -> None:
    make_agent(axes=("Z",))
    camera = ready(server.wait_peer("camera", "Camera"))
    z = ready(server.wait_peer("axis", "Z"))
    count = len(server.peers)
    # a command the agent does not know, then garbage: a protocol error
    camera.stream._sock.sendall(b"\x00\x00\x00\x05Hello\x00\x00\x00\x01")
    assert camera.closed.wait(3.0)
    again = ready(server.wait_peer("camera", "Camera", after=count))
    assert grab_ok(again).shape == (512, 512)
    z.send(MoveAbs(DataActuator.of(1.0, "µm", "Z")))  # the other connection was not disturbed
    assert z.expect(MoveDone, 5.0).position.value == pytest.approx(1.0)  # type: ignore[union-attr]
    assert not any(isinstance(m, Quit) for m in z.drain())


def test_scopeone_stall_times_out_requests_and_recovers(
    sim: Simulator, make_agent: Callable[..., Agent], server: ScriptedServer
) -> None:
    make_agent(axes=("Z",), request_timeout_s=0.3)
    camera = ready(server.wait_peer("camera", "Camera"))
    sim.faults.stall(1.0)
    camera.wait_info(lambda i: i.name == "ScopeOne" and "not answering" in i.value, timeout_s=3.0)
    ready(camera, timeout_s=5.0)
    assert grab_ok(camera).shape == (512, 512)
