"""The frame block: header validation, one stride-aware copy, and torn-frame detection."""

from __future__ import annotations

import mmap
import struct
from typing import Any, Dict, List, Tuple

import numpy as np
import pytest

from pymodaq_plugins_scopeone.agent import _frames
from pymodaq_plugins_scopeone.agent._errors import FrameError, TornFrame
from pymodaq_plugins_scopeone.agent._frames import HEADER, FrameBlock, open_mapping

SIZE = 64 + 4096 * 4


def header_bytes(**overrides: int) -> bytes:
    fields = dict(
        state=2,
        width=5,
        height=3,
        stride=12,
        pixel_format=1,
        bits=12,
        channels=1,
        index=41,
        ts=1_700_000_000_000_000_000,
        rx=8,
        ry=4,
        rw=5,
        rh=3,
        valid=1,
    )
    fields.update(overrides)
    return HEADER.pack(*fields.values())


def meta_for(**overrides: Any) -> Dict[str, Any]:
    meta = {
        "mappingName": "block",
        "mappingSize": SIZE,
        "frameIndex": "41",
        "width": 5,
        "height": 3,
        "stride": 12,
        "bitsPerSample": 12,
        "pixelFormat": "Mono16",
        "timestampNs": "1700000000000000000",
    }
    meta.update(overrides)
    return meta


class Opener:
    """Hands out one anonymous mmap per name, like the OS would for a shared block."""

    def __init__(self) -> None:
        self.maps: Dict[str, mmap.mmap] = {}
        self.opened: List[Tuple[str, int]] = []

    def __call__(self, name: str, size: int) -> mmap.mmap:
        self.opened.append((name, size))
        if name not in self.maps:
            self.maps[name] = mmap.mmap(-1, size)
        return self.maps[name]


def write_frame(mm: mmap.mmap, image: np.ndarray, stride: int, **header: int) -> None:
    mm[:64] = header_bytes(stride=stride, width=image.shape[1], height=image.shape[0], **header)
    rows = bytearray(stride * image.shape[0])
    for r in range(image.shape[0]):
        rows[r * stride : r * stride + image.shape[1] * image.itemsize] = image[r].tobytes()
    mm[64 : 64 + len(rows)] = bytes(rows)


def test_copy_respects_stride_and_returns_a_contiguous_array() -> None:
    opener = Opener()
    block = FrameBlock(opener)
    image = (np.arange(15, dtype=np.uint16).reshape(3, 5) * 101).astype(np.uint16)
    mm = opener("block", SIZE)
    write_frame(mm, image, stride=12)  # 10 bytes of pixels + 2 bytes of padding per row
    out, header = block.copy(meta_for())
    assert out.dtype == np.uint16 and out.shape == (3, 5) and out.flags.c_contiguous
    np.testing.assert_array_equal(out, image)
    assert header.frame_index == 41 and header.roi == (8, 4, 5, 3) and header.bits_per_sample == 12
    out[0, 0] = 7  # ours, not a view of the shared block
    assert struct.unpack_from("<H", mm, 64)[0] == 0
    block.close()


def test_mono8() -> None:
    opener = Opener()
    block = FrameBlock(opener)
    image = np.arange(12, dtype=np.uint8).reshape(3, 4)
    write_frame(opener("block", SIZE), image, stride=4, pixel_format=0, bits=8)
    out, _ = block.copy(meta_for(width=4, stride=4, bitsPerSample=8, pixelFormat="Mono8"))
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, image)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (dict(state=1), "state is 1, expected 2"),
        (dict(pixel_format=3), "pixelFormat is 3"),
        (dict(channels=3), "channels is 3"),
        (dict(pixel_format=0, bits=12), "bitsPerSample is 12, invalid for Mono8"),
        (dict(bits=17), "bitsPerSample is 17"),
        (dict(stride=9), "stride is 9, expected a multiple of 2 >= 10"),
        (dict(stride=11), "stride is 11"),
        (dict(height=5000, stride=12), "does not fit"),
    ],
)
def test_invalid_headers_are_refused_naming_the_field(header: Dict[str, int], message: str) -> None:
    opener = Opener()
    block = FrameBlock(opener)
    opener("block", SIZE)[:64] = header_bytes(**header)
    with pytest.raises(FrameError, match=message):
        block.copy(
            meta_for(
                height=header.get("height", 3), stride=header.get("stride", 12), bitsPerSample=header.get("bits", 12)
            )
        )


def test_a_block_holding_another_frame_is_torn() -> None:
    opener = Opener()
    block = FrameBlock(opener)
    write_frame(opener("block", SIZE), np.zeros((3, 5), np.uint16), stride=12, index=42)
    with pytest.raises(TornFrame, match="frameIndex=42, the response announced 41"):
        block.copy(meta_for())


def test_an_export_during_the_copy_is_detected(monkeypatch: pytest.MonkeyPatch) -> None:
    opener = Opener()
    block = FrameBlock(opener)
    mm = opener("block", SIZE)
    write_frame(mm, np.ones((3, 5), np.uint16), stride=12)
    real_copyto = np.copyto

    def copy_while_someone_exports(dst: Any, src: Any, **kwargs: Any) -> None:
        real_copyto(dst, src, **kwargs)
        mm[:64] = header_bytes(index=42, state=1)  # another client starts writing a frame

    monkeypatch.setattr(_frames.np, "copyto", copy_while_someone_exports)
    with pytest.raises(TornFrame, match="changed while it was copied"):
        block.copy(meta_for())


def test_mapping_reopened_when_name_or_size_changes() -> None:
    opener = Opener()
    block = FrameBlock(opener)
    write_frame(opener("block", SIZE), np.ones((3, 5), np.uint16), stride=12)
    write_frame(opener("other", SIZE), np.full((3, 5), 2, np.uint16), stride=12)
    opener.opened.clear()
    assert block.copy(meta_for())[0][0, 0] == 1
    assert block.copy(meta_for())[0][0, 0] == 1
    assert block.copy(meta_for(mappingName="other"))[0][0, 0] == 2
    assert opener.opened == [("block", SIZE), ("other", SIZE)]


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        (dict(mappingName=None), "mappingName is None"),
        (dict(mappingSize=10), "mappingSize is 10"),
        (dict(mappingSize="x"), "mappingSize is 'x'"),
    ],
)
def test_bad_metadata(meta: Dict[str, Any], message: str) -> None:
    with pytest.raises(FrameError, match=message):
        FrameBlock(Opener()).copy(meta_for(**meta))


def test_open_mapping_refuses_odd_names_and_missing_blocks() -> None:
    with pytest.raises(FrameError, match="invalid mappingName"):
        open_mapping("../etc/passwd", SIZE)
    with pytest.raises(FrameError, match="cannot open the frame block"):
        open_mapping("scopeone-agent-test-no-such-block", SIZE, platform="linux")


def test_frame_arrays_are_recycled_once_sent_and_never_while_held() -> None:
    side, size = 256, 64 + 256 * 256 * 2  # 128 KiB: large enough for the pool
    opener = Opener()
    block = FrameBlock(opener)
    image = np.arange(side * side, dtype=np.uint16).reshape(side, side)
    write_frame(opener("big", size), image, stride=side * 2)
    meta = meta_for(mappingName="big", mappingSize=size, width=side, height=side, stride=side * 2)
    first, _ = block.copy(meta)
    address = first.ctypes.data
    del first  # sent and dropped: its memory takes the next frame (no fresh pages to fault in)
    second, _ = block.copy(meta)
    assert second.ctypes.data == address
    third, _ = block.copy(meta)  # the second is still held: never overwritten
    assert third.ctypes.data != second.ctypes.data
    np.testing.assert_array_equal(second, image)
    np.testing.assert_array_equal(third, image)
    block.close()


def test_the_copy_goes_into_the_array_the_allocate_hook_gives() -> None:
    opener = Opener()
    given: List[np.ndarray] = []

    def allocate(shape: Tuple[int, ...], dtype: np.dtype[Any]) -> np.ndarray:
        given.append(np.empty(shape, dtype))
        return given[-1]

    block = FrameBlock(opener, allocate=allocate)
    image = np.arange(15, dtype=np.uint16).reshape(3, 5)
    write_frame(opener("block", SIZE), image, stride=12)
    out, _ = block.copy(meta_for())
    assert len(given) == 1 and out is given[0]
    np.testing.assert_array_equal(out, image)
    block.close()
