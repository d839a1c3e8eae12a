"""Control channel on the wire: endpoint, framing errors, envelope, several clients."""

from __future__ import annotations

import json
import os
import socket
import struct

import pytest

from pymodaq_plugins_scopeone.simulator import Simulator, SimulatorConfig, default_socket_path

from .localapi_client import ConnectionClosed, encode

FRAMING_ERROR = b'\x1b\x00\x00\x00{"ok":false,"type":"error"}'


def test_default_socket_is_scopeone_api_local_in_tmpdir(monkeypatch):
    monkeypatch.setenv("TMPDIR", "/some/where/")
    assert str(default_socket_path()) == "/some/where/ScopeOne.Api.local"
    monkeypatch.delenv("TMPDIR")
    assert str(default_socket_path()) == "/tmp/ScopeOne.Api.local"
    monkeypatch.setenv("TMPDIR", "/elsewhere")
    assert str(SimulatorConfig().resolved_socket_path) == "/elsewhere/ScopeOne.Api.local"


def test_stale_socket_file_is_removed_at_start(make_config, short_tmp, connect):
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(short_tmp / "api.sock"))
    stale.close()  # leaves the socket file behind, nobody listening
    sim = Simulator(make_config()).start()
    try:
        assert connect(sim).request("ping")["ok"] is True
    finally:
        sim.stop()


def test_a_regular_file_at_the_socket_path_is_not_deleted(make_config, short_tmp):
    (short_tmp / "api.sock").write_text("keep me")
    config = make_config()
    with pytest.raises(FileExistsError):
        Simulator(config).start()
    assert (short_tmp / "api.sock").read_text() == "keep me"
    assert not os.path.exists(f"/dev/shm/{config.mapping_name}")  # a failed start leaves nothing


def test_ping_answer_is_byte_exact(client):
    client.send_raw(b'\x1d\x00\x00\x00{"type":"ping","requestId":7}')
    body = b'{"coreVersion":"1.5.023","ok":true,"requestId":7,"type":"ping","version":"1.5.023"}'
    assert client.recv_raw() == struct.pack("<I", len(body)) + body


@pytest.mark.parametrize(
    "raw",
    [
        b"\x00\x00\x00\x00",
        struct.pack("<I", 64 * 1024 * 1024 + 1),
        encode([1, 2, 3]),
        encode("ping"),
        struct.pack("<I", 9) + b"{notjson}",
        struct.pack("<I", 2) + b"\xc3\x28",
    ],
    ids=["zero-length", "over-64MiB", "array", "string", "not-json", "bad-utf8"],
)
def test_framing_error_answers_error_object_then_drops_only_that_client(sim, connect, raw):
    bystander = connect(sim)
    bad = connect(sim)
    assert bystander.request("ping")["ok"] is True
    bad.send_raw(raw)
    assert bad.expect_closed() == FRAMING_ERROR
    assert bystander.request("version")["version"] == "1.5.023"
    assert connect(sim).request("ping")["ok"] is True


def test_requests_before_a_framing_error_in_the_same_buffer_are_answered(client):
    client.send_raw(encode({"type": "ping", "requestId": 1}) + b"\x00\x00\x00\x00")
    data = client.expect_closed()
    first_len = struct.unpack("<I", data[:4])[0]
    assert json.loads(data[4 : 4 + first_len])["requestId"] == 1
    assert data[4 + first_len :] == FRAMING_ERROR


def test_message_split_across_writes_is_reassembled(client):
    data = encode({"type": "ping", "requestId": "split"})
    for i in range(len(data)):
        client.send_raw(data[i : i + 1])
    assert client.recv()["requestId"] == "split"


@pytest.mark.parametrize("request_id", ["abc", 12, 3.5, -1, 0, ""])
def test_request_id_string_or_number_is_echoed(client, request_id):
    client.send({"type": "ping", "requestId": request_id})
    response = client.recv()
    assert response["requestId"] == request_id and type(response["requestId"]) is type(request_id)


def test_request_id_float_with_integral_value_is_written_like_qt(client):
    client.send_raw(encode({"type": "ping", "requestId": 4.0}))
    assert b'"requestId":4,' in client.recv_raw()


@pytest.mark.parametrize("request_id", [None, True, [1], {"a": 1}])
def test_request_id_of_another_type_is_refused(client, request_id):
    client.send({"type": "ping", "requestId": request_id})
    assert client.recv() == {"type": "ping", "ok": False, "error": "requestId must be a string or number"}


def test_no_request_id_means_none_in_the_answer(client):
    client.send({"type": "camera_ids"})
    assert client.recv() == {"type": "camera_ids", "ok": True, "cameraIds": []}


@pytest.mark.parametrize("type_value", [None, "", "   ", 5, ["ping"]])
def test_missing_or_empty_type(client, type_value):
    obj = {"requestId": 9} if type_value is None else {"type": type_value, "requestId": 9}
    client.send(obj)
    assert client.recv() == {"type": "error", "ok": False, "error": "Missing request type", "requestId": 9}


def test_type_is_trimmed(client):
    assert client.request("  ping \n")["type"] == "ping"


@pytest.mark.parametrize("type_", ["frobnicate", "PING", "sim_fault", "session_save", "layer_frame"])
def test_unknown_type(client, type_):
    assert client.request(type_) == {"type": type_, "ok": False, "error": "Unknown request type", "requestId": 1}


def test_two_clients_interleave_and_each_gets_its_own_answers(sim, connect):
    a, b = connect(sim), connect(sim)
    for i in range(20):
        a.send({"type": "ping", "requestId": f"a{i}"})
        b.send({"type": "camera_ids", "requestId": f"b{i}"})
    got_a = [a.recv() for _ in range(20)]
    got_b = [b.recv() for _ in range(20)]
    assert [r["requestId"] for r in got_a] == [f"a{i}" for i in range(20)]
    assert all(r["type"] == "ping" for r in got_a)
    assert [r["requestId"] for r in got_b] == [f"b{i}" for i in range(20)]
    assert all(r["cameraIds"] == [] for r in got_b)


def test_synchronous_requests_are_answered_in_order_when_pipelined(client):
    client.send_raw(
        b"".join(encode({"type": t, "requestId": i}) for i, t in enumerate(["ping", "status", "version"] * 10))
    )
    assert [client.recv()["requestId"] for _ in range(30)] == list(range(30))


def test_a_client_that_disconnects_mid_message_does_not_disturb_others(sim, connect):
    quitter = connect(sim)
    quitter.send_raw(struct.pack("<I", 100) + b'{"type":')
    quitter.close()
    assert connect(sim).request("ping")["ok"] is True


def test_large_valid_request_is_accepted(client):
    response = client.request("ping", padding="x" * (5 * 1024 * 1024))
    assert response["ok"] is True


def test_stop_closes_client_connections(sim, connect):
    c = connect(sim)
    assert c.request("ping")["ok"]
    sim.stop()
    with pytest.raises((ConnectionClosed, OSError)):
        c.request("ping")
    assert not sim.socket_path.exists()


def test_stop_removes_socket_file_and_shared_memory_and_can_restart(make_config, connect):
    config = make_config(load_demo=True)
    sim = Simulator(config).start()
    assert sim.socket_path.exists() and os.path.exists(f"/dev/shm/{config.mapping_name}")
    sim.stop()
    sim.stop()  # idempotent
    assert not sim.socket_path.exists() and not os.path.exists(f"/dev/shm/{config.mapping_name}")
    with Simulator(config) as again:
        assert connect(again).call("camera_ids")["cameraIds"] == ["Camera"]
    assert not os.path.exists(f"/dev/shm/{config.mapping_name}")


def test_two_simulators_side_by_side(make_sim, short_tmp, connect):
    first = make_sim(load_demo=True)
    second = make_sim(socket_path=str(short_tmp / "second.sock"))
    assert first.mapping_name != second.mapping_name
    assert connect(first).call("camera_ids")["cameraIds"] == ["Camera"]
    assert connect(second).call("camera_ids")["cameraIds"] == []
