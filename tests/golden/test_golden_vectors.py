"""Our codec against PyMoDAQ 4.4.11: its golden bytes, and its own code live in the side env.

Golden: every vector written by the real 4.4.11 Serializer must come out of our encoder
byte for byte, and our decoder must read it back (whole, byte at a time, in chunks,
through recv_into, with trailing bytes).

Live: PyMoDAQ 4.4.11's DeSerializer decodes what our encoder wrote, and our decoder
decodes what its Serializer writes, in a subprocess of the side environment.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

from pymodaq_plugins_scopeone.protocol import (
    MessageDecoder,
    ValueDecoder,
    encode_message,
    encode_value,
    join_chunks,
    values_equal,
)
from tests.golden.ours import DECODER_KIND, as_decoded, message_from_spec, value_from_spec
from tests.protocol.helpers import decode_every_way, drain, recv_into_way
from tests.side_env import run_in_side_env

GOLDEN_DIR = Path(__file__).resolve().parent
CASES: Dict[str, Dict[str, Any]] = json.loads((GOLDEN_DIR / "pymodaq44_vectors.json").read_text("utf-8"))["cases"]
BUILD_TIMEOUT = pytest.mark.timeout(1200)  # the first side-env test may build the environment


def our_bytes(case: Dict[str, Any]) -> bytes:
    if case["kind"] == "message":
        return join_chunks(encode_message(message_from_spec(case["spec"])))
    return join_chunks(encode_value(value_from_spec(case["spec"])))


def our_decoding_every_way(case: Dict[str, Any], data: bytes) -> List[List[Any]]:
    kind = None if case["kind"] == "message" else DECODER_KIND.get(case["kind"], case["kind"])
    return [*decode_every_way(data, kind), recv_into_way(data, kind)]


def reencoded(case: Dict[str, Any], decoded: Any) -> bytes:
    return join_chunks(encode_message(decoded) if case["kind"] == "message" else encode_value(decoded))


def same_as_spec(case: Dict[str, Any], decoded: Any) -> bool:
    """Exactly the spec's object, with Python numbers as the numpy scalars they decode to."""
    if case["kind"] == "message":
        return values_equal(decoded, as_decoded(message_from_spec(case["spec"])))
    return values_equal(decoded, as_decoded(value_from_spec(case["spec"])))


@pytest.mark.parametrize("name", sorted(CASES))
def test_our_encoder_writes_the_bytes_of_pymodaq_4_4(name):
    case = CASES[name]
    assert our_bytes(case).hex() == case["hex"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_our_decoder_reads_the_bytes_of_pymodaq_4_4_every_way(name):
    case = CASES[name]
    data = bytes.fromhex(case["hex"])
    for decoded in our_decoding_every_way(case, data + data):  # the second copy trails the first
        assert len(decoded) == 2
        for item in decoded:
            assert reencoded(case, item) == data
            assert same_as_spec(case, item)


def test_golden_messages_stream_back_to_back():
    stream = b"".join(bytes.fromhex(case["hex"]) for case in CASES.values() if case["kind"] == "message")
    decoder = MessageDecoder()
    decoder.feed(stream)
    decoded = drain(decoder)
    decoder.close()
    assert len(decoded) == sum(case["kind"] == "message" for case in CASES.values())


@BUILD_TIMEOUT
def test_pymodaq_4_4_decodes_what_we_encode_and_we_decode_what_it_encodes(side_python: Path):
    names = sorted(CASES)
    request = {
        "decode": [{"kind": CASES[n]["kind"], "hex": our_bytes(CASES[n]).hex()} for n in names],
        "encode": [CASES[n]["spec"] for n in names],
    }
    result = run_in_side_env(
        GOLDEN_DIR / "pymodaq44_roundtrip.py", input_bytes=json.dumps(request).encode(), python=side_python
    )
    answer = json.loads(result.stdout)
    for name, theirs in zip(names, answer["decoded"]):
        case = CASES[name]
        assert theirs == case.get("decoded_spec", case["spec"]), f"PyMoDAQ 4.4 read our {name} differently"
    for name, their_hex in zip(names, answer["encoded"]):
        case = CASES[name]
        data = bytes.fromhex(their_hex)
        kind = None if case["kind"] == "message" else DECODER_KIND.get(case["kind"], case["kind"])
        decoder = MessageDecoder() if kind is None else ValueDecoder(kind)
        decoder.feed(data)
        decoded = drain(decoder)
        decoder.close()
        assert len(decoded) == 1 and reencoded(case, decoded[0]) == data, name
        assert same_as_spec(case, decoded[0]), name
