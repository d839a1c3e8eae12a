"""Wire objects ⇄ real PyMoDAQ 5 data objects, through the codec and back."""

from __future__ import annotations

import numpy as np
import pytest
from pymodaq.utils.data import DataActuator as PmdDataActuator
from pymodaq.utils.data import DataFromPlugins
from pymodaq_data import data as pmd

from pymodaq_plugins_scopeone.hardware.pymodaq_conversion import (
    ConversionError,
    dte_from_pymodaq,
    dte_to_pymodaq,
    dwa_from_pymodaq,
    dwa_to_pymodaq,
)
from pymodaq_plugins_scopeone.protocol import (
    Axis,
    DataActuator,
    DataToExport,
    DataWithAxes,
    decode_value,
    encode_value,
    join_chunks,
    values_equal,
)


def camera_frame() -> DataToExport:
    frame = np.arange(12, dtype=np.uint16).reshape(3, 4)
    dfp = DataWithAxes(
        "Camera",
        (frame,),
        class_name="DataFromPlugins",
        units="",
        axes=(Axis("y", "pixels", np.arange(3.0) + 10, 0), Axis("x", "pixels", np.arange(4.0) + 20, 1)),
        extra_attributes={"frame_index": 7, "exposure_ms": 12.5, "camera": "Camera", "roi": (10, 20, 4, 3)},
        timestamp=1.7e9,
    )
    return DataToExport("ScopeOne", (dfp,), timestamp=1.7e9 + 1)


def test_a_frame_becomes_pymodaq_data_from_plugins_sharing_the_pixels():
    ours = camera_frame()
    theirs = dte_to_pymodaq(ours)
    dfp = theirs[0]
    assert isinstance(theirs, pmd.DataToExport) and isinstance(dfp, DataFromPlugins)
    assert dfp.dim.name == "Data2D" and dfp.shape == (3, 4) and dfp.data[0].dtype == np.uint16
    assert np.shares_memory(dfp.data[0], ours.data[0].data[0])
    assert dfp.frame_index == 7 and dfp.exposure_ms == 12.5 and dfp.camera == "Camera" and dfp.roi == [10, 20, 4, 3]
    assert [axis.label for axis in dfp.axes] == ["y", "x"]
    assert np.array_equal(dfp.get_axis_from_index(1)[0].get_data(), np.arange(4.0) + 20)
    assert dfp.timestamp == 1.7e9 and theirs.timestamp == 1.7e9 + 1


def test_pymodaq_objects_come_back_identical_after_the_wire():
    original = dte_to_pymodaq(camera_frame())
    wire = join_chunks(encode_value(dte_from_pymodaq(original)))
    again = dte_to_pymodaq(decode_value(wire, "dte"))
    assert again == original  # PyMoDAQ's own equality: names, data, axes
    assert again[0].extra_attributes == original[0].extra_attributes
    assert again[0].roi == [10, 20, 4, 3] and again[0].frame_index == 7


def test_data_actuator_round_trips_with_units():
    position = PmdDataActuator("X", data=[np.array([12.5])], units="µm")
    ours = dwa_from_pymodaq(position)
    assert isinstance(ours, DataActuator) and ours.value == 12.5 and ours.units == "µm"
    back = dwa_to_pymodaq(ours)
    assert isinstance(back, PmdDataActuator) and back.value() == 12.5 and back.units == "µm"


def test_errors_and_several_channels_survive():
    dwa = pmd.DataRaw("spectrum", data=[np.ones(5), np.zeros(5)], labels=["a", "b"], errors=[np.ones(5), np.ones(5)])
    ours = dwa_from_pymodaq(dwa)
    assert ours.class_name == "DataRaw" and ours.labels == ("a", "b") and len(ours.errors) == 2
    assert values_equal(dwa_from_pymodaq(dwa_to_pymodaq(ours)), ours)


def test_an_extra_attribute_hiding_a_field_is_refused_by_name():
    dwa = DataWithAxes("x", (np.zeros(3),), extra_attributes={"axes": "oops"})
    with pytest.raises(ConversionError, match="extra attribute 'axes' of DataWithAxes 'x' would hide a field"):
        dwa_to_pymodaq(dwa)
