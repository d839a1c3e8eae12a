"""The shared frame block: header layout byte by byte, export order, sparse file, cleanup."""

from __future__ import annotations

import os
import struct

import numpy as np
import pytest

from pymodaq_plugins_scopeone.simulator import MAPPING_SIZE, FrameHeader, unique_mapping_name
from pymodaq_plugins_scopeone.simulator._shm import FrameMapping, validate_mapping_name


def header(**changes):
    fields = dict(
        state=2,
        width=3,
        height=2,
        stride=6,
        pixel_format=1,
        bits_per_sample=12,
        channels=1,
        frame_index=0x0102030405060708,
        timestamp_ns=0x1112131415161718,
        roi_x=-1,
        roi_y=2,
        roi_width=3,
        roi_height=4,
        roi_valid=1,
    )
    fields.update(changes)
    return FrameHeader(**fields)


def test_header_is_64_bytes_little_endian_at_the_reference_offsets():
    data = header().pack()
    assert len(data) == 64
    assert data[0:4] == b"\x02\x00\x00\x00"  # state
    assert data[4:8] == b"\x03\x00\x00\x00"  # width
    assert data[8:12] == b"\x02\x00\x00\x00"  # height
    assert data[12:16] == b"\x06\x00\x00\x00"  # stride
    assert data[16:20] == b"\x01\x00\x00\x00"  # pixelFormat Mono16
    assert data[20:22] == b"\x0c\x00"  # bitsPerSample
    assert data[22:24] == b"\x01\x00"  # channels
    assert data[24:32] == bytes([8, 7, 6, 5, 4, 3, 2, 1])  # frameIndex u64 LE
    assert data[32:40] == bytes([0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11])  # timestampNs
    assert data[40:44] == b"\xff\xff\xff\xff"  # sourceRoiX = -1 (i32)
    assert data[44:48] == b"\x02\x00\x00\x00"
    assert data[48:52] == b"\x03\x00\x00\x00"
    assert data[52:56] == b"\x04\x00\x00\x00"
    assert data[56:60] == b"\x01\x00\x00\x00"  # sourceRoiValid
    assert data[60:64] == b"\x00\x00\x00\x00"  # reserved
    assert FrameHeader.unpack(data) == header()


@pytest.fixture
def mapping():
    block = FrameMapping(unique_mapping_name("s1test"))
    block.open()
    yield block
    block.close()


def test_block_is_created_0600_with_the_full_size_and_costs_no_memory_until_written(mapping):
    info = os.stat(mapping.path)
    assert info.st_size == MAPPING_SIZE == 67108928
    assert info.st_mode & 0o777 == 0o600
    assert info.st_blocks * 512 < 1 << 20  # sparse


def test_write_puts_pixels_at_offset_64_and_header_with_state_ready(mapping):
    image = np.array([[1, 2, 0x0403], [0xFFFF, 5, 6]], dtype=np.uint16)
    mapping.write(image, header(state=0))
    with open(mapping.path, "rb") as f:
        raw = f.read(64 + 12)
    assert raw[:64] == header(state=2).pack()
    assert raw[64:] == b"\x01\x00\x02\x00\x03\x04\xff\xff\x05\x00\x06\x00"


def test_write_honours_a_stride_wider_than_the_row(mapping):
    image = np.array([[1, 2], [3, 4]], dtype=np.uint8)
    mapping.write(image, header(width=2, height=2, stride=4, pixel_format=0, bits_per_sample=8))
    with open(mapping.path, "rb") as f:
        raw = f.read(72)
    assert raw[64] == 1 and raw[65] == 2 and raw[68] == 3 and raw[69] == 4


def test_write_marks_state_1_before_copying_pixels(mapping, monkeypatch):
    seen = []
    original = FrameMapping._copy_pixels

    def spy(mm, image, stride):
        seen.append(struct.unpack_from("<I", mm, 0)[0])
        original(mm, image, stride)

    monkeypatch.setattr(FrameMapping, "_copy_pixels", staticmethod(spy))
    mapping.write(np.zeros((2, 3), np.uint16), header())
    assert seen == [1]
    assert mapping.read_header().state == 2


def test_payload_larger_than_64_mib_is_refused(mapping):
    with pytest.raises(ValueError, match="Frame payload is invalid"):
        mapping.write(np.zeros((1, 1), np.uint8), header(stride=16 * 2048 * 2048 + 1, height=1))


def test_close_unlinks_the_block_and_is_idempotent():
    block = FrameMapping(unique_mapping_name("s1test"))
    block.open()
    assert block.path.exists()
    block.close()
    block.close()
    assert not block.path.exists()


@pytest.mark.parametrize("name", ["", "a/b", "x" * 251, ".."])
def test_bad_mapping_names_are_rejected(name):
    with pytest.raises(ValueError, match="invalid shared-memory name"):
        validate_mapping_name(name)
