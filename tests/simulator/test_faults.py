"""Fault hooks: failing and hanging moves, stalled or dropped channel, checksummed frames."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest

from pymodaq_plugins_scopeone.simulator import Faults, read_stamp, stamp_checksum, verify_frame_checksum

from .localapi_client import ConnectionClosed, read_frame


def test_fail_next_move(demo_sim, demo):
    demo_sim.faults.fail_next_move()
    assert demo.request("move_xy_to", x=10, y=0)["error"] == "Stage move failed"
    assert demo_sim.xy_position() == (0.0, 0.0)
    assert demo.call("move_xy_to", x=10, y=0)["ok"] is True
    assert demo_sim.xy_position() == (10.0, 0.0)


def test_hung_move_never_answers_until_released(demo_sim, demo):
    demo_sim.faults.hang_next_move()
    move_id = demo.send_request("move_xy_to", x=100, y=0)
    demo.sock.settimeout(0.3)
    with pytest.raises(socket.timeout):
        demo.recv()
    demo.sock.settimeout(5.0)
    assert demo.call("read_xy_position")["x"] == pytest.approx(50.0)  # stopped half-way
    queued_id = demo.send_request("move_z_to", z=1)  # other stage still works
    assert demo.wait_for(queued_id)["ok"] is True
    assert demo_sim.faults.release_hung_moves() == 1
    assert demo.wait_for(move_id) == {
        "type": "move_xy_to",
        "requestId": move_id,
        "ok": False,
        "error": "Stage move failed",
    }
    assert demo.call("move_xy_to", x=0, y=0)["ok"] is True


def test_stall_holds_answers_then_serves_everything(sim, connect):
    early = connect(sim)
    sim.faults.stall(0.3)
    started = time.monotonic()
    late = connect(sim)  # the kernel still accepts the connection
    early_id = early.send_request("ping")
    late_id = late.send_request("version")
    assert early.wait_for(early_id)["ok"] is True
    assert late.wait_for(late_id)["ok"] is True
    assert time.monotonic() - started >= 0.25


def test_stall_until_resume(sim, client):
    sim.faults.stall()
    request_id = client.send_request("ping")
    client.sock.settimeout(0.2)
    with pytest.raises(socket.timeout):
        client.recv()
    client.sock.settimeout(5.0)
    sim.faults.resume()
    assert client.wait_for(request_id)["ok"] is True


def test_drop_connections(sim, connect):
    a, b = connect(sim), connect(sim)
    a.call("ping")
    b.call("ping")
    assert sim.faults.drop_connections() == 2
    for client in (a, b):
        with pytest.raises((ConnectionClosed, ConnectionResetError, BrokenPipeError)):
            client.request("ping")
    assert connect(sim).call("ping")["ok"] is True


def test_drop_next_request_closes_only_that_connection(sim, connect):
    victim, bystander = connect(sim), connect(sim)
    sim.faults.drop_next_request()
    victim.send_request("status")
    assert victim.expect_closed() == b""
    assert bystander.call("ping")["ok"] is True


def test_checksum_stamp_in_frames(demo_sim, demo):
    demo_sim.faults.stamp_checksums = True
    demo.call("start_preview")
    demo_sim.wait_for_frame("Camera", demo_sim.wait_for_frame("Camera", 0).frame_index)
    response = demo.call("latest_raw_frame", camera="Camera")
    header, image = read_frame(response)
    assert verify_frame_checksum(image, header["frameIndex"])
    assert read_stamp(image)[1] == header["frameIndex"]
    assert not verify_frame_checksum(image, header["frameIndex"] + 1)
    corrupted = image.copy()
    corrupted[300, 17] ^= 1
    assert not verify_frame_checksum(corrupted)
    swapped = image.copy()
    swapped[[1, 2]] = swapped[[2, 1]]
    assert not verify_frame_checksum(swapped)
    demo_sim.faults.stamp_checksums = False
    later = demo_sim.wait_for_frame("Camera", demo_sim.wait_for_frame("Camera", header["frameIndex"]).frame_index)
    assert read_stamp(later.image) is None and not verify_frame_checksum(later.image)


def test_checksum_stamp_layout_in_uint8():
    image = np.arange(64, dtype=np.uint8).reshape(4, 16)
    stamped = stamp_checksum(image, 0x0102030405060708)
    assert bytes(stamped[0, :4]) == b"S1CK"
    assert list(stamped[0, 8:16]) == [8, 7, 6, 5, 4, 3, 2, 1]
    np.testing.assert_array_equal(stamped[1:], image[1:])
    assert verify_frame_checksum(stamped, 0x0102030405060708)
    with pytest.raises(ValueError):
        stamp_checksum(np.zeros((4, 15), np.uint16), 1)


def test_fault_requests_over_the_wire(make_sim, connect):
    sim = make_sim(load_demo=True, fault_requests=True)
    client = connect(sim)
    assert client.call("sim_fault", action="fail_next_move")["ok"] is True
    assert client.request("move_z_to", z=1)["error"] == "Stage move failed"
    assert client.call("sim_fault", action="checksum", enabled=True)["ok"] and sim.faults.stamp_checksums
    assert client.request("sim_fault", action="stall")["error"] == "stall needs seconds: a number in (0, 600]"
    assert client.request("sim_fault", action="explode")["error"].startswith("Unknown fault action")
    assert client.call("sim_fault", action="reset")["ok"] and not sim.faults.stamp_checksums
    started = time.monotonic()
    assert client.call("sim_fault", action="stall", seconds=0.2)["ok"] is True  # held until the stall ends
    assert time.monotonic() - started >= 0.15
    client.call("sim_fault", action="drop_next_request")
    client.send_request("ping")
    assert client.expect_closed() == b""


def test_hooks_need_a_running_simulator():
    with pytest.raises(RuntimeError, match="not running"):
        Faults().stall(1.0)
