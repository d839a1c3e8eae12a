"""Exact bytes from the protocol reference (PyMoDAQ 4.4.x runs), decoded every way.

The PyMoDAQ 4.4.11 golden vectors (tests/golden) cover the whole vocabulary; these
hand-checked ones document the layout and keep failures readable.
"""

from __future__ import annotations

import numpy as np
import pytest

from pymodaq_plugins_scopeone.protocol import (
    ClientType,
    DataActuator,
    DataReady,
    DataToExport,
    DataWithAxes,
    Hello,
    SendData,
    decode_value,
    encode_message,
    encode_value,
    join_chunks,
    values_equal,
)

from .helpers import decode_every_way, recv_into_way

ARANGE_U2 = np.arange(6, dtype=np.uint16).reshape(2, 3)
TS = 1.7e9
TS_BYTES = "00000003 3c6638 00000008 00000040fc54d941"


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def ascii_str(text: str) -> str:
    return f"{len(text):08x} {text.encode().hex()}"


VALUES = [
    ("Done", "string", "00000004 446f6e65"),
    ("GRABBER", "string", "00000007 47524142424552"),
    (1.5, "scalar", "00000003 3c6638 00000008 000000000000f83f"),
    (125.1, "scalar", "00000003 3c6638 00000008 666666666646 5f40"),
    (3, "scalar", "00000003 3c6938 00000008 0300000000000000"),
    (True, "scalar", "00000003 7c6231 00000001 01"),
    (np.float32(1.5), "scalar", "00000003 3c6634 00000004 0000c03f"),
    (np.array([1.5], ">f8"), "array", "00000003 3e6638 00000008 00000001 00000001 3ff8000000000000"),
    (ARANGE_U2, "array", "00000003 3c7532 0000000c 00000002 00000002 00000003 000001000200030004000500"),
    (
        ("Hello", "World"),
        "list",
        "00000002 00000006 737472696e67 00000005 48656c6c6f 00000006 737472696e67 00000005 576f726c64",
    ),
]


@pytest.mark.parametrize(("value", "kind", "hex_bytes"), VALUES, ids=[repr(v[0])[:20] for v in VALUES])
def test_primitive_encodes_to_reference_bytes_and_decodes_back_every_way(value, kind, hex_bytes):
    data = h(hex_bytes)
    assert join_chunks(encode_value(value)) == data
    for decoded in [*decode_every_way(data, kind), recv_into_way(data, kind)]:
        assert len(decoded) == 1
        assert values_equal(decoded[0], value) or decoded[0] == value


def test_scalars_keep_their_dtype_so_they_encode_back_identically():
    for _, kind, hex_bytes in VALUES:
        if kind == "scalar":
            assert join_chunks(encode_value(decode_value(h(hex_bytes), "scalar"))) == h(hex_bytes)


DATA_ACTUATOR = " ".join(
    [
        ascii_str("DataActuator"),
        TS_BYTES,
        ascii_str("actuator"),
        ascii_str("mm"),
        ascii_str("raw"),
        ascii_str("Data0D"),
        ascii_str("uniform"),
        "00000001",
        ascii_str("array"),
        "00000003 3c6638 00000008 00000001 00000001 000000000000f83f",
        "00000001",
        ascii_str("string"),
        ascii_str("CH00"),
        "00000000",
        "00000000 00000000 00000000 00000000",
    ]
)


def test_data_actuator_matches_the_annotated_163_byte_reference():
    position = DataActuator.of(1.5, "mm", timestamp=TS)
    data = h(DATA_ACTUATOR)
    assert len(data) == 163
    assert join_chunks(encode_value(position)) == data
    for decoded in decode_every_way(data, "dwa"):
        assert decoded == [position]
        assert isinstance(decoded[0], DataActuator) and decoded[0].value == 1.5


DTE_232 = " ".join(
    [
        ascii_str("DataToExport"),
        TS_BYTES,
        ascii_str("mocktcp"),
        "00000001",
        ascii_str("dwa"),
        ascii_str("DataFromPlugins"),
        TS_BYTES,
        ascii_str("mock"),
        "00000000",
        ascii_str("raw"),
        ascii_str("Data2D"),
        ascii_str("uniform"),
        "00000001",
        ascii_str("array"),
        "00000003 3c7532 0000000c 00000002 00000002 00000003 000001000200030004000500",
        "00000001",
        ascii_str("string"),
        ascii_str("CH00"),
        ascii_str("mocktcp"),
        "00000000 00000000 00000000 00000000",
    ]
)


def mock_dte() -> DataToExport:
    dfp = DataWithAxes("mock", (ARANGE_U2,), class_name="DataFromPlugins", origin="mocktcp", timestamp=TS)
    return DataToExport("mocktcp", (dfp,), timestamp=TS)


def test_data_to_export_matches_the_annotated_232_byte_reference():
    data = h(DTE_232)
    assert len(data) == 232
    assert join_chunks(encode_value(mock_dte())) == data
    for decoded in [*decode_every_way(data, "dte"), recv_into_way(data, "dte")]:
        assert decoded == [mock_dte()]


def test_grab_exchange_bytes_and_trailing_messages():
    grab = h("0000000c 53656e6420446174612032 44")
    assert join_chunks(encode_message(SendData("2D"))) == grab
    reply = h(ascii_str("Done") + DTE_232)
    assert join_chunks(encode_message(DataReady(mock_dte()))) == reply
    hello = join_chunks(encode_message(Hello(ClientType.GRABBER)))
    stream = hello + reply + grab + reply  # trailing messages after each one
    expected = [Hello(ClientType.GRABBER), DataReady(mock_dte()), SendData("2D"), DataReady(mock_dte())]
    for decoded in [*decode_every_way(stream), recv_into_way(stream)]:
        assert decoded == expected
