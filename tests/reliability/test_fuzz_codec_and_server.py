"""Fuzzing: mutated valid message streams and random bytes against the decoder and the server.

Every input must end in messages or in a RemoteProtocolError that names what was wrong —
never another exception, a hang, or an allocation beyond the limits — and the server must
keep serving its other connections. Case counts are CI-sized; ``SCOPEONE_SOAK=1`` runs
ten times more (see README, "Reliability").
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import tracemalloc
from typing import List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pymodaq_plugins_scopeone.hardware.agent_server import AgentServer
from pymodaq_plugins_scopeone.protocol import (
    ClientType,
    Limits,
    MessageDecoder,
    RemoteProtocolError,
    SendData,
    encode_message,
    join_chunks,
)
from tests.hardware.test_agent_server import FakeAgent, Recorder
from tests.protocol.strategies import messages

SOAK = os.environ.get("SCOPEONE_SOAK") == "1"
DECODER_CASES = 100_000 if SOAK else 10_000
SERVER_CASES = 3_000 if SOAK else 300
SMALL = Limits(max_message_bytes=1 << 20, max_array_bytes=256 << 10, max_string_bytes=64 << 10, max_list_length=64)


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One of the usual damages: flipped bytes, a cut, an insertion, a duplicated slice."""
    if not data:
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 32)))
    buffer = bytearray(data)
    kind = rng.randrange(5)
    position = rng.randrange(len(buffer))
    if kind == 0:
        for _ in range(rng.randint(1, 4)):
            buffer[rng.randrange(len(buffer))] ^= 1 << rng.randrange(8)
    elif kind == 1:
        del buffer[position:]
    elif kind == 2:
        buffer[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    elif kind == 3:
        end = min(len(buffer), position + rng.randint(1, 64))
        buffer[position:position] = buffer[position:end]
    else:
        buffer[position : position + 4] = rng.choice([b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x00"])
    return bytes(buffer)


def decode_fully(data: bytes, rng: random.Random) -> List[object]:
    """Decode in random chunks; return the messages, or raise what the decoder raised."""
    decoder = MessageDecoder(limits=SMALL)
    decoded: List[object] = []
    offset = 0
    while offset < len(data):
        size = rng.choice([1, 3, 17, 256, 4096])
        decoder.feed(data[offset : offset + size])
        offset += size
        while (message := decoder.next_message()) is not None:
            decoded.append(message)
    decoder.close()
    return decoded


def assert_names_a_field(error: RemoteProtocolError) -> None:
    text = str(error)
    assert error.field or ":" in text or "closed in the middle" in text, f"vague error: {text!r}"


@settings(max_examples=DECODER_CASES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(stream=st.lists(messages, min_size=1, max_size=3), seed=st.integers(0, 2**32 - 1), raw=st.booleans())
@pytest.mark.timeout(900 if SOAK else 300)
def test_mutated_or_random_streams_end_in_messages_or_a_named_protocol_error(stream, seed, raw):
    rng = random.Random(seed)
    if raw:
        data = bytes(rng.randrange(256) for _ in range(rng.randint(1, 200)))
    else:
        data = mutate(b"".join(join_chunks(encode_message(message)) for message in stream), rng)
    try:
        decode_fully(data, rng)
    except RemoteProtocolError as error:
        assert_names_a_field(error)


def test_hostile_lengths_never_make_the_decoder_allocate_beyond_its_limits():
    rng = random.Random(7)
    valid = join_chunks(encode_message(SendData("2D")))
    tracemalloc.start()
    try:
        for _ in range(2000):
            data = mutate(valid + b"\x00\x00\x00\x04Done" + bytes(rng.randrange(256) for _ in range(64)), rng)
            tracemalloc.reset_peak()
            with contextlib.suppress(RemoteProtocolError):
                decode_fully(data, rng)
            assert tracemalloc.get_traced_memory()[1] < SMALL.max_message_bytes + (1 << 20)
    finally:
        tracemalloc.stop()


@pytest.mark.timeout(900 if SOAK else 300)
def test_the_server_keeps_serving_its_modules_through_a_stream_of_broken_peers():
    server = AgentServer(0, "127.0.0.1", limits=SMALL, handshake_timeout_s=0.5, infos_wait_s=0.2)
    try:
        module = Recorder()
        link = server.attach(ClientType.GRABBER, "Camera", module)
        canary = FakeAgent(server.port, ClientType.GRABBER, "Camera")
        module.next("connected")
        rng = random.Random(11)
        hello = join_chunks(encode_message(SendData("2D")))
        for case in range(SERVER_CASES):
            payload = mutate(b"\x00\x00\x00\x07GRABBER" + hello * rng.randint(0, 3), rng)
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as peer:
                peer.sendall(payload)
            if case % 50 == 0:  # the module's own agent is still served, in order
                link.send(SendData("2D"))
                assert canary.receive() == SendData("2D")
        link.send(SendData("1D"))
        assert canary.receive() == SendData("1D")
        canary.close()
    finally:
        server.close()
    assert server.connections() == []
