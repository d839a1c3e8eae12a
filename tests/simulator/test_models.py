"""The pieces without sockets: stage motion, sample, rendering, configuration parsing, fields."""

from __future__ import annotations

import numpy as np
import pytest

from pymodaq_plugins_scopeone.simulator import SimulatorConfig
from pymodaq_plugins_scopeone.simulator._dispatch import Request
from pymodaq_plugins_scopeone.simulator._mmconfig import ConfigFileError, parse_mm_config
from pymodaq_plugins_scopeone.simulator._render import View, gaussian_blur, render_view, to_counts
from pymodaq_plugins_scopeone.simulator._sample import TILE, Sample
from pymodaq_plugins_scopeone.simulator._stage import MOVE_FAILED, MotionController, Move, StageModel


class FakeClock:
    """Collects scheduled callbacks instead of running them on a loop."""

    def __init__(self):
        self.calls = []

    def schedule(self, delay, callback):
        self.calls.append((delay, callback))

    def fire(self):
        calls, self.calls = self.calls, []
        for _, callback in calls:
            callback()


def test_stage_position_follows_a_straight_line_in_time():
    model = StageModel((0.0, 0.0), 100.0, [(-1e3, 1e3), (-1e3, 1e3)])
    segment = model.travel((30.0, 40.0), t=10.0)
    assert segment.t1 == pytest.approx(10.5)  # 50 µm at 100 µm/s
    assert model.position(9.0) == (0.0, 0.0)
    assert model.position(10.25) == pytest.approx((15.0, 20.0))
    assert model.position(11.0) == (30.0, 40.0)


def test_motion_controller_runs_moves_in_order_and_reports():
    clock = FakeClock()
    faults = iter([None, "fail", None])
    controller = MotionController(StageModel((0.0,), 10.0, [(-5.0, 5.0)]), clock.schedule, lambda: next(faults))
    results = []
    controller.submit(Move(lambda start: (start[0] + 1.0,), lambda e: results.append(("a", e))))
    controller.submit(Move(lambda start: (2.0,), lambda e: results.append(("b", e))))
    controller.submit(Move(lambda start: (start[0] + 1.0,), lambda e: results.append(("c", e))))
    assert results == [] and clock.calls[0][0] == pytest.approx(0.1)
    clock.fire()  # a done, b fails at once (fault), c starts from 1.0
    assert results == [("a", None), ("b", MOVE_FAILED)]
    clock.fire()
    assert results[-1] == ("c", None)


def test_out_of_range_target_fails_without_moving():
    clock = FakeClock()
    model = StageModel((0.0,), 10.0, [(-5.0, 5.0)])
    controller = MotionController(model, clock.schedule, lambda: None)
    results = []
    controller.submit(Move(lambda start: (5.5,), results.append))
    assert results == [MOVE_FAILED] and model.position() == (0.0,) and not controller.busy


def test_sample_is_deterministic_and_seeded():
    a = Sample(seed=7).region(-300, 100, 400, 300)
    b = Sample(seed=7).region(-300, 100, 400, 300)
    c = Sample(seed=8).region(-300, 100, 400, 300)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_sample_regions_agree_across_tile_borders():
    sample = Sample()
    big = sample.region(-TILE, -TILE, 2 * TILE, 2 * TILE)
    np.testing.assert_array_equal(big[TILE - 10 : TILE + 10, 5:300], Sample().region(-TILE + 5, -10, 295, 20))
    assert big.min() > 0.03 and big.max() > 0.5  # background plus beads


def test_blur_keeps_total_light_and_is_symmetric():
    image = np.zeros((101, 101), np.float32)
    image[50, 50] = 1000.0
    blurred = gaussian_blur(image, 5.0)
    assert blurred.sum() == pytest.approx(1000.0, rel=1e-3)
    assert np.unravel_index(np.argmax(blurred), blurred.shape) == (50, 50)
    np.testing.assert_allclose(blurred, blurred[::-1, ::-1], atol=1e-3)
    profile = blurred[50] / blurred[50].sum()
    sigma = np.sqrt((profile * (np.arange(101) - 50) ** 2).sum())
    assert sigma == pytest.approx(5.0, rel=0.1)


def test_binning_averages_blocks_of_the_unbinned_view():
    sample = Sample()
    full = render_view(sample, View(0, 0, (0, 0, 64, 64), 1, 0.0))
    binned = render_view(sample, View(0, 0, (0, 0, 16, 16), 4, 0.0))
    np.testing.assert_allclose(binned, full.reshape(16, 4, 16, 4).mean(axis=(1, 3)), rtol=1e-5)


def test_counts_scale_with_exposure_and_clip_at_bit_depth():
    relative = np.array([[0.0, 0.5, 1.0, 4.0]], np.float32)
    counts = to_counts(relative, exposure_ms=10.0, bits=8, dtype=np.dtype(np.uint8))
    assert counts.tolist() == [[0, 57, 115, 255]]
    assert to_counts(relative, exposure_ms=20.0, bits=10, dtype=np.dtype(np.uint16)).tolist() == [[0, 460, 921, 1023]]


def test_config_validation():
    with pytest.raises(ValueError, match="width"):
        SimulatorConfig(width=4096)
    with pytest.raises(ValueError, match="pixel_size_um"):
        SimulatorConfig(pixel_size_um=0)
    with pytest.raises(ValueError, match="travel limits"):
        SimulatorConfig(z_limits_um=(5.0, -5.0))
    with pytest.raises(ValueError, match="too long"):
        SimulatorConfig(socket_path="/tmp/" + "x" * 120)


def test_mm_config_parsing():
    spec = parse_mm_config(
        "# comment\n\nDevice,Cam,DemoCamera,DCam\nDevice,Foc,DemoCamera,DStage\nProperty,Core,Focus,Foc\n"
        "Property,Cam,Exposure,25\nConfigGroup,System,Startup,Cam,BitDepth,12\nConfigGroup,Camera,Hi,Cam,Binning,1\n"
    )
    assert [(d.label, d.role) for d in spec.devices] == [("Cam", "camera"), ("Foc", "z")]
    assert spec.core == {"Focus": "Foc"}
    assert spec.properties == (("Cam", "Exposure", "25"),)
    assert spec.startup == (("Cam", "BitDepth", "12"),)
    with pytest.raises(ConfigFileError, match="line 1"):
        parse_mm_config("Device,OnlyLabel\n")


@pytest.mark.parametrize(
    "value,expected",
    [
        (3, 3),
        (3.0, 3),
        (-2, -2),
        (3.5, None),
        ("3", None),
        (True, None),
        (None, None),
        (2**31, None),
        (float("inf"), None),
    ],
)
def test_integer_fields_follow_scopeone_intfield(value, expected):
    assert Request({"n": value}, "t").integer("n") == expected


def test_string_and_number_fields_follow_qjsonvalue():
    request = Request({"s": 5, "t": " x ", "n": "5", "b": 1}, "t")
    assert request.string("s") == "" and request.string("t") == " x " and request.string_or("s", "All") == "All"
    assert request.number("n", 7.0) == 7.0 and request.number("missing") == 0.0
    assert request.boolean("b", True) is True
