"""Stage requests: asynchronous moves at finite speed, limits, positions while moving."""

from __future__ import annotations

import time

import pytest


def test_read_positions_at_start(demo):
    assert demo.call("read_xy_position", device="") == {
        "type": "read_xy_position",
        "requestId": 1,
        "ok": True,
        "x": 0,
        "y": 0,
    }
    assert demo.call("read_z_position", device="Z")["z"] == 0
    assert demo.request("read_xy_position", device="Z")["error"] == "Failed to read XY position"
    assert demo.request("read_z_position", device="XY")["error"] == "Failed to read Z position"


def test_move_is_answered_when_the_stage_arrives(demo):
    started = time.monotonic()
    assert demo.call("move_xy_to", device="", x=120.0, y=-160.0) == {"type": "move_xy_to", "requestId": 1, "ok": True}
    elapsed = time.monotonic() - started
    assert 0.19 <= elapsed < 0.6  # 200 µm at 1000 µm/s
    assert demo.call("read_xy_position")["x"] == 120 and demo.call("read_xy_position")["y"] == -160


def test_position_is_readable_while_moving_and_requests_overtake_the_move(demo):
    move_id = demo.send_request("move_z_to", device="", z=40.0)  # 200 ms at 200 µm/s
    time.sleep(0.08)
    read_id = demo.send_request("read_z_position")
    first = demo.recv()
    assert first["requestId"] == read_id  # the sync request answers before the async move
    assert 5.0 < first["z"] < 35.0
    done = demo.recv()
    assert done == {"type": "move_z_to", "requestId": move_id, "ok": True}
    assert demo.call("read_z_position")["z"] == 40


def test_relative_moves_add_up_and_moves_run_one_after_the_other(demo):
    started = time.monotonic()
    ids = [demo.send_request("move_xy_relative", device="XY", dx=50, dy=0) for _ in range(3)]
    answers = [demo.recv() for _ in ids]
    assert [a["requestId"] for a in answers] == ids and all(a["ok"] for a in answers)
    assert time.monotonic() - started >= 0.14  # 3 × 50 ms, sequential
    assert demo.call("read_xy_position")["x"] == 150


def test_missing_coordinates_read_as_zero(demo):
    demo.call("move_z_to", z=10)
    demo.call("move_z_to")
    assert demo.call("read_z_position")["z"] == 0
    demo.call("move_xy_relative", dx="5", dy=3)  # a string reads as 0 (toDouble)
    assert (demo.call("read_xy_position")["x"], demo.call("read_xy_position")["y"]) == (0, 3)


@pytest.mark.parametrize(
    "type_,fields",
    [
        ("move_xy_to", {"x": 60000, "y": 0}),
        ("move_xy_relative", {"dx": 0, "dy": -50001}),
        ("move_z_to", {"z": 300.5}),
        ("move_z_relative", {"dz": -1000}),
        ("move_xy_to", {"x": 1e308, "y": 0}),
    ],
)
def test_moves_beyond_travel_fail_and_the_stage_stays(demo, type_, fields):
    assert demo.request(type_, device="", **fields) == {
        "type": type_,
        "requestId": 1,
        "ok": False,
        "error": "Stage move failed",
    }
    assert demo.call("read_xy_position")["x"] == 0 and demo.call("read_z_position")["z"] == 0


@pytest.mark.parametrize("type_", ["move_xy_to", "move_xy_relative", "move_z_to", "move_z_relative"])
def test_unknown_stage_cannot_queue(demo, type_):
    assert demo.request(type_, device="Ghost")["error"] == "Failed to queue stage move"


def test_unload_fails_pending_moves(demo):
    move_id = demo.send_request("move_xy_to", x=5000, y=0)  # 5 s
    time.sleep(0.05)
    unload_id = demo.send_request("unload_config")
    answers = {a["requestId"]: a for a in (demo.recv(), demo.recv())}
    assert answers[move_id]["error"] == "Stage move failed"
    assert answers[unload_id]["ok"] is True


def test_frame_shows_the_new_position_after_a_move(demo_sim, demo):
    demo.call("start_preview")
    demo.call("move_xy_to", x=80, y=30)
    arrived = time.monotonic()
    frame = None
    while frame is None or frame.exposure_start < arrived:
        frame = demo_sim.wait_for_frame("Camera", frame.frame_index if frame else 0, timeout_s=2.0)
        assert frame is not None
    assert frame.stage_xy_um == (80.0, 30.0)
    assert demo_sim.estimate_stage_xy(frame.image, (0.0, 0.0)) == pytest.approx((80.0, 30.0), abs=1.0)
