"""Feeding helpers shared by the codec tests: whole, byte by byte, in random chunks."""

from __future__ import annotations

import random
from typing import Any, Callable, List

from pymodaq_plugins_scopeone.protocol import IncrementalDecoder, MessageDecoder, ValueDecoder


def drain(decoder: IncrementalDecoder[Any]) -> List[Any]:
    items = []
    while (item := decoder.next_message()) is not None:
        items.append(item)
    return items


def feed_in_pieces(decoder: IncrementalDecoder[Any], data: bytes, sizes: Callable[[], int]) -> List[Any]:
    """Feed ``data`` in pieces whose sizes ``sizes()`` draws; collect everything decoded."""
    items: List[Any] = []
    offset = 0
    while offset < len(data):
        size = max(1, sizes())
        decoder.feed(data[offset : offset + size])
        offset += size
        items.extend(drain(decoder))
    return items


def decode_every_way(data: bytes, kind: str | None = None, seed: int = 0) -> List[List[Any]]:
    """Decode ``data`` whole, one byte at a time, and in random chunks; return each result."""

    def fresh() -> IncrementalDecoder[Any]:
        return MessageDecoder() if kind is None else ValueDecoder(kind)

    rng = random.Random(seed)
    results = []
    for sizes in (lambda: len(data), lambda: 1, lambda: rng.randint(1, 37)):
        decoder = fresh()
        results.append(feed_in_pieces(decoder, data, sizes))
        decoder.close()
    return results


def recv_into_way(data: bytes, kind: str | None = None, chunk: int = 7) -> List[Any]:
    """Decode as a socket loop would: ``recv_into`` the decoder's buffer when it offers one."""
    decoder: IncrementalDecoder[Any] = MessageDecoder() if kind is None else ValueDecoder(kind)
    items: List[Any] = []
    offset = 0
    while offset < len(data):
        view = decoder.receive_buffer()
        if view is not None:
            count = min(len(view), len(data) - offset, 1 << 20)
            view[:count] = data[offset : offset + count]
            decoder.received_into(count)
        else:
            count = min(chunk, len(data) - offset)
            decoder.feed(data[offset : offset + count])
        offset += count
        items.extend(drain(decoder))
    decoder.close()
    return items
