"""A small ScopeOne Local API client written from the protocol reference, for the tests.

Independent of the simulator's code on purpose (framing, header parsing and shared-memory
reading are re-implemented here from reference §1.2, §1.3 and §3), so the tests check the
simulator against the reference, not against itself.
"""

from __future__ import annotations

import itertools
import json
import mmap
import os
import socket
import struct
import time
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
HEADER = struct.Struct("<IIIIIHHQQiiiiI4x")
HEADER_FIELDS = (
    "state",
    "width",
    "height",
    "stride",
    "pixelFormat",
    "bitsPerSample",
    "channels",
    "frameIndex",
    "timestampNs",
    "sourceRoiX",
    "sourceRoiY",
    "sourceRoiWidth",
    "sourceRoiHeight",
    "sourceRoiValid",
)


class ConnectionClosed(Exception):
    """The server closed the connection."""


class RequestFailed(RuntimeError):
    """``ok`` was false; ``response`` holds the whole answer."""

    def __init__(self, response: Dict[str, Any]) -> None:
        super().__init__(response.get("error", "ScopeOne request failed"))
        self.response = response


def encode(obj: Any) -> bytes:
    """Length prefix (u32 LE) + compact JSON, as the Python facade sends."""
    payload = json.dumps(obj, separators=(",", ":")).encode("utf-8")
    return struct.pack("<I", len(payload)) + payload


class LocalApiClient:
    """Blocking client with a timeout on every call; correlates answers by ``requestId``."""

    def __init__(self, path: str, timeout: float = 5.0, connect_timeout: float = 5.0) -> None:
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.monotonic() + connect_timeout
        while True:  # the Python facade retries every 50 ms for up to 5 s
            try:
                self.sock.settimeout(timeout)
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    self.sock.close()
                    raise
                time.sleep(0.05)
        self._ids = itertools.count(1)
        self._pending: Dict[Any, Dict[str, Any]] = {}

    def __enter__(self) -> LocalApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, obj: Dict[str, Any]) -> None:
        self.send_raw(encode(obj))

    def _recv_exact(self, n: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < n:
            chunk = self.sock.recv(n - len(chunks))
            if not chunk:
                raise ConnectionClosed(f"closed after {len(chunks)} of {n} bytes")
            chunks += chunk
        return bytes(chunks)

    def recv_raw(self) -> bytes:
        """One whole message including its length prefix."""
        head = self._recv_exact(4)
        (length,) = struct.unpack("<I", head)
        if length == 0 or length > MAX_MESSAGE_BYTES:
            raise ValueError(f"bad response length {length}")
        return head + self._recv_exact(length)

    def recv(self) -> Dict[str, Any]:
        message = json.loads(self.recv_raw()[4:].decode("utf-8"))
        assert isinstance(message, dict)
        return message

    def request(self, type_: str, **fields: Any) -> Dict[str, Any]:
        """Send with a fresh integer ``requestId``; return the answer carrying that id."""
        request_id = next(self._ids)
        self.send({"type": type_, "requestId": request_id, **fields})
        return self.wait_for(request_id)

    def send_request(self, type_: str, **fields: Any) -> int:
        """Send without waiting; return the ``requestId``."""
        request_id = next(self._ids)
        self.send({"type": type_, "requestId": request_id, **fields})
        return request_id

    def wait_for(self, request_id: Any) -> Dict[str, Any]:
        while request_id not in self._pending:
            message = self.recv()
            self._pending[message.get("requestId")] = message
        return self._pending.pop(request_id)

    def call(self, type_: str, **fields: Any) -> Dict[str, Any]:
        """Like :meth:`request` but raise :class:`RequestFailed` when ``ok`` is false."""
        response = self.request(type_, **fields)
        if response.get("ok") is not True:
            raise RequestFailed(response)
        return response

    def expect_closed(self, timeout: float = 2.0) -> bytes:
        """Read until EOF; return what came before it (fails on timeout)."""
        self.sock.settimeout(timeout)
        data = bytearray()
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                return bytes(data)
            data += chunk


def read_header(mapping_name: str) -> Dict[str, int]:
    """Parse the 64-byte header of ``/dev/shm/<mapping_name>``."""
    with open(f"/dev/shm/{mapping_name}", "rb") as f:
        return dict(zip(HEADER_FIELDS, HEADER.unpack(f.read(64))))


def read_frame(response: Dict[str, Any]) -> Tuple[Dict[str, int], np.ndarray]:
    """Map the block named in a frame response and copy out the image (reference §3.1)."""
    fd = os.open(f"/dev/shm/{response['mappingName']}", os.O_RDONLY)
    try:
        mm = mmap.mmap(fd, response["mappingSize"], access=mmap.ACCESS_READ)
    finally:
        os.close(fd)
    try:
        header = dict(zip(HEADER_FIELDS, HEADER.unpack(mm[:64])))
        if header["state"] != 2 or header["channels"] != 1 or header["pixelFormat"] not in (0, 1):
            raise ValueError(f"frame not ready or invalid: {header}")
        dtype = np.uint8 if header["pixelFormat"] == 0 else np.uint16
        h, w, stride = header["height"], header["width"], header["stride"]
        raw = np.frombuffer(mm, dtype=np.uint8, count=stride * h, offset=64)
        rows = raw.reshape(h, stride)[:, : w * np.dtype(dtype).itemsize]
        image = np.ascontiguousarray(rows).view("<u2" if dtype == np.uint16 else np.uint8).astype(dtype)
        del raw, rows
        return header, image
    finally:
        mm.close()


def frames_until(client: LocalApiClient, camera: str, predicate: Any, timeout: float = 5.0) -> Dict[str, Any]:
    """Poll ``latest_raw_frame`` until ``predicate(response)`` holds; return that response."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.request("latest_raw_frame", camera=camera)
        if response.get("ok") and predicate(response):
            return response
        if time.monotonic() > deadline:
            raise TimeoutError(f"no matching frame within {timeout} s: {response}")
        time.sleep(0.005)


def ids(responses: List[Dict[str, Any]]) -> List[Optional[Any]]:
    return [r.get("requestId") for r in responses]
