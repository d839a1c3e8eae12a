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
from ._parse import TAGGED_PARSERS
from ._parse_messages import read_message
from ._reader import Allocate, Need, Parser, Reader, ReadInto, Request

T = TypeVar("T")
Buffer = Union[bytes, bytearray, memoryview]
READ_AHEAD = 1 << 12
"""Bytes fed beyond what a parser asked for that are buffered for it: enough for a run of headers.

Pixels beyond them are copied straight from the fed bytes into their array, not through
the buffer: one copy less, and a buffer that stays small. A buffer grown to a whole 64 KiB
read, then emptied, makes malloc return its pages to the system, and the next read fault
them in again: ~30 µs a read, a tenth of the copy of a frame's pixels.
"""


class IncrementalDecoder(Generic[T]):
    """Runs one parser per item over a byte stream; see the module docstring."""

    def __init__(
        self,
        start: Callable[[Reader], Parser[T]],
        limits: Limits,
        sender: Optional[Sender],
        allocate: Optional[Allocate] = None,
    ) -> None:
        self._start = start
        self._reader = Reader(limits, sender, allocate)
        self._ready: Deque[T] = deque()
        self._error: Optional[ProtocolError] = None
        self._filled = 0  # bytes of the current ReadInto target written so far
        self._parser: Parser[T] = start(self._reader)
        self._request: Request = Need(0)
        self._resume()

    # -- input ---------------------------------------------------------------------
    def feed(self, data: Buffer) -> None:
        """Add received bytes (any amount, even none or one)."""
        self._raise_if_failed()
        view = memoryview(data).cast("B")
        offset = 0
        while self._error is None and offset < len(view):
            target = self.receive_buffer()
            if target is not None:  # pixels, with nothing buffered before them: copy straight in
                count = min(len(target), len(view) - offset)
                target[:count] = view[offset : offset + count]
                offset += count
                self._advance_into(count)
            else:  # headers: buffer what the parser asked for, and a little more to spare it a wait
                request = self._request
                wanted = max(request.size, request.expect) - self._reader.available if isinstance(request, Need) else 0
                end = min(offset + wanted + READ_AHEAD, len(view))
                self._reader.buffer += view[offset:end]
                offset = end
            self._run()

    def receive_buffer(self) -> Optional[memoryview]:
        """The unfilled bytes of the array being received, when the caller may fill them directly."""
        request = self._request
        if self._error is None and isinstance(request, ReadInto) and not self._reader.available:
            return request.view[self._filled :]
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
        return self._reader.consumed + self._reader.available > 0

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
            received = self._reader.consumed + self._reader.available
            raise RemoteProtocolError(f"connection closed in the middle of a message, after {received} of its bytes")

    # -- driving the parser ----------------------------------------------------------
    def _run(self) -> None:
        """Resume the parser for as long as the buffered input lets it go on."""
        reader = self._reader
        while self._error is None:
            request = self._request
            if isinstance(request, ReadInto):
                if len(reader.buffer) == reader.offset:
                    break
                self._advance_into(reader.take_into(request.view[self._filled :]), direct=False)
            elif len(reader.buffer) - reader.offset >= request.size:
                self._resume()
                self._check_progress()
            else:
                break
        reader.compact()

    def _check_progress(self) -> None:
        """A parser always takes what it can: waiting for bytes already buffered would spin forever."""
        waiting, available = self._request, self._reader.available
        if self._error is None and isinstance(waiting, Need) and waiting.size <= available:
            raise RuntimeError(f"decoder bug: waiting for {waiting.size} bytes with {available} buffered")

    def _advance_into(self, count: int, direct: bool = True) -> None:
        """``count`` more bytes of the current array were written, directly or from the buffer."""
        self._filled += count
        if direct:
            self._reader.consumed += count
        request = self._request
        if isinstance(request, ReadInto) and self._filled == len(request.view):
            self._filled = 0
            self._resume()

    def _resume(self) -> None:
        while True:
            try:
                self._request = self._parser.send(None)
                return
            except StopIteration as done:
                item = done.value
            except ProtocolError as error:
                self._error = error if isinstance(error, RemoteProtocolError) else RemoteProtocolError(str(error))
                return
            # Outside the except block, so no later exception chains to (and pins) this item.
            self._ready.append(item)
            self._reader.start_message()
            self._parser = self._start(self._reader)

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error


class MessageDecoder(IncrementalDecoder[Message]):
    """Decodes a stream of protocol messages.

    Args:
        sender: who sends the stream; commands the other side sends are refused.
            None accepts the whole vocabulary.
        limits: size limits checked before anything is allocated.
        allocate: where received arrays come from (``np.empty`` by default); an
            :class:`ArrayPool` recycles frames that nobody holds any more.
    """

    def __init__(
        self, sender: Optional[Sender] = None, limits: Limits = DEFAULT_LIMITS, allocate: Optional[Allocate] = None
    ) -> None:
        super().__init__(read_message, limits, sender, allocate)


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
        super().__init__(lambda reader: parse(reader, kind), limits, None)


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
