"""The Local API client with fake endpoints: framing, requestId correlation, timeouts, errors,
and the Windows pipe channel (no Windows here: its file and PeekNamedPipe are faked)."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from pymodaq_plugins_scopeone.agent._channel import PipeChannel, SocketChannel, resolve_endpoint
from pymodaq_plugins_scopeone.agent._errors import (
    AgentError,
    LocalApiProtocolError,
    ScopeOneApiError,
    ScopeOneTimeout,
    ScopeOneUnavailable,
)
from pymodaq_plugins_scopeone.agent._localapi import LocalApiConnection

LENGTH = struct.Struct("<I")


class FakeScopeOne:
    """The far end of a socketpair: reads requests, answers as the test says."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.settimeout(5.0)
        self.buffer = b""

    def read_request(self) -> Dict[str, Any]:
        while len(self.buffer) < 4 or len(self.buffer) < 4 + LENGTH.unpack_from(self.buffer)[0]:
            data = self.sock.recv(65536)
            assert data, "client closed"
            self.buffer += data
        (length,) = LENGTH.unpack_from(self.buffer)
        payload, self.buffer = self.buffer[4 : 4 + length], self.buffer[4 + length :]
        assert b" " not in payload  # compact JSON, as the reference client sends
        request: Dict[str, Any] = json.loads(payload)
        return request

    def answer(self, body: Dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.sock.sendall(LENGTH.pack(len(payload)) + payload)


@pytest.fixture
def pair() -> Iterator[Tuple[LocalApiConnection, FakeScopeOne]]:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    connection = LocalApiConnection(SocketChannel(ours)).start()
    fake = FakeScopeOne(theirs)
    try:
        yield connection, fake
    finally:
        connection.close()
        connection.join(2.0)
        theirs.close()


def test_sync_request_round_trip(pair: Tuple[LocalApiConnection, FakeScopeOne]) -> None:
    connection, fake = pair
    result: List[Dict[str, Any]] = []
    thread = threading.Thread(target=lambda: result.append(connection.request("read_exposure", 2.0, camera="Camera")))
    thread.start()
    request = fake.read_request()
    assert request == {"type": "read_exposure", "requestId": 1, "camera": "Camera"}
    fake.answer({"type": "read_exposure", "requestId": 1, "ok": True, "exposureMs": 12.5})
    thread.join(2.0)
    assert result == [{"type": "read_exposure", "requestId": 1, "ok": True, "exposureMs": 12.5}]


def test_out_of_order_responses_reach_their_requests(pair: Tuple[LocalApiConnection, FakeScopeOne]) -> None:
    connection, fake = pair
    outcomes: Dict[str, Any] = {}
    done = threading.Event()

    def on_move(outcome: Any) -> None:
        outcomes["move"] = outcome
        done.set()

    connection.submit("move_z_to", 5.0, on_move, device="", z=10.0)
    move = fake.read_request()
    reader = threading.Thread(
        target=lambda: outcomes.update(read=connection.request("read_z_position", 2.0, device=""))
    )
    reader.start()
    read = fake.read_request()
    assert (move["requestId"], read["requestId"]) == (1, 2)
    fake.answer({"type": "read_z_position", "requestId": 2, "ok": True, "z": 4.0})  # the later one first
    reader.join(2.0)
    assert outcomes["read"]["z"] == 4.0 and "move" not in outcomes
    fake.answer({"type": "move_z_to", "requestId": 1, "ok": False, "error": "Stage move failed"})
    assert done.wait(2.0)
    error = outcomes["move"]
    assert isinstance(error, ScopeOneApiError)
    assert (error.request_type, error.text) == ("move_z_to", "Stage move failed")


def test_error_text_is_passed_on(pair: Tuple[LocalApiConnection, FakeScopeOne]) -> None:
    connection, fake = pair
    box: List[BaseException] = []

    def call() -> None:
        try:
            connection.request("set_roi", 2.0, camera="Camera", x=0, y=0, width=0, height=1)
        except AgentError as error:
            box.append(error)

    thread = threading.Thread(target=call)
    thread.start()
    fake.answer({"type": "set_roi", "requestId": fake.read_request()["requestId"], "ok": False, "error": "Invalid ROI"})
    thread.join(2.0)
    assert isinstance(box[0], ScopeOneApiError) and box[0].text == "Invalid ROI"
    assert "set_roi" in str(box[0])


def test_sync_timeout_then_late_answer_is_dropped(pair: Tuple[LocalApiConnection, FakeScopeOne]) -> None:
    connection, fake = pair
    start = time.monotonic()
    with pytest.raises(ScopeOneTimeout, match=r"'status' within 0\.2 s"):
        connection.request("status", 0.2)
    assert time.monotonic() - start >= 0.2
    first = fake.read_request()
    fake.answer({"type": "status", "requestId": first["requestId"], "ok": True})  # too late: ignored
    box: List[Dict[str, Any]] = []
    thread = threading.Thread(target=lambda: box.append(connection.request("ping", 2.0)))
    thread.start()
    second = fake.read_request()
    fake.answer({"type": "ping", "requestId": second["requestId"], "ok": True, "version": "1.5.023"})
    thread.join(2.0)
    assert box[0]["version"] == "1.5.023" and not connection.closed


def test_async_timeout_is_enforced_by_the_reader(pair: Tuple[LocalApiConnection, FakeScopeOne]) -> None:
    connection, _fake = pair
    box: List[Any] = []
    done = threading.Event()
    start = time.monotonic()
    connection.submit("move_xy_to", 0.15, lambda outcome: (box.append(outcome), done.set()), device="", x=1, y=2)
    assert done.wait(2.0)
    assert time.monotonic() - start >= 0.15
    assert isinstance(box[0], ScopeOneTimeout) and box[0].request_type == "move_xy_to"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (LENGTH.pack(0), "length 0 is outside"),
        (LENGTH.pack(5) + b"[1,2]", "not a JSON object"),
        (LENGTH.pack(3) + b"\xff\xfe{", "not UTF-8 JSON"),
    ],
)
def test_protocol_errors_close_and_fail_pending(
    pair: Tuple[LocalApiConnection, FakeScopeOne], raw: bytes, message: str
) -> None:
    connection, fake = pair
    box: List[BaseException] = []

    def call() -> None:
        try:
            connection.request("ping", 5.0)
        except AgentError as error:
            box.append(error)

    thread = threading.Thread(target=call)
    thread.start()
    fake.read_request()
    fake.sock.sendall(raw)
    thread.join(3.0)
    assert isinstance(box[0], ScopeOneUnavailable) and message in str(box[0])
    assert connection.closed
    with pytest.raises(ScopeOneUnavailable):
        connection.request("ping", 1.0)


def test_peer_close_fails_pending_requests(pair: Tuple[LocalApiConnection, FakeScopeOne]) -> None:
    connection, fake = pair
    box: List[Any] = []
    done = threading.Event()
    connection.submit("record", 10.0, lambda outcome: (box.append(outcome), done.set()), frames=1)
    fake.read_request()
    fake.sock.close()
    assert done.wait(2.0)
    assert isinstance(box[0], ScopeOneUnavailable) and "closed" in str(box[0])


def test_response_type_mismatch_is_a_protocol_error() -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    reasons: List[str] = []
    connection = LocalApiConnection(SocketChannel(ours), on_closed=reasons.append).start()
    fake = FakeScopeOne(theirs)
    try:
        connection.submit("ping", 5.0, lambda outcome: None)
        fake.answer({"type": "status", "requestId": fake.read_request()["requestId"], "ok": True})
        deadline = time.monotonic() + 2.0
        while not reasons and time.monotonic() < deadline:
            time.sleep(0.01)
        assert reasons and "has type 'status', expected 'ping'" in reasons[0]
        assert isinstance(LocalApiProtocolError("x"), AgentError)
    finally:
        connection.close()
        theirs.close()


def test_unserialisable_request_names_the_type(pair: Tuple[LocalApiConnection, FakeScopeOne]) -> None:
    connection, _fake = pair
    with pytest.raises(AgentError, match="'set_exposure' cannot be sent as JSON"):
        connection.request("set_exposure", 1.0, exposureMs=float("nan"))
    assert not connection.closed


# -- Windows named pipe (faked) ------------------------------------------------------------------


class FakePipeFile:
    """What ``open(r'\\\\.\\pipe\\ScopeOne.Api.local', 'r+b', buffering=0)`` gives, in memory:
    reads block forever if asked for more than has arrived (as a synchronous pipe would)."""

    def __init__(self) -> None:
        self.incoming = bytearray()
        self.written = bytearray()
        self.max_write = 7  # raw writes may be partial
        self.lock = threading.Lock()
        self.closed = False

    def read(self, size: int) -> bytes:
        with self.lock:
            assert size <= len(self.incoming), "the channel asked for bytes that have not arrived (would block)"
            data, self.incoming[:size] = bytes(self.incoming[:size]), b""
            return data

    def write(self, data: memoryview) -> int:
        chunk = bytes(data[: self.max_write])
        self.written += chunk
        return len(chunk)

    def close(self) -> None:
        self.closed = True

    def peek(self) -> int:
        if self.closed:
            raise OSError("pipe closed")
        with self.lock:
            return len(self.incoming)


def test_pipe_channel_reads_only_what_arrived_and_writes_everything() -> None:
    fake = FakePipeFile()
    sleeps: List[float] = []
    channel = PipeChannel(fake, peek=fake.peek, sleep=sleeps.append)
    assert channel.wait_readable(0.0) is False
    channel.send(b"0123456789abcdefghij")
    assert bytes(fake.written) == b"0123456789abcdefghij"
    fake.incoming += b"hello"
    assert channel.wait_readable(1.0) is True
    assert channel.recv(65536) == b"hello"
    assert channel.recv(65536) == b""  # nothing waiting: no blocking read


def test_pipe_channel_waits_with_growing_sleeps_until_the_deadline() -> None:
    fake = FakePipeFile()
    sleeps: List[float] = []
    channel = PipeChannel(fake, peek=fake.peek, sleep=lambda s: (sleeps.append(s), time.sleep(s)))
    start = time.monotonic()
    assert channel.wait_readable(0.05) is False
    assert 0.05 <= time.monotonic() - start < 0.5
    assert sleeps[0] == pytest.approx(0.001) and max(sleeps) <= 0.01 + 1e-9
    body = sleeps[:-1]  # the last sleep is cut to the deadline
    assert all(a <= b for a, b in zip(body, body[1:]))


def test_local_api_over_a_fake_pipe() -> None:
    fake = FakePipeFile()
    connection = LocalApiConnection(PipeChannel(fake, peek=fake.peek)).start()
    try:
        box: List[Dict[str, Any]] = []
        thread = threading.Thread(target=lambda: box.append(connection.request("ping", 2.0)))
        thread.start()
        deadline = time.monotonic() + 2.0
        while len(fake.written) < 4 and time.monotonic() < deadline:
            time.sleep(0.001)
        while len(fake.written) < 4 + LENGTH.unpack_from(fake.written)[0] and time.monotonic() < deadline:
            time.sleep(0.001)
        request = json.loads(bytes(fake.written[4:]))
        assert request == {"type": "ping", "requestId": 1}
        payload = json.dumps({"type": "ping", "requestId": 1, "ok": True, "version": "v"}).encode()
        with fake.lock:
            fake.incoming += LENGTH.pack(len(payload)) + payload
        thread.join(2.0)
        assert box and box[0]["version"] == "v"
    finally:
        connection.close()
    assert fake.closed


def test_broken_pipe_reads_as_closed() -> None:
    fake = FakePipeFile()
    channel = PipeChannel(fake, peek=fake.peek)
    fake.closed = True
    assert channel.wait_readable(1.0) is True
    assert channel.recv(10) == b""


@pytest.mark.parametrize(
    ("spec", "platform", "expected"),
    [
        ("local", "win32", "\\\\.\\pipe\\ScopeOne.Api.local"),
        ("Other.Name", "win32", "\\\\.\\pipe\\Other.Name"),
        ("\\\\.\\pipe\\X", "win32", "\\\\.\\pipe\\X"),
        ("/run/s1.sock", "linux", "/run/s1.sock"),
    ],
)
def test_endpoints(spec: str, platform: str, expected: str) -> None:
    assert resolve_endpoint(spec, platform) == expected


def test_local_endpoint_follows_tmpdir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", "/var/tmp/x/")
    assert resolve_endpoint("local", "linux") == "/var/tmp/x/ScopeOne.Api.local"
    monkeypatch.delenv("TMPDIR")
    assert resolve_endpoint("local", "linux") == "/tmp/ScopeOne.Api.local"
