"""A frame from the agent as what a PyMoDAQ 5 viewer emits (PyMoDAQ side, no pixel copy).

Our agent sends a DataToExport holding one ``DataFromPlugins`` (Data2D, the camera's
uint8/uint16 pixels, pixel axes offset by the ROI, extra attributes such as
``frame_index`` and ``exposure_ms``); 2.x–4.0 peers send a bare list of arrays. Either
way the viewer gets DataFromPlugins with the extra attributes kept and, if a pixel size
is set, axes in µm instead of pixels.

PyMoDAQ 5.3's DAQ_Scan saver does not write extra attributes, so the numeric metadata of
the frame also travels as a second, Data0D ``DataFromPlugins`` named ``<camera>_metadata``
(one channel each: frame_index, timestamp_s, exposure_ms, binning, bits_per_sample, roi_x,
roi_y, roi_width, roi_height; ``do_plot`` false): DAQ_Scan saves it at every scan point.
"""

from __future__ import annotations

from typing import Optional, Tuple, Union

import numpy as np
from pymodaq.utils.data import DataFromPlugins
from pymodaq_data import data as pmd

from ..protocol import DataToExport
from .pymodaq_conversion import dte_to_pymodaq

LEGACY_NAME = "ScopeOne"
PIXEL_UNITS = ("pixels", "pixel", "px", "")


def frame_to_pymodaq(data: Union[DataToExport, Tuple[object, ...]], pixel_size_um: float = 0.0) -> pmd.DataToExport:
    """The PyMoDAQ DataToExport for one frame.

    Args:
        data: the payload of the agent's ``Done``.
        pixel_size_um: size of one (binned) camera pixel on the sample in µm; 0 keeps pixel axes.
    """
    if isinstance(data, DataToExport):
        dte = dte_to_pymodaq(data)
        for dwa in list(dte):
            metadata = metadata_of(dwa)
            if metadata is not None:
                dte.append(metadata)
    else:
        dte = pmd.DataToExport(LEGACY_NAME, data=[_legacy_dfp(data)])
    if pixel_size_um > 0:
        for dwa in dte:
            dwa.axes = [_scaled(axis, pixel_size_um) for axis in dwa.axes]
    return dte


def _legacy_dfp(arrays: Tuple[object, ...]) -> DataFromPlugins:
    """2.x–4.0 peers send the arrays only: give them pixel axes like our agent's."""
    data = [np.asarray(array) for array in arrays]
    dim = {0: "Data0D", 1: "Data1D", 2: "Data2D"}.get(data[0].ndim, "DataND")
    axes = []
    if dim == "Data2D":
        height, width = data[0].shape
        axes = [
            pmd.Axis("y", "pixels", data=np.arange(height, dtype=float), index=0),
            pmd.Axis("x", "pixels", data=np.arange(width, dtype=float), index=1),
        ]
    return DataFromPlugins(LEGACY_NAME, data=data, dim=dim, axes=axes)


def _scaled(axis: pmd.Axis, pixel_size_um: float) -> pmd.Axis:
    if axis.units not in PIXEL_UNITS:
        return axis  # already physical: the agent knows better
    values = np.asarray(axis.get_data(), dtype=float) * pixel_size_um
    return pmd.Axis(axis.label, "µm", data=values, index=axis.index, spread_order=axis.spread_order)


METADATA_CHANNELS = ("frame_index", "timestamp_s", "exposure_ms", "binning", "bits_per_sample")
ROI_CHANNELS = ("roi_x", "roi_y", "roi_width", "roi_height")


def metadata_of(dwa: pmd.DataWithAxes) -> Optional[DataFromPlugins]:
    """The frame's numeric metadata as a Data0D DataFromPlugins (None for a frame without any)."""
    attributes = {name: getattr(dwa, name) for name in dwa.extra_attributes}
    if "frame_index" not in attributes:
        return None
    values = {
        "frame_index": attributes["frame_index"],
        "timestamp_s": float(attributes.get("timestamp_ns", 0)) * 1e-9,
        "exposure_ms": attributes.get("exposure_ms", np.nan),
        "binning": attributes.get("binning", np.nan),
        "bits_per_sample": attributes.get("bits_per_sample", np.nan),
    }
    roi = list(attributes.get("roi", ()))
    values.update(zip(ROI_CHANNELS, roi if len(roi) == 4 else [np.nan] * 4))
    return DataFromPlugins(
        f"{dwa.name}_metadata",
        data=[np.array([float(value)]) for value in values.values()],
        labels=list(values),
        dim="Data0D",
        do_plot=False,
        do_save=True,
    )
