"""The incremental, sans-IO decoders: feed bytes of any size, get whole messages.

Two ways to give it input:

- ``feed(data)``: bytes from anywhere (a ``recv``, a test, one byte at a time);
- ``receive_buffer()`` / ``received_into(n)``: while the decoder waits for the pixels
  of an array and holds no buffered input, ``receive_buffer()`` is the unfilled part of
  that array; a socket can ``recv_into`` it, so the pixels are copied exactly once,
  from the kernel into their final numpy array.

A typical socket loop::

    view = decoder.receive_buffer()
    if view is not None:
        decoder.received_into(sock.recv_into(view))
    else:
        decoder.feed(sock.recv(65536))
    while (message := decoder.next_message()) is not None:
        handle(message)

Messages completed before a protocol error are still returned; then ``next_message``
raises the error, and the decoder refuses further input: the stream has lost its framing.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Deque, Generic, Optional, TypeVar, Union

from ._errors import ProtocolError, RemoteProtocolError
from ._limits import DEFAULT_LIMITS, Limits
from ._messages import Message, Sender
from ._parse import TAGGED_PARSERS, Context, Parser, Peek, ReadInto, read_message

T = TypeVar("T")
Buffer = Union[bytes, bytearray, memoryview]
_COMPACT_AT = 1 << 16


class IncrementalDecoder(Generic[T]):
    """Runs one parser per item over a byte stream; see the module docstring."""

    def __init__(self, start: Callable[[Context], Parser[T]], limits: Limits, sender: Optional[Sender]) -> None:
        self._start = start
        self._limits = limits
        self._sender = sender
        self._buffer = bytearray()
        self._offset = 0
        self._ready: Deque[T] = deque()
        self._error: Optional[ProtocolError] = None
        self._received = 0  # bytes of the current item consumed so far
        self._filled = 0  # bytes of the current ReadInto target written so far
        self._parser: Parser[T] = start(Context(limits, sender))
        self._request: Any = None
        self._resume(None)

    # -- input ---------------------------------------------------------------------
    def feed(self, data: Buffer) -> None:
        """Add received bytes (any amount, even none or one)."""
        self._raise_if_failed()
        view = memoryview(data).cast("B")
        offset = 0
        while True:
            self._run()
            if self._error is not None or offset == len(view):
                return
            if isinstance(self._request, ReadInto):  # and nothing is buffered: copy straight in
                target = self._request.view
                count = min(len(target) - self._filled, len(view) - offset)
                target[self._filled : self._filled + count] = view[offset : offset + count]
                offset += count
                self._advance_into(count)
            else:  # header bytes: buffer just what the pending request lacks
                count = min(self._request.size - self._available(), len(view) - offset)
                self._buffer += view[offset : offset + count]
                offset += count

    def receive_buffer(self) -> Optional[memoryview]:
        """The unfilled bytes of the array being received, when the caller may fill them directly."""
        if self._error is None and isinstance(self._request, ReadInto) and not self._available():
            return self._request.view[self._filled :]
        return None

    def received_into(self, count: int) -> None:
        """Tell the decoder that ``count`` bytes were written at the start of :meth:`receive_buffer`."""
        view = self.receive_buffer()
        if view is None or not 0 <= count <= len(view):
            raise ValueError(f"received_into({count}) without a receive buffer that large")
        self._advance_into(count)
        self._run()

    # -- output --------------------------------------------------------------------
    def next_message(self) -> Optional[T]:
        """The next complete item, or None if more bytes are needed.

        Raises:
            RemoteProtocolError: the input broke the protocol (after the items before it).
        """
        if self._ready:
            return self._ready.popleft()
        self._raise_if_failed()
        return None

    @property
    def in_message(self) -> bool:
        """True when part of an item has been received but not all of it."""
        return self._received + self._available() > 0

    @property
    def failed(self) -> bool:
        """True once the input broke the protocol."""
        return self._error is not None

    def close(self) -> None:
        """Declare the end of the stream.

        Raises:
            RemoteProtocolError: the stream ended in the middle of an item.
        """
        self._raise_if_failed()
        if self.in_message:
            raise RemoteProtocolError(
                f"connection closed in the middle of a message, after {self._received + self._available()} of its bytes"
            )

    # -- driving the parser ----------------------------------------------------------
    def _available(self) -> int:
        return len(self._buffer) - self._offset

    def _take(self, size: int) -> bytes:
        data = bytes(self._buffer[self._offset : self._offset + size])
        self._consume(size)
        self._received += size
        return data

    def _consume(self, size: int) -> None:
        self._offset += size
        if self._offset >= _COMPACT_AT and self._offset * 2 >= len(self._buffer):
            del self._buffer[: self._offset]
            self._offset = 0

    def _run(self) -> None:
        """Answer the parser's requests from buffered bytes for as long as possible."""
        while self._error is None:
            request, available = self._request, self._available()
            if isinstance(request, ReadInto):
                if not available:
                    return
                count = min(len(request.view) - self._filled, available)
                request.view[self._filled : self._filled + count] = self._buffer[self._offset : self._offset + count]
                self._consume(count)
                self._advance_into(count)
            elif available < request.size:
                return
            elif isinstance(request, Peek):
                self._resume(bytes(self._buffer[self._offset : self._offset + request.size]))
            else:
                self._resume(self._take(request.size))

    def _advance_into(self, count: int) -> None:
        self._received += count
        self._filled += count
        request = self._request
        if isinstance(request, ReadInto) and self._filled == len(request.view):
            self._filled = 0
            self._resume(None)

    def _resume(self, value: Optional[bytes]) -> None:
        try:
            self._request = self._parser.send(value)
        except StopIteration as done:
            self._ready.append(done.value)
            self._received = 0
            self._parser = self._start(Context(self._limits, self._sender))
            self._resume(None)
        except ProtocolError as error:
            self._error = error if isinstance(error, RemoteProtocolError) else RemoteProtocolError(str(error))

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error


class MessageDecoder(IncrementalDecoder[Message]):
    """Decodes a stream of protocol messages.

    Args:
        sender: who sends the stream; commands the other side sends are refused.
            None accepts the whole vocabulary.
        limits: size limits checked before anything is allocated.
    """

    def __init__(self, sender: Optional[Sender] = None, limits: Limits = DEFAULT_LIMITS) -> None:
        super().__init__(read_message, limits, sender)


class ValueDecoder(IncrementalDecoder[Any]):
    """Decodes a stream of untagged values of one kind, as PyMoDAQ 4.4's DeSerializer does.

    Args:
        kind: a list tag naming the kind: 'string', 'scalar', 'array', 'list', 'axis',
            'dwa', 'dte', 'bytes', 'bool', 'parameter'.
    """

    def __init__(self, kind: str, limits: Limits = DEFAULT_LIMITS) -> None:
        if kind not in TAGGED_PARSERS:
            raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(TAGGED_PARSERS)}")
        parse = TAGGED_PARSERS[kind]
        super().__init__(lambda ctx: parse(ctx, kind), limits, None)


def decode_value(data: Buffer, kind: str, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Decode exactly one value of ``kind`` from ``data``.

    Raises:
        RemoteProtocolError: the bytes are not one valid value, or bytes are left over.
    """
    decoder = ValueDecoder(kind, limits)
    decoder.feed(data)
    value = decoder.next_message()
    if value is None:
        decoder.close()
        raise RemoteProtocolError(f"no complete {kind} in {len(data)} bytes")
    if decoder.in_message or decoder.next_message() is not None:
        raise RemoteProtocolError(f"bytes left over after one {kind}")
    return value


def decode_messages(data: Buffer, sender: Optional[Sender] = None, limits: Limits = DEFAULT_LIMITS) -> list[Message]:
    """Decode all messages of a complete byte string.

    Raises:
        RemoteProtocolError: the bytes break the protocol or end mid-message.
    """
    decoder = MessageDecoder(sender, limits)
    decoder.feed(data)
    messages = []
    while (message := decoder.next_message()) is not None:
        messages.append(message)
    decoder.close()
    return messages
