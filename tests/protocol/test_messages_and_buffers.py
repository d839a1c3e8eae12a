"""Message specifics: layout detection, vocabulary, and the copy-free frame path."""

from __future__ import annotations

import numpy as np
import pytest

from pymodaq_plugins_scopeone.protocol import (
    COMMAND_SENDERS,
    AuthChallenge,
    AuthResponse,
    ClientType,
    DataActuator,
    DataReady,
    DataToExport,
    DataWithAxes,
    GetActuatorValue,
    LocalProtocolError,
    MessageDecoder,
    MoveAbs,
    MoveDone,
    PositionIs,
    Sender,
    SetInfo,
    auth_digest,
    decode_messages,
    digest_matches,
    encode_message,
    join_chunks,
    new_nonce,
    values_equal,
)

FRAME = np.arange(64 * 48, dtype=np.uint16).reshape(48, 64)


def frame_message() -> DataReady:
    dfp = DataWithAxes("Camera", (FRAME,), class_name="DataFromPlugins", timestamp=1.0)
    return DataReady(DataToExport("ScopeOne", (dfp,), timestamp=1.0))


def test_encoding_does_not_copy_the_pixels():
    chunks = encode_message(frame_message())
    pixel_chunks = [chunk for chunk in chunks if isinstance(chunk, memoryview)]
    assert len(pixel_chunks) == 1
    assert np.shares_memory(np.asarray(pixel_chunks[0]), FRAME)
    assert pixel_chunks[0].nbytes == FRAME.nbytes
    assert sum(len(chunk) for chunk in chunks if isinstance(chunk, bytes)) < 400  # headers only


def test_pixels_are_received_straight_into_the_final_array():
    data = join_chunks(encode_message(frame_message()))
    decoder = MessageDecoder()
    offset = 0
    views = []
    while (view := decoder.receive_buffer()) is None:
        decoder.feed(data[offset : offset + 1])  # headers byte by byte: nothing extra buffered
        offset += 1
    views.append(view)
    assert len(view) == FRAME.nbytes
    view[:] = data[offset : offset + len(view)]
    decoder.received_into(len(view))
    offset += len(view)
    decoder.feed(data[offset:])
    message = decoder.next_message()
    received = message.data.data[0].data[0]
    assert values_equal(received, FRAME)
    assert np.shares_memory(np.asarray(views[0]), received)  # the socket wrote the final array


def test_received_into_refuses_a_count_beyond_the_buffer():
    decoder = MessageDecoder()
    with pytest.raises(ValueError, match="without a receive buffer"):
        decoder.received_into(10)


def test_legacy_and_current_positions_are_told_apart():
    legacy, current = MoveAbs(12.5), MoveAbs(DataActuator.of(12.5, "µm", "X", timestamp=2.0))
    stream = join_chunks(encode_message(legacy)) + join_chunks(encode_message(current))
    assert join_chunks(encode_message(legacy))[-19:] == bytes.fromhex("000000033c66380000000800000000000029 40")
    decoded = decode_messages(stream, sender=Sender.SERVER)
    assert decoded == [legacy, current]
    assert isinstance(decoded[1].position, DataActuator) and decoded[1].position.value == 12.5


@pytest.mark.parametrize("count", [0, 1, 11, 12, 13])
def test_legacy_done_lists_of_any_length_are_not_mistaken_for_a_data_to_export(count):
    arrays = tuple(np.full(3, n, dtype=np.uint8) for n in range(count))
    message = DataReady(arrays)
    stream = join_chunks(encode_message(message)) + join_chunks(encode_message(frame_message()))
    legacy, current = decode_messages(stream, sender=Sender.CLIENT)
    assert values_equal(legacy.data, arrays)
    assert current == frame_message()


def test_check_position_is_the_legacy_name_of_get_actuator_value():
    stream = b"".join(join_chunks(encode_message(GetActuatorValue(flag))) for flag in (False, True))
    assert stream == bytes.fromhex("00000012") + b"get_actuator_value" + bytes.fromhex("0000000e") + b"check_position"
    assert decode_messages(stream) == [GetActuatorValue(False), GetActuatorValue(True)]


def test_set_info_carries_a_path_and_one_parameter_xml():
    message = SetInfo(("detector_settings", "exposure_ms"), "<exposure_ms type='float'>12.5</exposure_ms>")
    assert decode_messages(join_chunks(encode_message(message)), sender=Sender.SERVER) == [message]


def test_the_vocabulary_is_complete_and_directed():
    client = {"GRABBER", "ACTUATOR", "Infos", "Info_xml", "Info", "Done", "position_is", "move_done", "Quit"}
    server = {"Send Data 0D", "Send Data 1D", "Send Data 2D", "Send Data ND", "move_abs", "move_rel"}
    server |= {"move_home", "get_actuator_value", "check_position", "stop_motion", "set_info", "auth_challenge"}
    client |= {"x_axis", "y_axis", "auth_response"}
    assert {name for name, side in COMMAND_SENDERS.items() if side is Sender.CLIENT} == client
    assert {name for name, side in COMMAND_SENDERS.items() if side is Sender.SERVER} == server


def test_invalid_values_are_refused_at_construction_naming_the_field():
    with pytest.raises(LocalProtocolError, match=r"MoveDone.position: expected a DataActuator or a float, got str"):
        MoveDone("12")
    with pytest.raises(LocalProtocolError, match=r"DataFromPlugins.data\[0\]: dtype '<U1' cannot travel"):
        DataWithAxes("x", (np.array(["a"]),), class_name="DataFromPlugins")
    with pytest.raises(LocalProtocolError, match=r"DataWithAxes.errors: expected 1 arrays of shape \(3,\)"):
        DataWithAxes("x", (np.zeros(3),), errors=(np.zeros(2),))
    with pytest.raises(LocalProtocolError, match=r"PositionIs.position"):
        PositionIs(True)


def test_labels_are_padded_as_pymodaq_does_and_dim_derived():
    dwa = DataWithAxes("x", (np.zeros((2, 3)), np.ones((2, 3))), labels=("first",))
    assert dwa.labels == ("first", "CH01")
    assert dwa.dim == "Data2D"
    assert DataActuator.of(3.0).dim == "Data0D"


def test_auth_answer_is_the_documented_hmac_and_travels_as_hex():
    import hashlib
    import hmac

    nonce = "ab" * 32
    expected = hmac.new(b"secret", f"pymodaq_plugins_scopeone auth v1|GRABBER|{nonce}".encode(), hashlib.sha256)
    assert auth_digest(b"secret", nonce, ClientType.GRABBER) == expected.hexdigest()
    assert digest_matches(b"secret", nonce, ClientType.GRABBER, expected.hexdigest())
    assert not digest_matches(b"secret", nonce, ClientType.ACTUATOR, expected.hexdigest())
    assert not digest_matches(b"other", nonce, ClientType.GRABBER, expected.hexdigest())
    assert new_nonce() != new_nonce() and len(new_nonce()) == 64
    stream = join_chunks(encode_message(AuthChallenge(nonce))) + join_chunks(encode_message(AuthResponse("0" * 64)))
    assert decode_messages(stream) == [AuthChallenge(nonce), AuthResponse("0" * 64)]
    with pytest.raises(LocalProtocolError, match=r"AuthResponse\.digest: expected 64 lowercase hex digits"):
        AuthResponse("XYZ")
