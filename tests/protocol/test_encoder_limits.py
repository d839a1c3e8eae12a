"""The encoder refuses what its limits refuse, whatever it remembers of earlier messages.

The encoder remembers the bytes of what a camera sends over and over (array heads, runs
of names and units, label and attribute-name lists). Each case below first encodes the
message under the default limits, so that those bytes are remembered, then under tight
limits, and must get the same error as a first encoding would: the field, the limit and
the value over it.
"""

from __future__ import annotations

from typing import Any, Dict

import numpy as np
import pytest

from pymodaq_plugins_scopeone.protocol import (
    Axis,
    DataReady,
    DataToExport,
    DataWithAxes,
    Limits,
    LocalProtocolError,
    decode_messages,
    encode_message,
    encode_value,
    join_chunks,
)

LONG = "x" * 30
DWA_FIELD = r"DataReady\.data\.data\[0\]"


def frame(**fields: Any) -> DataReady:
    options: Dict[str, Any] = {"class_name": "DataFromPlugins", "timestamp": 1.0, **fields}
    dwa = DataWithAxes("Camera", (np.zeros((4, 6), np.uint16),), **options)
    return DataReady(DataToExport("ScopeOne", (dwa,), timestamp=2.0))


@pytest.mark.parametrize(
    "message, limits, error",
    [
        (frame(labels=(LONG,)), Limits(max_string_bytes=20), rf"{DWA_FIELD}\.labels\[0\]: string of 30 bytes exceeds"),
        (
            frame(extra_attributes={LONG: 1}),
            Limits(max_string_bytes=20),
            rf"{DWA_FIELD}\.extra_attributes\[0\]: string",
        ),
        (frame(units=LONG), Limits(max_string_bytes=20), rf"{DWA_FIELD}\.units: string of 30 bytes exceeds max_str"),
        (
            frame(axes=(Axis(LONG, "pixels", np.arange(6.0), 1),)),
            Limits(max_string_bytes=20),
            rf"{DWA_FIELD}\.axes\[0\]\.label: string of 30 bytes exceeds max_string_bytes=20",
        ),
        (frame(labels=("a", "b", "c")), Limits(max_list_length=2), rf"{DWA_FIELD}\.labels: 3 elements exceed max_list"),
        (frame(), Limits(max_array_bytes=47), rf"{DWA_FIELD}\.data\[0\]: array of 48 bytes exceeds max_array_bytes=47"),
        (frame(), Limits(max_ndim=1), rf"{DWA_FIELD}\.data\[0\]: 2 dimensions exceed max_ndim=1"),
        (frame(), Limits(max_depth=1), rf"{DWA_FIELD}\.data: nesting deeper than max_depth=1"),
    ],
)
def test_remembered_encodings_still_obey_tighter_limits(message, limits, error):
    first = join_chunks(encode_message(message))
    assert join_chunks(encode_message(message)) == first  # the second time from what was remembered
    with pytest.raises(LocalProtocolError, match=error):
        encode_message(message, limits)


def test_a_remembered_array_head_still_obeys_the_string_limit_on_its_dtype():
    array = np.zeros(2, np.complex128)  # '<c16': the only 4-character dtype string
    encode_value(array)
    with pytest.raises(LocalProtocolError, match=r"dtype: string of 4 bytes exceeds max_string_bytes=3"):
        encode_value(array, Limits(max_string_bytes=3))


def test_remembered_tags_still_obey_the_string_limit():
    encode_value(("a", 1.5))
    with pytest.raises(LocalProtocolError, match=r"tuple\[0\]\.tag: string of 6 bytes exceeds max_string_bytes=5"):
        encode_value(("a", 1.5), Limits(max_string_bytes=5))


def test_what_is_remembered_of_one_message_is_not_reused_for_another():
    sent = [
        frame(labels=("a", "b"), units="V", extra_attributes={"gain": 1, "name": "one"}),
        frame(labels=("a", "c"), units="mV", extra_attributes={"gain": 2.5, "name": "two"}),
        frame(labels=("a", "c"), units="mV", extra_attributes={"gain": 2.5, "other": "two"}),
    ]
    received = decode_messages(b"".join(join_chunks(encode_message(message)) for message in sent))
    assert [(dwa.labels, dwa.units, dict(dwa.extra_attributes)) for dwa in (m.data.data[0] for m in received)] == [
        (("a", "b"), "V", {"gain": 1, "name": "one"}),
        (("a", "c"), "mV", {"gain": 2.5, "name": "two"}),
        (("a", "c"), "mV", {"gain": 2.5, "other": "two"}),
    ]


def test_long_texts_are_written_but_not_remembered():
    from pymodaq_plugins_scopeone.protocol import _encode

    long_units = "u" * 5000  # the remembered encodings stay small whatever a peer's messages hold
    message = frame(units=long_units, labels=(long_units,))
    received = decode_messages(join_chunks(encode_message(message)))[0].data.data[0]
    assert (received.units, received.labels) == (long_units, (long_units,))
    remembered = [*_encode._TEXT_RUNS, *_encode._TEXT_LISTS]
    assert not any(long_units in texts for texts in remembered)
