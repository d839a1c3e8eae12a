"""Preview, latest_raw_frame, exposure, ROI, binning, bit depth: what the frames contain."""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest

from pymodaq_plugins_scopeone.simulator import render_expected
from pymodaq_plugins_scopeone.simulator._render import to_counts

from .localapi_client import frames_until, read_frame, read_header


def fresh_frame(client, after=0, timeout=5.0):
    """Latest frame with an index above ``after`` (header and image)."""
    response = frames_until(client, "Camera", lambda r: int(r["frameIndex"]) > after, timeout)
    return response, *read_frame(response)


def settled_frame(client, timeout=5.0):
    """A frame whose exposure started after every setting sent so far."""
    first = frames_until(client, "Camera", lambda r: True, timeout)
    return fresh_frame(client, int(first["frameIndex"]) + 1, timeout)


def test_latest_raw_frame_metadata_and_header_agree(demo_sim, demo):
    demo.call("start_preview", camera="Camera")
    response, header, image = fresh_frame(demo)
    assert response["mappingName"] == demo_sim.mapping_name and response["mappingSize"] == 67108928
    assert response["layerKey"] == "raw:Camera" and response["camera"] == "Camera"
    assert (response["width"], response["height"], response["stride"]) == (512, 512, 1024)
    assert response["payloadBytes"] == "524288" and response["pixelFormat"] == "Mono16"
    assert response["bitsPerSample"] == 16  # System/Startup preset of the demo config: BitDepth 16
    assert isinstance(response["frameIndex"], str) and isinstance(response["timestampNs"], str)
    assert (
        response["sourceRoiX"],
        response["sourceRoiY"],
        response["sourceRoiWidth"],
        response["sourceRoiHeight"],
    ) == (0, 0, 512, 512)
    assert response["sourceRoiValid"] is True
    assert header == {
        "state": 2,
        "width": 512,
        "height": 512,
        "stride": 1024,
        "pixelFormat": 1,
        "bitsPerSample": 16,
        "channels": 1,
        "frameIndex": int(response["frameIndex"]),
        "timestampNs": int(response["timestampNs"]),
        "sourceRoiX": 0,
        "sourceRoiY": 0,
        "sourceRoiWidth": 512,
        "sourceRoiHeight": 512,
        "sourceRoiValid": 1,
    }
    assert image.shape == (512, 512) and image.dtype == np.uint16
    assert abs(int(response["timestampNs"]) - time.time_ns()) < 5e9


def test_frame_pixels_are_the_sample_at_the_stage_position(demo_sim, demo):
    demo.call("start_preview")
    _, _, image = fresh_frame(demo)
    expected = to_counts(
        render_expected((0.0, 0.0), config=demo_sim.config), exposure_ms=10.0, bits=16, dtype=np.dtype(np.uint16)
    )
    np.testing.assert_array_equal(image, expected)
    assert image.std() > 1000  # a real image, not a constant


def test_no_frame_before_preview_and_last_frame_kept_after_stop(demo):
    assert demo.request("latest_raw_frame", camera="Camera")["error"] == "No latest raw frame for camera"
    demo.call("start_preview")
    response, _, _ = fresh_frame(demo)
    demo.call("stop_preview")
    time.sleep(0.05)
    kept = demo.call("latest_raw_frame", camera="Camera")
    assert int(kept["frameIndex"]) >= int(response["frameIndex"])
    time.sleep(0.1)
    assert demo.call("latest_raw_frame", camera="Camera")["frameIndex"] == kept["frameIndex"]
    assert demo.call("status")["runningPreviews"] == []


@pytest.mark.parametrize(
    "fields,error",
    [
        ({}, "Missing camera"),
        ({"camera": ""}, "Missing camera"),
        ({"camera": 3}, "Missing camera"),
        ({"camera": "Nope"}, "No latest raw frame for camera"),
    ],
)
def test_latest_raw_frame_errors(demo, fields, error):
    demo.call("start_preview")
    assert demo.request("latest_raw_frame", **fields)["error"] == error


def test_preview_of_unknown_camera_fails(demo):
    assert demo.request("start_preview", camera="Nope")["error"] == "Failed to start preview"
    assert demo.request("stop_preview", camera="Nope")["error"] == "Failed to stop preview"


def test_frame_index_strictly_increases_and_period_is_exposure_plus_readout(demo_sim, demo):
    demo.call("set_exposure", exposureMs=20)
    demo.call("start_preview", camera="all")
    frames = []
    last = 0
    while len(frames) < 12:
        frame = demo_sim.wait_for_frame("Camera", last, timeout_s=2.0)
        assert frame is not None
        frames.append(frame)
        last = frame.frame_index
    indices = [f.frame_index for f in frames]
    assert all(b > a for a, b in zip(indices, indices[1:]))
    consecutive = [
        b.exposure_start - a.exposure_start for a, b in zip(frames, frames[1:]) if b.frame_index == a.frame_index + 1
    ]
    assert consecutive and statistics.median(consecutive) == pytest.approx(0.022, rel=0.1)
    stamps = [f.timestamp_ns for f in frames]
    assert stamps == sorted(stamps)
    assert demo.call("status")["runningPreviews"] == ["Camera"]


def test_brightness_is_proportional_to_exposure(demo):
    demo.call("set_exposure", exposureMs=4)
    demo.call("start_preview")
    _, _, dim = settled_frame(demo)
    demo.call("set_exposure", exposureMs=8)
    _, _, bright = settled_frame(demo)
    assert demo.call("read_exposure")["exposureMs"] == 8
    assert bright.mean() / dim.mean() == pytest.approx(2.0, rel=0.02)


def test_set_exposure_reads_back_and_errors(demo):
    assert demo.call("set_exposure", exposureMs=12.5) == {
        "type": "set_exposure",
        "requestId": 1,
        "ok": True,
        "exposureMs": 12.5,
    }
    assert demo.call("read_exposure", camera="Camera")["exposureMs"] == 12.5
    assert demo.call("get_property", device="Camera", property="Exposure")["value"] == "12.5000"
    assert demo.request("set_exposure")["error"] == "Missing exposureMs"
    assert demo.request("set_exposure", exposureMs="10")["error"] == "Missing exposureMs"
    assert demo.request("set_exposure", exposureMs=True)["error"] == "Missing exposureMs"
    assert demo.request("set_exposure", exposureMs=-1)["error"] == "Failed to set exposure"
    assert demo.request("set_exposure", exposureMs=10001)["error"] == "Failed to set exposure"
    assert demo.request("set_exposure", exposureMs=5, camera="Nope")["error"] == "Failed to set exposure"
    assert demo.request("read_exposure", camera="Nope")["error"] == "Failed to read exposure"


def test_roi_crops_the_frame(demo):
    demo.call("start_preview")
    _, _, full = settled_frame(demo)
    roi = demo.call("set_roi", camera="Camera", x=100, y=40, width=64, height=32)
    assert (roi["readBack"], roi["x"], roi["y"], roi["width"], roi["height"]) == (True, 100, 40, 64, 32)
    got = demo.call("get_roi", camera="Camera")
    assert {k: got[k] for k in ("x", "y", "width", "height")} == {"x": 100, "y": 40, "width": 64, "height": 32}
    response, header, crop = settled_frame(demo)
    assert crop.shape == (32, 64) and response["stride"] == 128 and response["payloadBytes"] == "4096"
    assert (header["sourceRoiX"], header["sourceRoiY"], header["sourceRoiWidth"], header["sourceRoiHeight"]) == (
        100,
        40,
        64,
        32,
    )
    np.testing.assert_array_equal(crop, full[40:72, 100:164])
    demo.call("clear_roi")
    assert demo.call("get_roi", camera="Camera")["width"] == 512


def test_half_roi_is_centred(demo):
    demo.call("set_roi", camera="Camera", x=10, y=20, width=100, height=50)
    assert demo.call("set_half_roi", camera="Camera") == {
        "type": "set_half_roi",
        "requestId": 2,
        "ok": True,
        "readBack": True,
        "x": 35,
        "y": 32,
        "width": 50,
        "height": 25,
    }


@pytest.mark.parametrize(
    "fields,error",
    [
        ({"x": 0, "y": 0, "width": 8, "height": 8}, "Missing camera"),
        ({"camera": "Camera", "x": 0, "y": 0, "width": 0, "height": 8}, "Invalid ROI"),
        ({"camera": "Camera", "x": -1, "y": 0, "width": 8, "height": 8}, "Invalid ROI"),
        ({"camera": "Camera", "x": 0.5, "y": 0, "width": 8, "height": 8}, "Invalid ROI"),
        ({"camera": "Camera", "x": "0", "y": 0, "width": 8, "height": 8}, "Invalid ROI"),
        ({"camera": "Camera", "x": 0, "y": 0, "width": 8}, "Invalid ROI"),
        ({"camera": "Camera", "x": 0, "y": 0, "width": 2**31, "height": 8}, "Invalid ROI"),
        ({"camera": "Camera", "x": 500, "y": 0, "width": 20, "height": 8}, "Failed to set ROI"),
        ({"camera": "Nope", "x": 0, "y": 0, "width": 8, "height": 8}, "Failed to set ROI"),
    ],
)
def test_set_roi_errors(demo, fields, error):
    assert demo.request("set_roi", **fields)["error"] == error
    assert demo.call("get_roi", camera="Camera")["width"] == 512


def test_roi_errors_of_the_other_requests(demo):
    assert demo.request("get_roi")["error"] == "Missing camera"
    assert demo.request("get_roi", camera="Nope")["error"] == "Failed to read ROI"
    assert demo.request("set_half_roi")["error"] == "Missing camera"
    assert demo.request("set_half_roi", camera="Nope")["error"] == "Failed to set Half ROI"
    assert demo.request("clear_roi", camera="Nope")["error"] == "Failed to clear ROI"


@pytest.mark.parametrize("binning", [2, 4, 8])
def test_binning_reduces_the_shape_and_averages_blocks(demo, binning):
    demo.call("start_preview")
    _, _, full = settled_frame(demo)
    demo.call("set_property", device="Camera", property="Binning", value=str(binning))
    assert demo.call("get_roi", camera="Camera")["width"] == 512 // binning  # ROI reset to full binned frame
    response, _, binned = settled_frame(demo)
    side = 512 // binning
    assert binned.shape == (side, side) and response["width"] == side
    blocks = full.astype(float).reshape(side, binning, side, binning).mean(axis=(1, 3))
    assert np.abs(binned.astype(float) - blocks).max() <= 1.0  # rounding only


def test_bit_depth_clips_and_scales(demo):
    demo.call("set_property", device="Camera", property="BitDepth", value="12")
    demo.call("start_preview")
    response, header, image = settled_frame(demo)
    assert (response["bitsPerSample"], response["pixelFormat"], header["bitsPerSample"]) == (12, "Mono16", 12)
    assert image.dtype == np.uint16 and 1000 < image.max() <= 4095
    demo.call("set_exposure", exposureMs=200)
    _, _, saturated = settled_frame(demo)
    assert saturated.max() == 4095 and (saturated == 4095).mean() > 0.01


def test_pixel_type_8bit_gives_mono8_uint8(demo):
    demo.call("set_property", device="Camera", property="PixelType", value="8bit")
    assert demo.call("get_property", device="Camera", property="BitDepth")["value"] == "8"
    demo.call("start_preview")
    response, header, image = settled_frame(demo)
    assert (response["pixelFormat"], response["bitsPerSample"], response["stride"]) == ("Mono8", 8, 512)
    assert (header["pixelFormat"], header["bitsPerSample"]) == (0, 8)
    assert image.dtype == np.uint8 and image.max() > 50
    demo.call("set_property", device="Camera", property="BitDepth", value="14")
    assert demo.call("get_property", device="Camera", property="PixelType")["value"] == "16bit"


def test_defocus_blurs_the_image(demo):
    demo.call("start_preview")
    _, _, sharp = settled_frame(demo)
    demo.call("move_z_to", z=30)
    _, _, blurred = settled_frame(demo)
    gradient = lambda img: np.abs(np.diff(img.astype(float), axis=1)).mean()  # noqa: E731
    assert gradient(blurred) < 0.5 * gradient(sharp)
    assert blurred.mean() == pytest.approx(sharp.mean(), rel=0.05)  # blur keeps the light


def test_noise_is_seeded_per_frame(make_sim, connect):
    sim = make_sim(load_demo=True, noise=0.01)
    client = connect(sim)
    client.call("start_preview")
    a = sim.wait_for_frame("Camera", 0)
    b = sim.wait_for_frame("Camera", a.frame_index)
    expected = to_counts(
        render_expected((0.0, 0.0), config=sim.config), exposure_ms=10.0, bits=16, dtype=np.dtype(np.uint16)
    )
    for frame in (a, b):
        again = to_counts(
            render_expected((0.0, 0.0), config=sim.config),
            exposure_ms=10.0,
            bits=16,
            dtype=np.dtype(np.uint16),
            noise=0.01,
            noise_seed=(1, frame.frame_index),
        )
        np.testing.assert_array_equal(frame.image, again)
    assert not np.array_equal(a.image, b.image)
    assert (a.image.astype(float) - expected).std() == pytest.approx(0.01 * 65535, rel=0.1)


def test_large_sensor_frames(make_sim, connect):
    sim = make_sim(load_demo=True, width=2048, height=1024)
    client = connect(sim)
    client.call("start_preview")
    response, _, image = fresh_frame(client)
    assert image.shape == (1024, 2048) and response["payloadBytes"] == str(2048 * 1024 * 2)
    assert read_header(sim.mapping_name)["width"] == 2048
