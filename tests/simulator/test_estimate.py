"""The position estimator: shifts between frames and absolute stage positions."""

from __future__ import annotations

import numpy as np
import pytest

from pymodaq_plugins_scopeone.simulator import SimulatorConfig, estimate_shift, estimate_stage_xy, render_expected
from pymodaq_plugins_scopeone.simulator._render import to_counts

CONFIG = SimulatorConfig()


def frame_at(x, y, *, config=CONFIG, binning=1, roi=None, z=None, noise=0.0):
    relative = render_expected((x, y), config=config, binning=binning, roi=roi, z_um=z)
    return to_counts(relative, exposure_ms=10.0, bits=12, dtype=np.dtype(np.uint16), noise=noise, noise_seed=(3, 4))


def test_estimate_shift_reports_content_displacement():
    reference = frame_at(0, 0)
    moved = frame_at(17, -9)  # stage +17 µm, -9 µm → content moves -17 px, +9 px
    assert estimate_shift(moved, reference) == pytest.approx((-17.0, 9.0), abs=0.3)
    assert estimate_shift(reference, reference) == pytest.approx((0.0, 0.0), abs=0.1)


def test_estimate_shift_needs_equal_shapes():
    with pytest.raises(ValueError):
        estimate_shift(np.zeros((8, 8)), np.zeros((8, 9)))


@pytest.mark.parametrize("x,y", [(0, 0), (250.0, -125.0), (-41000.0, 33000.0), (12345.0, 678.0)])
def test_stage_position_recovered_anywhere_from_a_nearby_guess(x, y):
    image = frame_at(x, y)
    for hint in [(x, y), (x + 90, y - 60), (x - 100, y + 100)]:
        assert estimate_stage_xy(image, hint) == pytest.approx((x, y), abs=1.0)


def test_different_places_look_different():
    a, b = frame_at(0, 0), frame_at(5000, 5000)
    assert np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1] < 0.2


def test_estimate_with_binning_roi_noise_and_pixel_size():
    config = SimulatorConfig(pixel_size_um=0.5)
    image = frame_at(300.0, 200.0, config=config, binning=2, roi=(30, 40, 160, 128), noise=0.01)
    assert image.shape == (128, 160)
    estimate = estimate_stage_xy(image, (280.0, 215.0), config=config, binning=2, roi=(30, 40, 160, 128))
    assert estimate == pytest.approx((300.0, 200.0), abs=1.0)  # 1 µm = 1 binned pixel here


def test_estimate_out_of_focus_with_the_frame_z():
    image = frame_at(75.0, -20.0, z=12.0, noise=0.01)
    assert estimate_stage_xy(image, (60.0, 0.0), z_um=12.0) == pytest.approx((75.0, -20.0), abs=1.5)


def test_stale_frame_is_told_apart_from_a_fresh_one():
    old, new = frame_at(0, 0), frame_at(100, 0)
    target = (100.0, 0.0)
    assert estimate_stage_xy(new, target) == pytest.approx(target, abs=1.0)
    assert estimate_stage_xy(old, target)[0] == pytest.approx(0.0, abs=1.0)
