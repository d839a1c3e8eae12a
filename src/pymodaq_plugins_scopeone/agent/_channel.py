"""Byte channels to ScopeOne's Local API endpoint, standard library only.

* Linux/Unix: the ``QLocalServer`` socket ``<temp dir>/ScopeOne.Api.local`` (AF_UNIX stream);
  ``select`` tells when bytes have arrived.
* Windows: the named pipe ``\\\\.\\pipe\\ScopeOne.Api.local`` opened as a file. A pipe opened
  that way is a synchronous handle: a read blocks without timeout and Windows serialises it
  with writes from other threads (a reader waiting for a slow move would hold every request
  back). So the reader never blocks in ``ReadFile``: it asks ``PeekNamedPipe`` how many bytes
  have arrived and reads only those, sleeping 1 → 10 ms between empty peeks. That is the one
  polling wait of the agent, forced by the pipe API without overlapped I/O; it only decides
  how soon a response already sent by ScopeOne is picked up.
"""

from __future__ import annotations

import abc
import contextlib
import importlib
import os
import select
import socket
import sys
import tempfile
import threading
import time
from typing import Any, Callable, Optional

from ._errors import ScopeOneUnavailable

SERVER_NAME = "ScopeOne.Api.local"
PIPE_PREFIX = "\\\\.\\pipe\\"
SEND_TIMEOUT_S = 5.0
_PIPE_POLL_MIN_S, _PIPE_POLL_MAX_S = 0.001, 0.01


class Channel(abc.ABC):
    """A connected byte stream; ``recv`` only after ``wait_readable`` said True."""

    description = "channel"

    @abc.abstractmethod
    def wait_readable(self, timeout_s: float) -> bool:
        """True when ``recv`` will not block (bytes arrived, or the peer closed)."""

    @abc.abstractmethod
    def recv(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` bytes; ``b''`` when the peer closed."""

    @abc.abstractmethod
    def send(self, data: bytes) -> None:
        """Send all of ``data`` (ScopeOneUnavailable when the channel broke)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close (idempotent); a thread in ``wait_readable`` returns."""


class SocketChannel(Channel):
    """AF_UNIX stream socket. Its timeout is set once (for sends) and never changed, so the
    reader thread and the sending threads do not race on it."""

    def __init__(self, sock: socket.socket, description: str = "socket") -> None:
        self._sock = sock
        self._sock.settimeout(SEND_TIMEOUT_S)
        self._closed = False
        self.description = description

    def wait_readable(self, timeout_s: float) -> bool:
        if self._closed:
            return True
        try:
            readable, _, _ = select.select([self._sock], [], [], max(0.0, timeout_s))
        except (OSError, ValueError):  # closed under our feet
            return True
        return bool(readable)

    def recv(self, max_bytes: int) -> bytes:
        if self._closed:
            return b""
        try:
            return self._sock.recv(max_bytes)
        except (OSError, ValueError):
            return b""

    def send(self, data: bytes) -> None:
        if self._closed:
            raise ScopeOneUnavailable(f"{self.description}: connection closed")
        try:
            self._sock.sendall(data)
        except socket.timeout:
            raise ScopeOneUnavailable(
                f"{self.description}: ScopeOne stopped reading for {SEND_TIMEOUT_S:g} s"
            ) from None
        except OSError as error:
            raise ScopeOneUnavailable(f"{self.description}: {error}") from None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()


class PipeChannel(Channel):
    """A Windows named pipe opened as a file (see the module docstring).

    ``peek()`` returns the number of bytes waiting (``_winapi.PeekNamedPipe`` by default);
    tests pass fakes for the file, ``peek`` and ``sleep``.
    """

    def __init__(
        self,
        file: Any,
        peek: Optional[Callable[[], int]] = None,
        sleep: Callable[[float], None] = time.sleep,
        description: str = "pipe",
    ) -> None:
        self._file = file
        self._peek = peek or _windows_peek(file)
        self._sleep = sleep
        self._closed = False
        self._write_lock = threading.Lock()
        self.description = description

    def _available(self) -> int:
        try:
            return int(self._peek())
        except (OSError, ValueError):
            return -1  # broken pipe: let recv report the end

    def wait_readable(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + max(0.0, timeout_s)
        step = _PIPE_POLL_MIN_S
        while not self._closed:
            if self._available() != 0:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._sleep(min(step, remaining))
            step = min(step * 2, _PIPE_POLL_MAX_S)
        return True

    def recv(self, max_bytes: int) -> bytes:
        available = self._available()
        if self._closed or available <= 0:
            return b""
        try:
            data = self._file.read(min(max_bytes, available))
        except (OSError, ValueError):
            return b""
        return bytes(data or b"")

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        with self._write_lock:
            try:
                while view:
                    written = self._file.write(view)
                    if not written:
                        raise OSError("the pipe accepted no bytes")
                    view = view[written:]
            except (OSError, ValueError) as error:
                raise ScopeOneUnavailable(f"{self.description}: {error}") from None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(OSError):
            self._file.close()


def _windows_peek(file: Any) -> Callable[[], int]:  # pragma: no cover - Windows only
    # Imported by name: these modules exist on Windows only, and this function runs there only.
    _winapi = importlib.import_module("_winapi")
    msvcrt = importlib.import_module("msvcrt")

    handle = getattr(msvcrt, "get_osfhandle")(file.fileno())  # noqa: B009 - Windows-only name

    def peek() -> int:
        return int(getattr(_winapi, "PeekNamedPipe")(handle, 0)[0])  # noqa: B009

    return peek


def default_endpoint(platform: str = sys.platform) -> str:
    """ScopeOne's endpoint: the pipe on Windows, ``$TMPDIR`` (else /tmp)/ScopeOne.Api.local."""
    if platform.startswith("win"):
        return PIPE_PREFIX + SERVER_NAME
    tmp = os.environ.get("TMPDIR") or "/tmp"
    return os.path.join(os.path.normpath(tmp), SERVER_NAME)


def resolve_endpoint(spec: str, platform: str = sys.platform) -> str:
    """``local`` → :func:`default_endpoint`; a bare name → pipe (Windows) or temp-dir socket."""
    if not spec or spec == "local":
        return default_endpoint(platform)
    if platform.startswith("win"):
        return spec if spec.startswith("\\\\") else PIPE_PREFIX + spec
    if "/" not in spec:
        tmp = os.environ.get("TMPDIR") or tempfile.gettempdir()
        return os.path.join(os.path.normpath(tmp), spec)
    return spec


def open_channel(endpoint: str, timeout_s: float = 2.0, platform: str = sys.platform) -> Channel:
    """Connect to ``endpoint`` once; ScopeOneUnavailable if nobody listens there."""
    if platform.startswith("win"):  # pragma: no cover - Windows only
        try:
            file = open(endpoint, "r+b", buffering=0)  # noqa: SIM115 - owned by the channel
        except OSError as error:
            raise ScopeOneUnavailable(f"cannot open {endpoint}: {error}") from None
        return PipeChannel(file, description=endpoint)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout_s)
    try:
        sock.connect(endpoint)
    except OSError as error:
        sock.close()
        raise ScopeOneUnavailable(f"cannot connect to {endpoint}: {error}") from None
    return SocketChannel(sock, description=endpoint)
