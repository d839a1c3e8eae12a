"""record, session_info, session_frame, session_close."""

from __future__ import annotations

import gc
import re
import time

import numpy as np
import pytest

from pymodaq_plugins_scopeone.simulator import Frame

from .localapi_client import read_frame


def test_record_then_read_every_frame(demo_sim, demo):
    demo.call("start_preview")
    before = demo_sim.latest_frame("Camera")
    response = demo.call("record", frames=3, camera="Camera")
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", response["sessionId"])
    assert response["cameraIds"] == ["Camera"]
    session = response["sessionId"]
    assert demo.call("session_info", sessionId=session) == {
        "type": "session_info",
        "requestId": 3,
        "ok": True,
        "cameraIds": ["Camera"],
        "frameCount": 3,
        "frameCounts": {"Camera": 3},
    }
    indices = []
    for i in range(3):
        frame = demo.call("session_frame", sessionId=session, camera="Camera", index=i)
        header, image = read_frame(frame)
        assert image.shape == (512, 512) and header["frameIndex"] == int(frame["frameIndex"])
        assert "layerKey" not in frame
        indices.append(int(frame["frameIndex"]))
    assert indices == sorted(indices) and len(set(indices)) == 3
    assert before is None or indices[0] > before.frame_index  # fresh frames only
    last = demo.call("session_frame", sessionId=session, camera="Camera")  # index defaults to -1: the last
    assert int(last["frameIndex"]) == indices[-1]
    assert demo.call("session_close", sessionId=session)["ok"] is True
    assert demo.request("session_info", sessionId=session)["error"] == "Unknown session"


def test_record_without_preview_runs_the_camera_for_its_duration(demo):
    response = demo.call("record", frames=2)
    assert demo.call("session_info", sessionId=response["sessionId"])["frameCount"] == 2
    assert demo.call("status")["runningPreviews"] == []


def test_record_is_asynchronous(demo):
    demo.call("set_exposure", exposureMs=50)
    record_id = demo.send_request("record", frames=2)
    ping_id = demo.send_request("ping")
    assert [demo.recv()["requestId"], demo.recv()["requestId"]] == [ping_id, record_id]


def test_record_over_positions_moves_the_stage(demo_sim, demo):
    response = demo.call(
        "record", frames=1, positions=[[0, 0], {"x": 60, "y": -40}], zPositions=[0, 2], order=["xy", "z"]
    )
    session = response["sessionId"]
    assert demo.call("session_info", sessionId=session)["frameCount"] == 4
    first = read_frame(demo.call("session_frame", sessionId=session, camera="Camera", index=0))[1]
    third = read_frame(demo.call("session_frame", sessionId=session, camera="Camera", index=2))[1]
    assert demo_sim.estimate_stage_xy(first, (10.0, 0.0)) == pytest.approx((0.0, 0.0), abs=1.0)
    assert demo_sim.estimate_stage_xy(third, (50.0, -30.0)) == pytest.approx((60.0, -40.0), abs=1.0)
    assert demo.call("read_z_position")["z"] == 2


def test_record_timeout(demo):
    demo.call("set_exposure", exposureMs=500)
    started = time.monotonic()
    assert demo.request("record", frames=5, timeoutMs=100)["error"] == "Recording timed out after 100 ms"
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    "fields,error",
    [
        ({}, "frames must be an integer"),
        ({"frames": 1.5}, "frames must be an integer"),
        ({"frames": "3"}, "frames must be an integer"),
        ({"frames": 0}, "frames must be > 0"),
        ({"frames": 1, "camera": 5}, "camera must be a string"),
        ({"frames": 1, "camera": "Ghost"}, "No camera to record"),
        ({"frames": 1, "timeoutMs": "x"}, "timeoutMs must be an integer"),
        ({"frames": 1, "mdaIntervalMs": "x"}, "mdaIntervalMs must be a finite number"),
        ({"frames": 1, "zPositions": [0, "a"]}, "zPositions[1] must be a finite number"),
        ({"frames": 1, "zPositions": 3}, "zPositions must be an array"),
        ({"frames": 1, "positions": [[1, 2], [3]]}, "positions[1] must be [x, y] or {x, y} with two finite numbers"),
        ({"frames": 1, "order": ["time", "c"]}, "order[1] contains an unsupported axis"),
    ],
)
def test_record_validation(demo, fields, error):
    assert demo.request("record", **fields)["error"] == error


def test_a_second_recording_is_refused_while_one_runs(demo):
    demo.call("set_exposure", exposureMs=100)
    first = demo.send_request("record", frames=2)
    second = demo.send_request("record", frames=1)
    answers = {a["requestId"]: a for a in (demo.recv(), demo.recv())}
    assert answers[second]["error"] == "A recording is already running"
    assert answers[first]["ok"] is True


def test_session_frame_errors(demo):
    session = demo.call("record", frames=2)["sessionId"]
    assert demo.request("session_frame", sessionId="nope", camera="Camera", index=0)["error"] == "Unknown session"
    assert demo.request("session_frame", sessionId=session, camera="Ghost", index=0)["error"] == "Invalid frame request"
    assert demo.request("session_frame", sessionId=session, index=0)["error"] == "Invalid frame request"
    assert (
        demo.request("session_frame", sessionId=session, camera="Camera", index=0.5)["error"] == "Invalid frame request"
    )
    assert (
        demo.request("session_frame", sessionId=session, camera="Camera", index=2)["error"]
        == "Frame index out of range"
    )
    assert (
        demo.request("session_frame", sessionId=session, camera="Camera", index=-2)["error"]
        == "Frame index out of range"
    )
    assert demo.request("session_close", sessionId="nope")["error"] == "Unknown session"


def test_session_frames_survive_later_exports(demo):
    demo.call("start_preview")
    session = demo.call("record", frames=1)["sessionId"]
    a = read_frame(demo.call("session_frame", sessionId=session, camera="Camera", index=0))[1]
    demo.call("latest_raw_frame", camera="Camera")
    b = read_frame(demo.call("session_frame", sessionId=session, camera="Camera", index=0))[1]
    np.testing.assert_array_equal(a, b)


def test_closed_sessions_free_their_frames_at_once_without_the_cyclic_collector(demo):
    """Regression: a finished recording's cancelled timeout kept a bound method of the recording,
    a reference cycle; each closed session's frames waited for a full collection (the soak's
    stand-in grew by ~18 MB/s, one frame per frame served)."""

    def frames_alive() -> int:
        return sum(1 for obj in gc.get_objects() if isinstance(obj, Frame))

    gc.collect()  # garbage of earlier tests out of the count
    gc.disable()  # what is freed below is freed by reference counting alone
    try:
        before = frames_alive()
        for _ in range(20):
            session = demo.call("record", frames=1, camera="Camera", timeoutMs=60_000)["sessionId"]
            demo.call("session_frame", sessionId=session, camera="Camera")
            demo.call("session_close", sessionId=session)
        after = frames_alive()
    finally:
        gc.enable()
    assert after - before <= 2  # the camera's newer latest frame, and the one being published
