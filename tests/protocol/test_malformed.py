"""Bad input: every limit and type rule gives a RemoteProtocolError naming the field.

Each case is a byte string that breaks one rule; the decoder must reject it without
allocating beyond the limits and without waiting for bytes that will never come.
"""

from __future__ import annotations

import numpy as np
import pytest

from pymodaq_plugins_scopeone.protocol import (
    DataActuator,
    LimitExceededError,
    Limits,
    MessageDecoder,
    MoveDone,
    ProtocolError,
    RemoteProtocolError,
    Sender,
    ValueDecoder,
    decode_messages,
    decode_value,
    encode_message,
    encode_value,
    join_chunks,
)

from .helpers import drain


def u32(n: int) -> bytes:
    return n.to_bytes(4, "big")


def s(text: str) -> bytes:
    data = text.encode()
    return u32(len(data)) + data


def arr_header(dtype: str, nbytes: int, shape: tuple[int, ...]) -> bytes:
    return s(dtype) + u32(nbytes) + u32(len(shape)) + b"".join(u32(n) for n in shape)


SMALL = Limits(
    max_message_bytes=10_000, max_array_bytes=1000, max_string_bytes=100, max_list_length=5, max_ndim=3, max_depth=3
)

CASES = [
    # (id, kind, bytes, expected error text fragments)
    ("byte count vs shape", "array", arr_header("<u2", 1000, (10, 10)), ["1000", "(10, 10)", "'<u2'", "200 bytes"]),
    ("array over the limit", "array", arr_header("<u2", 2000, (1000,)), ["2000", "max_array_bytes=1000"]),
    ("4 GiB claimed", "array", arr_header("<u1", 2**32 - 1, (2**32 - 1,)), ["4294967295", "max_array_bytes"]),
    ("too many dimensions", "array", arr_header("<u1", 1, (1, 1, 1, 1)), ["4 dimensions", "max_ndim=3"]),
    ("object dtype", "array", arr_header("|O8", 8, (1,)), ["'|O8'", "not allowed"]),
    ("unicode dtype", "array", arr_header("<U4", 16, (1,)), ["'<U4'"]),
    ("float16 dtype", "scalar", s("<f2") + u32(2) + b"\0\0", ["'<f2'"]),
    ("no byte order on u2", "array", arr_header("|u2", 2, (1,)), ["'|u2'"]),
    ("scalar byte count", "scalar", s("<f8") + u32(4) + b"\0" * 4, ["byte count 4", "'<f8' (8 bytes)"]),
    ("string over the limit", "string", u32(101) + b"x" * 101, ["101", "max_string_bytes=100"]),
    ("invalid utf-8", "string", u32(2) + b"\xff\xfe", ["not valid UTF-8"]),
    ("list over the limit", "list", u32(6), ["6 elements", "max_list_length=5"]),
    ("unknown tag", "list", u32(1) + s("pickle") + b"\0" * 8, ["unknown type tag 'pickle'"]),
    ("nesting too deep", "list", (u32(1) + s("list")) * 3 + u32(0), ["max_depth=3"]),
    ("axis class name", "axis", s("Axes"), ["expected class 'Axis'", "'Axes'"]),
    ("dte class name", "dte", s("DataToExpert"), ["'DataToExpert'"]),
    ("dwa class name", "dwa", s("DataFromRoi"), ["'DataFromRoi'"]),
]


@pytest.mark.parametrize(("kind", "data", "fragments"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_value_is_rejected_naming_the_values(kind, data, fragments):
    decoder = ValueDecoder(kind, SMALL)
    decoder.feed(data)
    with pytest.raises(RemoteProtocolError) as caught:
        decoder.next_message()
    for fragment in fragments:
        assert fragment in str(caught.value)
    with pytest.raises(RemoteProtocolError):
        decoder.feed(b"more")  # a broken stream stays broken


def dwa_bytes(**overrides: object) -> bytes:
    fields = {"name": "n", "data": (np.zeros(3),), "timestamp": 1.0}
    fields.update(overrides)
    return join_chunks(encode_value(DataActuator(**fields)))  # type: ignore[arg-type]


def test_dwa_enum_names_are_checked():
    data = dwa_bytes().replace(s("uniform"), s("uniforn"))
    with pytest.raises(RemoteProtocolError, match=r"DataActuator.*distribution.*'uniforn'"):
        decode_value(data, "dwa")


def test_dwa_arrays_of_different_shapes_are_refused():
    good = dwa_bytes(data=(np.zeros(3), np.zeros(3)))
    bad = good.replace(arr_header("<f8", 24, (3,)) + b"\0" * 24, arr_header("<f8", 16, (2,)) + b"\0" * 16, 1)
    with pytest.raises(RemoteProtocolError, match=r"data\[1\].*\(3,\) differs|shape \(3,\) differs"):
        decode_value(bad, "dwa")


def test_dwa_list_elements_must_carry_the_expected_tag():
    data = dwa_bytes().replace(s("string") + s("CH00"), s("bytes") + s("CH00"))
    with pytest.raises(RemoteProtocolError, match=r"labels\[0\].*expected tag 'string', got 'bytes'"):
        decode_value(data, "dwa")


def test_unknown_command_is_rejected_with_the_vocabulary():
    with pytest.raises(RemoteProtocolError, match=r"unknown command 'move_at'.*move_abs"):
        decode_messages(s("move_at"))


def test_overlong_command_is_rejected_before_reading_it():
    decoder = MessageDecoder()
    decoder.feed(u32(10_000_000))
    with pytest.raises(LimitExceededError, match="command"):
        decoder.next_message()


def test_commands_from_the_wrong_side_are_refused():
    data = join_chunks(encode_message(MoveDone(1.0)))
    with pytest.raises(RemoteProtocolError, match="'move_done' is sent by a client, not by a server"):
        decode_messages(data, sender=Sender.SERVER)
    assert decode_messages(data, sender=Sender.CLIENT) == [MoveDone(1.0)]


def test_message_size_limit_counts_the_whole_message():
    limits = Limits(max_message_bytes=150, max_array_bytes=1000)
    data = join_chunks(encode_message(MoveDone(DataActuator.of(1.0, timestamp=1.0))))
    assert len(data) > 150
    assert decode_messages(data, limits=Limits(max_message_bytes=len(data))) == [
        MoveDone(DataActuator.of(1.0, timestamp=1.0))
    ]
    with pytest.raises(LimitExceededError, match="max_message_bytes=150"):
        decode_messages(data, limits=limits)


def test_position_must_be_a_data_actuator():
    payload = join_chunks(encode_value(DataActuator.of(1.0, timestamp=1.0)))
    data = s("move_done") + payload.replace(s("DataActuator"), s("DataWithAxes"), 1)
    with pytest.raises(RemoteProtocolError, match="expected class 'DataActuator', got 'DataWithAxes'"):
        decode_messages(data)


def test_messages_before_an_error_are_delivered_then_the_error():
    good = join_chunks(encode_message(MoveDone(2.0)))
    decoder = MessageDecoder()
    decoder.feed(good + good + s("garbage!"))
    assert drain_until_error(decoder) == [MoveDone(2.0), MoveDone(2.0)]


def drain_until_error(decoder: MessageDecoder) -> list[object]:
    items = []
    with pytest.raises(RemoteProtocolError, match="unknown command 'garbage!'"):
        while True:
            item = decoder.next_message()
            assert item is not None, "the error must come after the good messages"
            items.append(item)
    return items


@pytest.mark.parametrize("cut", [1, 3, 4, 10, 30, 150])
def test_stream_ending_mid_message_is_an_error_not_a_wait(cut):
    data = join_chunks(encode_message(MoveDone(DataActuator.of(1.0, timestamp=1.0))))
    decoder = MessageDecoder()
    decoder.feed(data[:cut])
    assert decoder.next_message() is None
    with pytest.raises(RemoteProtocolError, match=f"closed in the middle of a message, after {cut} of its bytes"):
        decoder.close()


def test_clean_end_between_messages_is_fine():
    decoder = MessageDecoder()
    decoder.feed(join_chunks(encode_message(MoveDone(2.0))))
    assert drain(decoder) == [MoveDone(2.0)]
    decoder.close()


def test_errors_have_a_common_root_and_say_whose_fault():
    assert issubclass(RemoteProtocolError, ProtocolError) and issubclass(LimitExceededError, RemoteProtocolError)
    with pytest.raises(TypeError, match="abstract"):
        ProtocolError("x")
