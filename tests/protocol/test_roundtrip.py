"""Round trips: whatever we encode decodes back exactly, however the bytes are split."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pymodaq_plugins_scopeone.protocol import (
    DataReady,
    MessageDecoder,
    decode_value,
    encode_message,
    encode_value,
    join_chunks,
    tag_of,
    values_equal,
)

from .helpers import feed_in_pieces, recv_into_way
from .strategies import dtes, messages, values

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(value=values())
def test_any_value_round_trips(value):
    data = join_chunks(encode_value(value))
    decoded = decode_value(data, tag_of(value, "value"))
    assert values_equal(decoded, value) or _same_after_wire_normalisation(decoded, value)
    assert join_chunks(encode_value(decoded)) == data


def _same_after_wire_normalisation(decoded: object, value: object) -> bool:
    """Python ints/floats/bools decode as numpy scalars of the same dtype; lists as tuples."""
    return join_chunks(encode_value(decoded)) == join_chunks(encode_value(value))


@SETTINGS
@given(dte=dtes(depth=2))
def test_data_to_export_round_trips_exactly(dte):
    data = join_chunks(encode_value(dte))
    decoded = decode_value(data, "dte")
    assert join_chunks(encode_value(decoded)) == data
    for got, sent in zip(decoded.data, dte.data):
        for name in ("name", "class_name", "units", "dim", "labels", "axes", "errors", "nav_indexes", "timestamp"):
            assert values_equal(getattr(got, name), getattr(sent, name)), name
        assert all(values_equal(a, b) for a, b in zip(got.data, sent.data))


def test_python_scalars_come_back_as_numpy_scalars_of_their_wire_dtype():
    import numpy as np

    assert values_equal(decode_value(join_chunks(encode_value(3)), "scalar"), np.int64(3))
    assert values_equal(decode_value(join_chunks(encode_value(2.5)), "scalar"), np.float64(2.5))
    assert decode_value(join_chunks(encode_value([True])), "list") == (True,)  # 'bool' tag: a Python bool


@SETTINGS
@given(stream=st.lists(messages, min_size=1, max_size=4), seed=st.integers(0, 2**16))
def test_message_streams_round_trip_in_random_pieces(stream, seed):
    data = b"".join(join_chunks(encode_message(message)) for message in stream)
    rng = random.Random(seed)
    decoder = MessageDecoder()
    decoded = feed_in_pieces(decoder, data, lambda: rng.choice([1, 2, 3, 7, 64, 1000]))
    decoder.close()
    _assert_same_messages(decoded, stream)
    _assert_same_messages(recv_into_way(data, chunk=rng.randint(1, 50)), stream)


def _assert_same_messages(decoded, sent):
    """Same message types, and each re-encodes to the very bytes that were sent.

    Byte identity is the wire-level equality: Python ints and floats come back as numpy
    scalars of their wire dtype and lists as tuples, which encode identically.
    """
    assert [type(message) for message in decoded] == [type(message) for message in sent]
    for got, message in zip(decoded, sent):
        assert join_chunks(encode_message(got)) == join_chunks(encode_message(message))
        if not isinstance(message, DataReady):
            assert got == message
