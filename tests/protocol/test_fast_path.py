"""The fast path (``_fast.py``, ``_cursor.py``) gives exactly what the general parser gives.

Every case is decoded twice, fast path on and off, in the same pieces, and must yield the
same messages (same types, values and bytes when encoded again), the same error text, and
the same state when the stream ends. Frame-like messages are the fast path's own ground;
mutated and truncated ones, and tight limits, are where it must step aside.
"""

from __future__ import annotations

import random
from contextlib import contextmanager
from typing import Any, Callable, Iterator, List, Optional, Tuple

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pymodaq_plugins_scopeone.protocol import (
    DEFAULT_LIMITS,
    ArrayPool,
    Axis,
    DataActuator,
    DataReady,
    DataToExport,
    DataWithAxes,
    Limits,
    MessageDecoder,
    MoveDone,
    RemoteProtocolError,
    _fast,
    encode_message,
    join_chunks,
    values_equal,
)
from pymodaq_plugins_scopeone.protocol._cursor import Cursor

from .strategies import axes, dtes, dtypes, texts

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
Outcome = Tuple[List[Any], Optional[str], bool]


@contextmanager
def fast_path(enabled: bool) -> Iterator[None]:
    saved = _fast.ENABLED
    _fast.ENABLED = enabled
    try:
        yield
    finally:
        _fast.ENABLED = saved


def decode(data: bytes, sizes: Callable[[], int], limits: Limits = DEFAULT_LIMITS, recv_into: bool = False) -> Outcome:
    """Messages, error text (None if none) and whether a message was left unfinished at the end."""
    decoder = MessageDecoder(limits=limits, allocate=ArrayPool())
    items: List[Any] = []
    offset = 0
    try:
        while offset < len(data):
            view = decoder.receive_buffer() if recv_into else None
            count = min(max(1, sizes()), len(data) - offset) if view is None else min(len(view), len(data) - offset)
            if view is None:
                decoder.feed(data[offset : offset + count])
            else:
                view[:count] = data[offset : offset + count]
                decoder.received_into(count)
            offset += count
            while (item := decoder.next_message()) is not None:
                items.append(item)
    except RemoteProtocolError as error:
        return items, str(error), decoder.in_message
    return items, None, decoder.in_message


def feedings(seed: int) -> List[Tuple[str, Callable[[], int], bool]]:
    rng = random.Random(seed)
    return [
        ("whole", lambda: 1 << 30, False),
        ("byte by byte", lambda: 1, False),
        ("random pieces", lambda: rng.choice([1, 2, 3, 7, 64, 300, 5000]), False),
        ("recv_into", lambda: rng.randint(1, 50), True),
    ]


def assert_same(fast: Outcome, general: Outcome) -> None:
    (fast_items, fast_error, fast_open), (items, error, still_open) = fast, general
    assert fast_error == error
    assert fast_open == still_open
    assert [type(m) for m in fast_items] == [type(m) for m in items]
    for got, expected in zip(fast_items, items):
        assert values_equal(got, expected)
        assert join_chunks(encode_message(got)) == join_chunks(encode_message(expected))
        if isinstance(got, DataReady) and isinstance(got.data, DataToExport):
            for dwa, other in zip(got.data.data, expected.data.data):  # type: ignore[union-attr]
                assert type(dwa) is type(other) and type(dwa.extra_attributes) is type(other.extra_attributes)
                assert [type(v) for v in dwa.extra_attributes.values()] == [
                    type(v) for v in other.extra_attributes.values()
                ]


def assert_agree(data: bytes, seed: int = 0, limits: Limits = DEFAULT_LIMITS) -> Outcome:
    """Decode every way with the fast path on (twice: runs read, then built from their layouts) and off."""
    for _name, sizes, recv_into in feedings(seed):
        with fast_path(False):
            general = decode(data, sizes, limits, recv_into)
        for _ in range(2):
            with fast_path(True):
                assert_same(decode(data, sizes, limits, recv_into), general)
    return general


extra_values = st.recursive(
    st.one_of(
        st.integers(-(2**63), 2**63 - 1),
        st.floats(),
        st.booleans(),
        texts,
        dtypes.flatmap(lambda dtype: hnp.from_dtype(dtype).map(lambda v: np.array([v], dtype=dtype)[0])),
    ),
    lambda inner: st.lists(inner, max_size=3).map(tuple),
    max_leaves=6,
)


@st.composite
def frames(draw: st.DrawFn) -> DataReady:
    """A DataReady as a camera sends it: one DWA of one array, with axes and extra attributes."""
    frame = draw(dtypes.flatmap(lambda dtype: hnp.arrays(dtype, hnp.array_shapes(min_dims=1, max_dims=3))))
    dwa = DataWithAxes(
        name=draw(texts),
        data=(frame,),
        class_name=draw(st.sampled_from(["DataFromPlugins", "DataRaw", "DataWithAxes", "DataCalculated"])),
        units=draw(texts),
        source=draw(st.sampled_from(["raw", "calculated"])),
        dim=draw(st.sampled_from(["", "Data0D", "Data1D", "Data2D", "DataND"])),
        distribution=draw(st.sampled_from(["uniform", "spread"])),
        labels=tuple(draw(st.lists(texts, max_size=2))),
        origin=draw(texts),
        nav_indexes=tuple(draw(st.lists(st.integers(0, 3), max_size=2))),
        axes=tuple(draw(st.lists(axes, max_size=2))),
        extra_attributes=draw(st.dictionaries(st.text(min_size=1, max_size=8), extra_values, max_size=5)),
        timestamp=draw(st.floats(allow_nan=False)),
    )
    return DataReady(DataToExport(draw(texts), (dwa,), timestamp=draw(st.floats(allow_nan=False))))


def wire(*messages: Any) -> bytes:
    return b"".join(join_chunks(encode_message(message)) for message in messages)


@SETTINGS
@given(stream=st.lists(frames(), min_size=1, max_size=3), seed=st.integers(0, 2**16))
def test_frame_messages_decode_the_same_fast_and_general(stream, seed):
    items, error, _ = assert_agree(wire(*stream), seed)
    assert error is None and [join_chunks(encode_message(m)) for m in items] == [wire(m) for m in stream]


@SETTINGS
@given(dte=dtes(depth=2), seed=st.integers(0, 2**16))
def test_any_data_to_export_decodes_the_same_fast_and_general(dte, seed):
    assert_agree(wire(DataReady(dte), MoveDone(DataActuator.of(1.0, timestamp=1.0))), seed)


def mutated(original: bytes, data: st.DataObject) -> bytes:
    """``original`` with one byte, drawn with its new value from ``data``, changed."""
    position = data.draw(st.integers(0, len(original) - 1), label="position")
    value = data.draw(st.integers(0, 255), label="byte")
    return original[:position] + bytes([value]) + original[position + 1 :]


@SETTINGS
@given(message=frames(), data=st.data())
def test_mutated_frame_messages_fail_or_pass_the_same_fast_and_general(message, data):
    original = wire(message)
    assert_agree(mutated(original, data) + original, data.draw(st.integers(0, 2**16), label="seed"))


@SETTINGS
@given(message=frames(), data=st.data())
def test_cut_frame_messages_end_the_same_fast_and_general(message, data):
    original = wire(message)
    cut = data.draw(st.integers(0, len(original) - 1), label="cut")
    assert assert_agree(original[:cut], data.draw(st.integers(0, 2**16), label="seed"))[2] == (cut > 0)


TIGHT_LIMITS = st.builds(
    Limits,
    max_message_bytes=st.integers(50, 3000),
    max_array_bytes=st.integers(1, 2000),
    max_string_bytes=st.integers(1, 12),
    max_list_length=st.integers(1, 4),
    max_ndim=st.integers(1, 3),
    max_depth=st.integers(1, 4),
)


@SETTINGS
@given(message=frames(), limits=TIGHT_LIMITS, seed=st.integers(0, 2**16))
def test_limits_are_enforced_the_same_fast_and_general(message, limits, seed):
    assert_agree(wire(message), seed, limits)


def camera_frame(index: int, camera: str = "Camera") -> DataReady:
    """What the agent sends: pixel axes, and extra attributes that change from frame to frame."""
    image = np.full((48, 64), index, dtype=np.uint16)
    pixel_axes = tuple(
        Axis(label, "pixels", np.arange(size, dtype=np.float64) + n, n)
        for n, (label, size) in enumerate((("y", 48), ("x", 64)))
    )
    extras = {"frame_index": index, "timestamp_ns": 10**18 + index, "exposure_ms": 10.0 + index, "camera": camera}
    extras["roi"] = (0, 0, 64 + index % 2, 48)
    dwa = DataWithAxes(
        camera, (image,), class_name="DataFromPlugins", labels=(camera,), axes=pixel_axes, extra_attributes=extras
    )
    return DataReady(DataToExport(camera, (dwa,)))


def test_a_camera_stream_is_replayed_and_each_frame_keeps_its_own_values(monkeypatch):
    stream = [camera_frame(index) for index in range(6)] + [camera_frame(6, camera="Other")]
    items, error, _ = assert_agree(wire(*stream))
    assert error is None and len(items) == len(stream)
    for index, item in enumerate(items[:6]):
        dwa = item.data.data[0]
        assert dwa.extra_attributes["frame_index"] == index and dwa.data[0][0, 0] == index
        assert dwa.extra_attributes["roi"][2] == 64 + index % 2
        first_axis = items[0].data.data[0].axes[0].data
        assert dwa.axes[1].data[0] == 1.0 and (index == 0 or not np.shares_memory(dwa.axes[0].data, first_axis))
    assert items[-1].data.data[0].extra_attributes["camera"] == "Other"

    runs_read = []
    monkeypatch.setattr(_fast, "Cursor", lambda r: runs_read.append(r.offset) or Cursor(r))
    with fast_path(True):
        again, error, _ = decode(wire(*stream), lambda: 1 << 30)
    assert error is None and len(again) == len(items) and all(values_equal(a, b) for a, b in zip(again, items))
    # Head and tail of the first frame and of the other camera's (its name differs); the rest are built.
    assert len(runs_read) == 4


@pytest.mark.parametrize("limits", [Limits(), Limits(max_string_bytes=5), Limits(max_depth=2)])
def test_a_layout_noted_under_other_limits_is_not_replayed(limits):
    data = wire(camera_frame(1), camera_frame(2))
    with fast_path(True):
        decode(data, lambda: 1 << 30)  # notes the layouts under the default limits
    assert_agree(data, limits=limits)


def test_the_pixels_of_a_fast_path_frame_are_received_in_place():
    message = camera_frame(3)
    pixels = message.data.data[0].data[0].tobytes()  # type: ignore[union-attr]
    data = wire(message)
    start = data.index(pixels)
    decoder = MessageDecoder()
    decoder.feed(data[: start + 10])  # the head at once, as the fast path reads it, and a few pixels
    view = decoder.receive_buffer()
    assert view is not None and len(view) == len(pixels) - 10
    view[:] = data[start + 10 : start + len(pixels)]
    decoder.received_into(len(view))
    decoder.feed(data[start + len(pixels) :])
    received = decoder.next_message().data.data[0].data[0]
    assert np.shares_memory(np.asarray(view), received) and received.tobytes() == pixels
