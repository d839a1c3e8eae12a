"""Frame messages read by the last frame message's layouts (``_lane.py``) give what the general parser gives.

Each case starts with a frame message, so that the decoder knows its layouts when the next
message comes; the cases are decoded fast and general, whole, byte by byte, in random
pieces and through ``recv_into`` (``assert_agree``), and must give the same messages,
errors and end state.
"""

from __future__ import annotations

from typing import Any, List

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from pymodaq_plugins_scopeone.protocol import (
    DataReady,
    DataToExport,
    DataWithAxes,
    Info,
    MessageDecoder,
    _parse,
    _parse_messages,
    values_equal,
)

from .test_fast_path import (
    SETTINGS,
    TIGHT_LIMITS,
    assert_agree,
    camera_frame,
    decode,
    fast_path,
    frames,
    mutated,
    wire,
)


def count_attempts(monkeypatch: Any) -> List[str]:
    """Note each frame head and each DWA tail that the fast path tries (a known frame tries neither)."""
    seen: List[str] = []
    head, tail = _parse_messages.dte_head, _parse.dwa_tail
    monkeypatch.setattr(_parse_messages, "dte_head", lambda r: seen.append("head tried") or head(r))
    monkeypatch.setattr(_parse, "dwa_tail", lambda r, field: seen.append("tail tried") or tail(r, field))
    return seen


def test_frames_like_the_last_one_are_read_whole_by_its_layouts(monkeypatch):
    stream = [camera_frame(index) for index in range(5)] + [camera_frame(index, "Other") for index in (5, 6, 7)]
    expected, error, _ = assert_agree(wire(*stream))
    assert error is None and len(expected) == len(stream)

    seen = count_attempts(monkeypatch)
    with fast_path(True):
        items, error, _ = decode(wire(*stream), lambda: 1 << 30)
    assert error is None and all(values_equal(a, b) for a, b in zip(items, expected))
    assert [item.data.data[0].extra_attributes["frame_index"] for item in items] == list(range(8))
    # The first frame and the other camera's first (its name differs, so its head) go the fast
    # path's way; every other frame is recognised whole.
    assert seen == ["head tried", "tail tried"] * 2


def frame_with(extras: dict) -> DataReady:
    dwa = DataWithAxes("Camera", (np.arange(12, dtype=np.uint16).reshape(3, 4),), extra_attributes=extras)
    return DataReady(DataToExport("Camera", (dwa,)))


def test_a_frame_whose_tail_changes_is_read_right_and_its_new_tail_is_kept(monkeypatch):
    stream = [frame_with({"a": 1}), frame_with({"a": 2, "b": "new"}), frame_with({"a": 3, "b": "new"})]
    expected, error, _ = assert_agree(wire(*stream))
    assert error is None and [m.data.data[0].extra_attributes["a"] for m in expected] == [1, 2, 3]

    seen = count_attempts(monkeypatch)
    with fast_path(True):
        items, _, _ = decode(wire(*stream), lambda: 1 << 30)
    assert all(values_equal(a, b) for a, b in zip(items, expected))
    # The second frame's head is known but not its tail, which the fast path reads; the third is known whole.
    assert seen == ["head tried", "tail tried", "tail tried"]


@SETTINGS
@given(message=frames(), data=st.data())
def test_a_mutated_frame_after_a_known_one_fails_or_passes_the_same_fast_and_general(message, data):
    original = wire(message)
    assert_agree(original + mutated(original, data) + original, data.draw(st.integers(0, 2**16), label="seed"))


@SETTINGS
@given(message=frames(), data=st.data())
def test_a_frame_cut_after_a_known_one_ends_the_same_fast_and_general(message, data):
    original = wire(message)
    cut = data.draw(st.integers(0, len(original) - 1), label="cut")
    items, error, still_open = assert_agree(original + original[:cut], data.draw(st.integers(0, 2**16), label="seed"))
    assert error is None and len(items) == 1 and still_open == (cut > 0)


@SETTINGS
@given(message=frames(), limits=TIGHT_LIMITS, seed=st.integers(0, 2**16))
def test_limits_are_enforced_the_same_after_a_known_frame(message, limits, seed):
    assert_agree(wire(message, message), seed, limits)


def test_a_short_message_after_a_known_frame_is_given_at_once():
    """Bytes that start like the known frame's ("Done") but end sooner are not held back."""
    frame, info, legacy_done = camera_frame(1), Info("status", "ok"), DataReady(())
    for short in (info, legacy_done):
        decoder = MessageDecoder()
        decoder.feed(wire(frame, frame))
        frames_read = [decoder.next_message() for _ in range(2)]
        assert all(isinstance(item, DataReady) for item in frames_read) and decoder.next_message() is None
        decoder.feed(wire(short))
        assert decoder.next_message() == short and not decoder.in_message
