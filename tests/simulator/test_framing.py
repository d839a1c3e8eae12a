"""Sans-IO framing: exact bytes out, byte-at-a-time decoding in, ScopeOne's error rules."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pymodaq_plugins_scopeone.simulator._framing import (
    MAX_MESSAGE_BYTES,
    FramingError,
    MessageDecoder,
    decode_payload,
    encode_json,
    encode_message,
)


def test_encoding_is_compact_key_sorted_utf8_like_qjsondocument():
    body = encode_json({"version": "1.5.023", "type": "ping", "ok": True, "requestId": 1, "µ": "é"})
    assert body == '{"ok":true,"requestId":1,"type":"ping","version":"1.5.023","µ":"é"}'.encode()


def test_integral_doubles_are_written_without_fraction_and_non_finite_as_null():
    assert encode_json({"a": 10.0, "b": 0.25, "c": -3.0, "d": float("inf"), "e": [2.0, {"f": 1e300}]}) == (
        b'{"a":10,"b":0.25,"c":-3,"d":null,"e":[2,{"f":1e+300}]}'
    )


def test_booleans_stay_booleans():
    assert encode_json({"ok": False, "n": 0}) == b'{"n":0,"ok":false}'


def test_message_is_u32_little_endian_length_then_payload():
    assert encode_message({"type": "error", "ok": False}) == b'\x1b\x00\x00\x00{"ok":false,"type":"error"}'


def test_decoder_fed_one_byte_at_a_time_yields_each_message_once():
    data = encode_message({"type": "ping", "requestId": 1}) + encode_message({"type": "status"})
    decoder = MessageDecoder()
    got = []
    for i in range(len(data)):
        decoder.feed(data[i : i + 1])
        got.extend(decoder.drain())
        if i < 4 + len(encode_message({"type": "ping", "requestId": 1})) - 5:
            assert got == []
    assert got == [{"type": "ping", "requestId": 1}, {"type": "status"}]
    assert decoder.buffered == 0


def test_trailing_partial_message_stays_buffered():
    decoder = MessageDecoder()
    second = encode_message({"type": "version"})
    decoder.feed(encode_message({"type": "ping"}) + second[:6])
    assert decoder.drain() == [{"type": "ping"}]
    assert decoder.buffered == 6


@pytest.mark.parametrize("length", [0, MAX_MESSAGE_BYTES + 1, 0xFFFFFFFF])
def test_length_zero_or_over_the_limit_is_an_error_as_soon_as_the_prefix_arrives(length):
    decoder = MessageDecoder()
    decoder.feed(struct.pack("<I", length))
    with pytest.raises(FramingError, match=r"outside 1\.\.67108864"):
        decoder.next_message()
    assert decoder.buffered == 0


def test_length_exactly_the_limit_waits_for_the_payload():
    decoder = MessageDecoder()
    decoder.feed(struct.pack("<I", MAX_MESSAGE_BYTES) + b"{")
    assert decoder.next_message() is None


@pytest.mark.parametrize(
    "payload",
    [
        b"[1,2]",
        b'"text"',
        b"42",
        b"null",
        b"{not json",
        b"\xff\xfe{}",
        b'{"a":NaN}',
        b'{"a":Infinity}',
        b"[" * 100000 + b"]" * 100000,
    ],
)
def test_non_object_or_invalid_payload_is_a_framing_error(payload):
    decoder = MessageDecoder()
    decoder.feed(struct.pack("<I", len(payload)) + payload)
    with pytest.raises(FramingError):
        decoder.next_message()


def test_decode_payload_accepts_any_object():
    assert decode_payload(b' {"type":"ping","x":[1,{"y":null}]} ') == {"type": "ping", "x": [1, {"y": None}]}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@given(
    messages=st.lists(st.dictionaries(st.text(max_size=10), json_values, max_size=5), min_size=1, max_size=5),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=8),
)
@settings(max_examples=150, deadline=None)
def test_any_split_of_a_stream_decodes_to_the_same_objects(messages, cuts):
    stream = b"".join(encode_message(m) for m in messages)
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    decoder = MessageDecoder()
    got = []
    for start, stop in zip(points, points[1:]):
        decoder.feed(stream[start:stop])
        got.extend(decoder.drain())
    assert got == messages
