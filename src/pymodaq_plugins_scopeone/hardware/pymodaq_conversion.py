"""Conversion between the codec's wire objects and PyMoDAQ 5 data objects (PyMoDAQ side only).

The codec (``protocol``) has its own frozen dataclasses so that the agent needs no
PyMoDAQ; the plugins hand PyMoDAQ its own ``DataToExport``, ``DataFromPlugins`` and
``DataActuator`` objects. Conversion copies no pixels: PyMoDAQ objects wrap the same
numpy arrays.
"""

from __future__ import annotations

from typing import Any, Dict, Type

import numpy as np
from pymodaq.utils.data import DataActuator as PmdDataActuator
from pymodaq.utils.data import DataFromPlugins
from pymodaq_data import data as pmd

from ..protocol import Axis, DataActuator, DataToExport, DataWithAxes, ScopeOneError

_PYMODAQ_CLASSES: Dict[str, Type[Any]] = {
    "DataWithAxes": pmd.DataWithAxes,
    "DataRaw": pmd.DataRaw,
    "DataCalculated": pmd.DataCalculated,
    "DataActuator": PmdDataActuator,
    "DataFromPlugins": DataFromPlugins,
}


class ConversionError(ScopeOneError):
    """A value cannot be represented on the other side (e.g. an extra attribute hiding a field)."""


def axis_to_pymodaq(axis: Axis) -> pmd.Axis:
    """A PyMoDAQ Axis with the same label, units, coordinates, index and spread order."""
    return pmd.Axis(axis.label, axis.units, data=axis.data, index=axis.index, spread_order=axis.spread_order)


def axis_from_pymodaq(axis: pmd.Axis) -> Axis:
    """Our Axis from a PyMoDAQ one; linear axes are expanded to their coordinates."""
    return Axis(axis.label, axis.units, np.asarray(axis.get_data()), int(axis.index), int(axis.spread_order))


def value_to_pymodaq(value: Any) -> Any:
    """An extra-attribute value for PyMoDAQ: tuples become lists, objects their PyMoDAQ twins."""
    if isinstance(value, tuple):
        return [value_to_pymodaq(item) for item in value]
    if isinstance(value, Axis):
        return axis_to_pymodaq(value)
    if isinstance(value, DataWithAxes):
        return dwa_to_pymodaq(value)
    if isinstance(value, DataToExport):
        return dte_to_pymodaq(value)
    return value


def value_from_pymodaq(value: Any) -> Any:
    """An extra-attribute value from PyMoDAQ: lists become tuples, objects our wire twins."""
    if isinstance(value, (list, tuple)):
        return tuple(value_from_pymodaq(item) for item in value)
    if isinstance(value, pmd.Axis):
        return axis_from_pymodaq(value)
    if isinstance(value, pmd.DataWithAxes):
        return dwa_from_pymodaq(value)
    if isinstance(value, pmd.DataToExport):
        return dte_from_pymodaq(value)
    return value


def dwa_to_pymodaq(dwa: DataWithAxes) -> pmd.DataWithAxes:
    """The PyMoDAQ flavour named by ``dwa.class_name``, sharing its arrays.

    Raises:
        ConversionError: an extra attribute would hide one of PyMoDAQ's own attributes.
    """
    result = _PYMODAQ_CLASSES[dwa.class_name](
        dwa.name,
        source=dwa.source,
        dim=dwa.dim,
        distribution=dwa.distribution,
        data=list(dwa.data),
        labels=list(dwa.labels),
        origin=dwa.origin,
        units=dwa.units,
        axes=[axis_to_pymodaq(axis) for axis in dwa.axes],
        nav_indexes=tuple(dwa.nav_indexes),
        errors=list(dwa.errors) or None,
    )
    for name, value in dwa.extra_attributes.items():
        if name not in result.extra_attributes and hasattr(result, name):
            raise ConversionError(f"extra attribute {name!r} of {dwa.class_name} {dwa.name!r} would hide a field")
        result.add_extra_attribute(**{name: value_to_pymodaq(value)})
    result.timestamp = dwa.timestamp
    return result


def dwa_from_pymodaq(dwa: pmd.DataWithAxes) -> DataWithAxes:
    """Our wire object for a PyMoDAQ DataWithAxes (any flavour PyMoDAQ 4.4 knows)."""
    class_name = type(dwa).__name__
    if class_name not in _PYMODAQ_CLASSES:  # e.g. DataFromRoi: send it as its base flavour
        class_name = "DataCalculated" if dwa.source.name == "calculated" else "DataRaw"
    fields = dict(
        name=dwa.name,
        data=tuple(dwa.data),
        units=dwa.units,
        source=dwa.source.name,
        dim=dwa.dim.name,
        distribution=dwa.distribution.name,
        labels=tuple(dwa.labels),
        origin=dwa.origin,
        nav_indexes=tuple(dwa.nav_indexes),
        axes=tuple(axis_from_pymodaq(axis) for axis in dwa.axes),
        errors=tuple(dwa.errors) if dwa.errors is not None else (),
        extra_attributes={name: value_from_pymodaq(getattr(dwa, name)) for name in dwa.extra_attributes},
        timestamp=dwa.timestamp,
    )
    if class_name == "DataActuator":
        return DataActuator(**fields)
    return DataWithAxes(class_name=class_name, **fields)


def dte_to_pymodaq(dte: DataToExport) -> pmd.DataToExport:
    """A PyMoDAQ DataToExport holding the converted DataWithAxes, sharing their arrays."""
    result = pmd.DataToExport(dte.name, data=[dwa_to_pymodaq(dwa) for dwa in dte.data])
    result.timestamp = dte.timestamp
    return result


def dte_from_pymodaq(dte: pmd.DataToExport) -> DataToExport:
    """Our wire object for a PyMoDAQ DataToExport (its own extra attributes do not travel in 4.4)."""
    return DataToExport(dte.name, tuple(dwa_from_pymodaq(dwa) for dwa in dte), timestamp=dte.timestamp)
