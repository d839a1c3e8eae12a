"""CameraController without Qt: fresh snaps, live with a one-frame slot, timeouts, agent loss."""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from typing import Any, Iterator, Tuple

import pytest

from pymodaq_plugins_scopeone.hardware.agent_server import AgentServer, NotConnected, release_server, shared_server
from pymodaq_plugins_scopeone.hardware.camera_controller import CameraController, Frame, Mode
from pymodaq_plugins_scopeone.protocol import DataReady, DataToExport

from .conftest import free_port
from .fake_agent import FakeCamera

WAIT_S = 5.0


class Recorder:
    """A viewer module stand-in: records the controller's callbacks."""

    def __init__(self) -> None:
        self.events: queue.Queue[Tuple[str, Any]] = queue.Queue()
        self.frame_calls = threading.Semaphore(0)

    def frame_ready(self) -> None:
        self.events.put(("frame", None))

    def status_changed(self, status: Any, message: str) -> None:
        self.events.put(("status", (status, message)))

    def settings_received(self, xml: str) -> None:
        self.events.put(("settings", xml))

    def setting_received(self, path: Tuple[str, ...], xml: str) -> None:
        self.events.put(("setting", (path, xml)))

    def grab_failed(self, message: str) -> None:
        self.events.put(("failed", message))

    def next(self, kind: str, timeout_s: float = WAIT_S) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                got, value = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {kind!r} event within {timeout_s} s") from None
            if got == kind:
                return value

    def none_of(self, kind: str, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                got, _ = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return True
            if got == kind:
                return False
        return True


def frame_number(frame: Frame) -> int:
    return int(frame.data.data[0].data[0][0, 0])  # type: ignore[union-attr]


@pytest.fixture
def server() -> Iterator[AgentServer]:
    server = AgentServer(0, "127.0.0.1", infos_wait_s=0.3)
    yield server
    server.close()


@pytest.fixture
def camera(server):
    listener = Recorder()
    controller = CameraController(listener, 0, "127.0.0.1", frame_timeout_s=1.0, server_factory=lambda p, b: server)
    yield controller, listener
    controller.close()


def connect_camera(server, listener, **kwargs) -> FakeCamera:
    agent = FakeCamera(server.port, **kwargs)
    status, _ = listener.next("status")
    assert status.connected and status.agent
    return agent


def test_with_no_agent_a_snap_fails_at_once_and_says_why(camera):
    controller, _listener = camera
    with pytest.raises(NotConnected, match=f"waiting for agent on port {controller.port}"):
        controller.snap()
    assert controller.mode is Mode.IDLE and controller.take_frame() is None


def test_a_snap_gets_the_frame_answering_its_own_request_not_a_stale_one(server, camera):
    controller, listener = camera
    agent = connect_camera(server, listener)
    assert "exposure_ms" in listener.next("settings")
    agent.hold.set()
    controller.start_live()  # two requests in flight, answered later: stale for the snap
    agent.next_received(object)
    controller.snap()
    agent.hold.clear()
    listener.next("frame")
    frame = controller.take_frame()
    assert frame is not None and frame.request == 3 and frame_number(frame) == 3
    assert frame.data.data[0].extra_attributes["frame_index"] == 3
    assert controller.mode is Mode.IDLE and controller.take_frame() is None
    assert listener.none_of("frame", 0.2)
    agent.close()


def test_live_keeps_requests_in_flight_and_drops_frames_nobody_took(server, camera):
    controller, listener = camera
    agent = connect_camera(server, listener)
    controller.start_live()
    listener.next("frame")
    deadline = time.monotonic() + WAIT_S
    while agent.frames_sent < 20 and time.monotonic() < deadline:
        time.sleep(0.01)  # the module is "busy": frames keep coming without it
    assert agent.frames_sent >= 20
    newest = controller.take_frame()
    assert newest is not None and frame_number(newest) >= 19  # the latest, not the first
    assert controller.dropped >= 15 and controller.delivered == 1
    assert 1 <= controller.in_flight <= controller.live_depth
    controller.stop()
    sent = agent.frames_sent
    assert controller.take_frame() is None
    time.sleep(0.1)
    assert controller.take_frame() is None and agent.requests <= sent + controller.live_depth
    agent.close()


def test_a_snap_that_gets_no_answer_fails_after_the_frame_timeout(server, camera):
    controller, listener = camera
    agent = connect_camera(server, listener)
    agent.hold.set()
    started = time.monotonic()
    controller.snap()
    assert "no frame from the agent within 1 s" in listener.next("failed")
    assert 0.9 <= time.monotonic() - started < 3.0
    assert "no frame" in controller.status.last_error and controller.mode is Mode.IDLE
    agent.hold.clear()  # the late answer is stale: not delivered
    assert listener.none_of("frame", 0.3)
    agent.close()


def test_an_agent_grab_error_fails_the_snap_with_its_text(server, camera):
    controller, listener = camera
    agent = connect_camera(server, listener)
    agent.fail_next.set()
    controller.snap()
    assert "grab error" in listener.next("failed")
    controller.snap()  # the numbering stayed right: the next snap gets its own frame
    listener.next("frame")
    assert frame_number(controller.take_frame()) == 1
    agent.close()


def test_live_survives_the_agent_leaving_and_coming_back(server, camera):
    controller, listener = camera
    first = connect_camera(server, listener)
    controller.start_live()
    listener.next("frame")
    first.close(quit_first=False)
    _, message = listener.next("status")
    assert "agent lost" in message and "live resumes" in message
    assert not controller.status.connected
    second = connect_camera(server, listener)
    listener.next("frame")  # no new start_live: it resumed by itself
    assert controller.mode is Mode.LIVE and controller.take_frame() is not None
    controller.stop()
    second.close()


def test_settings_are_sent_and_the_agents_readback_comes_back(server, camera):
    controller, listener = camera
    agent = connect_camera(server, listener)
    controller.set_info(("settings_client", "exposure_ms"), '<exposure_ms type="float">5000.0</exposure_ms>')
    path, xml = listener.next("setting")
    assert path == ("detector_settings", "exposure_ms") and ">1000.0<" in xml
    agent.close()


def test_closing_twice_gives_the_shared_port_back_once():
    """PyMoDAQ's CLOSE and the end of the plugin thread may both close a controller."""
    port = free_port()
    other_user = shared_server(port, "127.0.0.1")
    first = CameraController(Recorder(), port, "127.0.0.1")
    first.close()
    first.close()
    assert not other_user.closing  # one release for one controller: the other user still holds the port
    second = CameraController(Recorder(), port, "127.0.0.1")
    assert second._server is other_user
    second.close()
    release_server(other_user)
    assert other_user.closing


class RepeatingCamera(FakeCamera):
    """Answers requests two by two with one frame, as the agent does for requests sent together."""

    def frame(self, number: int):
        message = super().frame((number + 1) // 2)
        dwa = message.data.data[0]
        extra = {**dwa.extra_attributes, "timestamp_ns": 1000 * ((number + 1) // 2)}
        return DataReady(DataToExport("Camera", (dataclasses.replace(dwa, extra_attributes=extra),)))


def test_live_delivers_a_frame_once_even_when_it_answers_two_requests(server, camera):
    controller, listener = camera
    agent = RepeatingCamera(server.port)
    listener.next("status")
    controller.start_live()
    indexes = []
    deadline = time.monotonic() + WAIT_S
    while len(indexes) < 10 and time.monotonic() < deadline:
        listener.next("frame")
        frame = controller.take_frame()
        if frame is not None:
            indexes.append(frame.data.data[0].extra_attributes["frame_index"])
    controller.stop()
    assert len(indexes) >= 10
    assert all(b > a for a, b in zip(indexes, indexes[1:])), indexes  # never the same frame twice
    assert controller.repeated >= 1
    agent.close()
