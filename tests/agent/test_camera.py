"""The camera module against the stand-in, seen from a scripted PyMoDAQ side."""

from __future__ import annotations

import contextlib
import time
import xml.etree.ElementTree as ET
from typing import Any, Callable, Tuple

import numpy as np
import pytest

from pymodaq_plugins_scopeone.agent import Agent
from pymodaq_plugins_scopeone.protocol import (
    ClientType,
    DataActuator,
    DataReady,
    DataWithAxes,
    InfoXml,
    MoveAbs,
    MoveDone,
    SendData,
)
from pymodaq_plugins_scopeone.simulator import Simulator, verify_frame_checksum

from .helpers import set_info, wait_info_xml, xml_value
from .scripted_server import Peer, ScriptedServer


def ready_camera(server: ScriptedServer) -> Peer:
    peer = server.wait_peer("camera", "Camera")
    peer.wait_info(lambda i: i.name == "ScopeOne" and i.value == "ready")
    # the Infos with ScopeOne's values follows "ready"
    deadline = time.monotonic() + 5
    while xml_value(peer.settings_xml, "exposure_ms") is None:
        assert time.monotonic() < deadline, "no settings in Infos"
        time.sleep(0.01)
    return peer


def grab(peer: Peer, dim: str = "2D") -> DataWithAxes:
    peer.send(SendData(dim))
    message = peer.expect(DataReady, 10.0)
    assert not isinstance(message.data, tuple)
    assert message.data.name == "Camera" and len(message.data.data) == 1
    return message.data.data[0]


def set_preview(peer: Peer, on: bool) -> None:
    set_info(peer, ("preview",), "bool", on)
    wait_info_xml(peer, ("detector_settings", "preview"), lambda text: text == ("1" if on else "0"))


@pytest.fixture
def camera(sim: Simulator, server: ScriptedServer, make_agent: Callable[..., Agent]) -> Peer:
    make_agent(axes=("X",))
    return ready_camera(server)


def test_handshake_identity_and_settings(camera: Peer) -> None:
    assert camera.hello is not None and camera.hello.client_type is ClientType.GRABBER
    ident = camera.identity
    assert ident["kind"] == "camera" and ident["camera"] == "Camera" and ident["agent"] == "test-agent"
    root = ET.fromstring(camera.settings_xml)
    assert root.tag == "detector_settings" and root.get("type") == "group"
    assert root.find("identity/camera").get("readonly") == "1"  # type: ignore[union-attr]
    assert xml_value(camera.settings_xml, "exposure_ms") == "10.0"
    assert root.find("binning").get("limits") == "[1, 2, 4, 8]"  # type: ignore[union-attr]
    assert xml_value(camera.settings_xml, "binning") == "int(1)"
    assert xml_value(camera.settings_xml, "pixel_type") == "str('16bit')"  # the demo's System/Startup
    assert xml_value(camera.settings_xml, "bit_depth") == "int(16)"
    assert [xml_value(camera.settings_xml, "roi", k) for k in ("x", "y", "width", "height", "full_frame")] == [
        "0",
        "0",
        "512",
        "512",
        "1",
    ]
    assert xml_value(camera.settings_xml, "preview") == "0"


@pytest.mark.parametrize("preview", [False, True], ids=["record", "preview"])
def test_grab_dtype_shape_metadata_and_pixels(sim: Simulator, camera: Peer, preview: bool) -> None:
    sim.faults.stamp_checksums = True
    set_preview(camera, preview)
    dwa = grab(camera)
    image = dwa.data[0]
    assert dwa.class_name == "DataFromPlugins" and dwa.dim == "Data2D"
    assert image.dtype == np.uint16 and image.shape == (512, 512)
    extra = dict(dwa.extra_attributes)
    assert set(extra) == {"frame_index", "timestamp_ns", "exposure_ms", "roi", "binning", "bits_per_sample", "camera"}
    assert verify_frame_checksum(image, int(extra["frame_index"]))  # the pixels of that very frame
    assert extra["exposure_ms"] == 10.0 and extra["binning"] == 1 and extra["bits_per_sample"] == 16
    assert tuple(extra["roi"]) == (0, 0, 512, 512) and extra["camera"] == "Camera"
    assert abs(int(extra["timestamp_ns"]) / 1e9 - time.time()) < 5
    y, x = dwa.axes
    assert (y.label, y.units, y.index, x.label, x.index) == ("y", "pixels", 0, "x", 1)
    np.testing.assert_array_equal(x.data, np.arange(512.0))


def test_roi_binning_and_8bit_frames(sim: Simulator, camera: Peer) -> None:
    set_info(camera, ("binning",), "list", 2)
    wait_info_xml(camera, ("detector_settings", "binning"), lambda t: t == "int(2)")
    set_info(camera, ("pixel_type",), "list", "8bit")
    wait_info_xml(camera, ("detector_settings", "pixel_type"), lambda t: t == "str('8bit')")
    set_info(camera, ("roi", "x"), "int", 100)  # 100 + 256 > 256: refused, read back 0
    wait_info_xml(camera, ("detector_settings", "roi", "x"), lambda t: t == "0")
    set_info(camera, ("roi", "width"), "int", 60)
    wait_info_xml(camera, ("detector_settings", "roi", "width"), lambda t: t == "60")
    set_info(camera, ("roi", "x"), "int", 100)
    wait_info_xml(camera, ("detector_settings", "roi", "x"), lambda t: t == "100")
    dwa = grab(camera)
    image = dwa.data[0]
    assert image.dtype == np.uint8 and image.shape == (256, 60)
    extra = dict(dwa.extra_attributes)
    assert tuple(extra["roi"]) == (100, 0, 60, 256) and extra["binning"] == 2 and extra["bits_per_sample"] == 8
    y, x = dwa.axes
    np.testing.assert_array_equal(x.data, np.arange(100.0, 160.0))
    np.testing.assert_array_equal(y.data, np.arange(256.0))
    # the frame shows the sample where the stage is (0, 0), seen through this ROI and binning
    est = sim.estimate_stage_xy(image, (0.0, 0.0), binning=2, roi=(100, 0, 60, 256))
    assert est == pytest.approx((0.0, 0.0), abs=2.5)


@pytest.mark.parametrize("preview", [False, True], ids=["record", "preview"])
def test_frame_after_move_done_shows_the_new_position(
    sim: Simulator, server: ScriptedServer, make_agent: Callable[..., Agent], preview: bool
) -> None:
    make_agent(axes=("X", "Y"))
    camera = ready_camera(server)
    x_axis, y_axis = server.wait_peer("axis", "X"), server.wait_peer("axis", "Y")
    set_preview(camera, preview)
    for target in ((40.0, -25.0), (-60.0, 30.0)):
        x_axis.send(MoveAbs(DataActuator.of(target[0], "µm", "X")))
        y_axis.send(MoveAbs(DataActuator.of(target[1], "µm", "Y")))
        assert x_axis.expect(MoveDone, 5.0).position.value == pytest.approx(target[0])  # type: ignore[union-attr]
        assert y_axis.expect(MoveDone, 5.0).position.value == pytest.approx(target[1])  # type: ignore[union-attr]
        image = grab(camera).data[0]
        assert sim.estimate_stage_xy(image, target) == pytest.approx(target, abs=1.5)


@pytest.mark.parametrize("preview", [False, True], ids=["record", "preview"])
def test_frames_are_exposed_after_the_request_while_the_stage_moves(
    sim: Simulator, server: ScriptedServer, make_agent: Callable[..., Agent], preview: bool
) -> None:
    """During a steady 1000 µm/s move, the frame's position must be ahead of the position at
    the time the request was sent: a frame already under way would lag behind it."""
    make_agent(axes=("X",))
    camera = ready_camera(server)
    x_axis = server.wait_peer("axis", "X")
    set_preview(camera, preview)
    x_axis.send(MoveAbs(DataActuator.of(1500.0, "µm", "X")))  # 1.5 s at 1000 µm/s
    time.sleep(0.1)
    checked = 0
    while checked < 5:
        x_at_request = sim.xy_position()[0]
        if x_at_request > 1300:
            break
        dwa = grab(camera)
        estimate = sim.estimate_stage_xy(dwa.data[0], (x_at_request + 10.0, 0.0))
        # mid-exposure is at least half an exposure (5 ms = 5 µm) after the request
        assert estimate[0] >= x_at_request + 4.0, (estimate, x_at_request)
        checked += 1
    assert checked == 5
    x_axis.expect(MoveDone, 5.0)


def test_requests_in_flight_are_served_in_order(sim: Simulator, camera: Peer) -> None:
    set_preview(camera, True)
    for _ in range(4):
        camera.send(SendData("2D"))
    frames = [camera.expect(DataReady, 5.0) for _ in range(4)]
    indexes = [int(dict(f.data.data[0].extra_attributes)["frame_index"]) for f in frames]  # type: ignore[union-attr]
    assert indexes == sorted(indexes)
    # all four arrived within a frame period, so all are answered by the first frame fresh for the last one
    assert indexes[-1] - indexes[0] <= 1


@pytest.mark.parametrize(
    ("path", "kind", "value", "expected"),
    [
        (("exposure_ms",), "float", 25.5, "25.5"),
        (("binning",), "list", 4, "int(4)"),
        (("bit_depth",), "list", 12, "int(12)"),
        (("pixel_type",), "list", "8bit", "str('8bit')"),
        (("preview",), "bool", True, "1"),
        (("roi", "width"), "int", 64, "64"),
        (("roi", "height"), "int", 100, "100"),
    ],
)
def test_settings_round_trip(camera: Peer, path: Tuple[str, ...], kind: str, value: Any, expected: str) -> None:
    set_info(camera, path, kind, value)
    wait_info_xml(camera, ("detector_settings", *path), lambda text: text == expected)


def test_refused_values_answer_with_the_real_state(camera: Peer) -> None:
    set_info(camera, ("exposure_ms",), "float", 20000.0)  # beyond the camera's 10000 ms
    wait_info_xml(camera, ("detector_settings", "exposure_ms"), lambda text: text == "10.0")
    camera.wait_info(lambda i: i.name == "set_info error" and "Failed to set exposure" in i.value)
    set_info(camera, ("roi", "width"), "int", 4000)
    wait_info_xml(camera, ("detector_settings", "roi", "width"), lambda text: text == "512")
    camera.wait_info(lambda i: "Failed to set ROI" in i.value)
    set_info(camera, ("identity", "camera"), "str", "Other")
    wait_info_xml(camera, ("detector_settings", "identity", "camera"), lambda text: text == "Camera")


def test_full_frame_after_roi(camera: Peer) -> None:
    set_info(camera, ("roi", "width"), "int", 100)
    wait_info_xml(camera, ("detector_settings", "roi", "full_frame"), lambda text: text == "0")
    set_info(camera, ("roi", "full_frame"), "bool", True)
    wait_info_xml(camera, ("detector_settings", "roi", "width"), lambda text: text == "512")


def test_changes_made_in_scopeone_are_pushed(sim: Simulator, camera: Peer) -> None:
    import json
    import socket
    import struct

    def scopeone_window(request: dict) -> dict:  # another Local API client, like ScopeOne's own GUI
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(str(sim.socket_path))
            payload = json.dumps(request).encode()
            s.sendall(struct.pack("<I", len(payload)) + payload)
            size = struct.unpack("<I", s.recv(4))[0]
            data = b""
            while len(data) < size:
                data += s.recv(size - len(data))
            return json.loads(data)  # type: ignore[no-any-return]

    assert scopeone_window({"type": "set_exposure", "camera": "Camera", "exposureMs": 33.0})["ok"]
    start = time.monotonic()
    wait_info_xml(camera, ("detector_settings", "exposure_ms"), lambda text: text == "33.0", timeout_s=3.0)
    assert time.monotonic() - start < 2.5  # polled every 0.2 s here; slack for a loaded 2-core machine
    assert scopeone_window({"type": "start_preview", "camera": "Camera"})["ok"]
    # Pushed as an Info_xml, or inside a whole new Infos tree when the change also changed the
    # tree's shape or choices (both update PyMoDAQ's settings).
    deadline = time.monotonic() + 3.0
    while xml_value(camera.settings_xml, "preview") != "1":
        assert time.monotonic() < deadline, "preview started in ScopeOne never reached the PyMoDAQ side"
        with contextlib.suppress(AssertionError):
            wait_info_xml(camera, ("detector_settings", "preview"), lambda text: text == "1", timeout_s=0.2)
            break


def test_info_xml_paths_start_with_the_root(camera: Peer) -> None:
    set_info(camera, ("exposure_ms",), "float", 12.0)
    message = camera.expect(InfoXml, 5.0)
    assert message.path[0] == "detector_settings"
