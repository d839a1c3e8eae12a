"""The objects PyMoDAQ 4.4 puts on the wire, as the project's own frozen dataclasses.

They mirror ``pymodaq.utils.data`` (Axis, DataWithAxes and its flavours, DataToExport)
field for field, in wire order, without depending on PyMoDAQ: the agent on the
microscope PC uses them with the standard library and numpy only. Conversion to and
from real PyMoDAQ objects lives on the plugin side (``hardware/pymodaq_conversion.py``).

Lists travel as tuples; numpy scalars keep their dtype so that what was decoded
encodes back to the same bytes. Invalid values raise :class:`LocalProtocolError` at
construction, naming the field.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Dict, Iterable, Optional, Tuple, Type, TypeVar, Union

import numpy as np

from ._dtypes import describe_allowed_dtypes, wire_dtype
from ._errors import LocalProtocolError

DWA_CLASS_NAMES = ("DataWithAxes", "DataRaw", "DataActuator", "DataFromPlugins", "DataCalculated")
DWA_STRING_FIELDS = ("name", "units", "source", "dim", "distribution")  # in wire order, after the timestamp
DATA_SOURCES = ("raw", "calculated")
DATA_DIMS = ("Data0D", "Data1D", "Data2D", "DataND")
DATA_DISTRIBUTIONS = ("uniform", "spread")
W = TypeVar("W", bound="WireValue")


def values_equal(left: object, right: object) -> bool:
    """Compare two wire values exactly: same types, dtypes, shapes and bytes.

    NaN equals NaN here, because the question is "would these encode to the same bytes".
    """
    if isinstance(left, np.ndarray) or isinstance(right, np.ndarray):
        return (
            isinstance(left, np.ndarray)
            and isinstance(right, np.ndarray)
            and left.dtype == right.dtype
            and left.dtype.byteorder == right.dtype.byteorder
            and left.shape == right.shape
            and left.tobytes() == right.tobytes()
        )
    if type(left) is not type(right):
        return False
    if isinstance(left, np.generic) and isinstance(right, np.generic):
        return left.tobytes() == right.tobytes()
    if isinstance(left, float) and isinstance(right, float):
        return left == right or (math.isnan(left) and math.isnan(right))
    if isinstance(left, (tuple, list)) and isinstance(right, (tuple, list)):
        return len(left) == len(right) and all(map(values_equal, left, right))
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return list(left) == list(right) and all(values_equal(left[k], right[k]) for k in left)
    if isinstance(left, WireValue):
        return all(
            values_equal(getattr(left, f.name), getattr(right, f.name))
            for f in dataclasses.fields(left)  # type: ignore[arg-type]
        )
    return left == right


class WireValue:
    """Base of the frozen wire objects: exact equality through :func:`values_equal`."""

    def __eq__(self, other: object) -> bool:
        return values_equal(self, other)

    __hash__ = None  # type: ignore[assignment]  # they hold numpy arrays

    @classmethod
    def _assemble(cls: Type[W], fields: Dict[str, Any]) -> W:
        """An instance holding ``fields`` as they are: ``__post_init__`` is not run.

        For ``from_decoded``: the decoder makes every field of the right type by construction
        (str, int, float, tuples, arrays of the dtype it read), so checking them again would
        only cost time, once per frame. A rule added to a ``__post_init__`` must be added to
        its class' ``from_decoded`` too.
        """
        value = object.__new__(cls)
        value.__dict__.update(fields)
        return value


def _check_text(value: object, name: str) -> None:
    if not isinstance(value, str):
        raise LocalProtocolError(f"expected a str, got {type(value).__name__} {value!r}", name)


def _all_text(values: Iterable[object]) -> bool:
    return all(isinstance(value, str) for value in values)


def _check_choice(value: object, choices: Tuple[str, ...], name: str) -> None:
    if value not in choices:
        raise LocalProtocolError(f"expected one of {', '.join(choices)}, got {value!r}", name)


def check_array(value: object, name: str) -> np.ndarray:
    """Return ``value`` if it is an ndarray of an allowed dtype, else raise."""
    if not isinstance(value, np.ndarray):
        raise LocalProtocolError(f"expected a numpy array, got {type(value).__name__}", name)
    if wire_dtype(value.dtype) is None:
        raise LocalProtocolError(f"dtype {value.dtype.str!r} cannot travel; allowed: {describe_allowed_dtypes()}", name)
    return value


def _check_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise LocalProtocolError(f"expected an int, got {type(value).__name__} {value!r}", name)
    return int(value)


@dataclass(frozen=True, eq=False)
class Axis(WireValue):
    """One axis of a DataWithAxes: ``data`` holds its coordinates in ``units`` (1-D).

    ``index`` is the data dimension the axis describes; ``spread_order`` is PyMoDAQ's
    ordering of spread (non-uniform) axes and is 0 otherwise.
    """

    label: str = ""
    units: str = ""
    data: np.ndarray = field(default_factory=lambda: np.zeros(0))
    index: int = 0
    spread_order: int = 0

    def __post_init__(self) -> None:
        _check_text(self.label, "Axis.label")
        _check_text(self.units, "Axis.units")
        if check_array(self.data, "Axis.data").ndim != 1:
            raise LocalProtocolError(f"expected a 1-D array, got shape {self.data.shape}", "Axis.data")
        if type(self.index) is not int or type(self.spread_order) is not int:  # else already as they must be
            object.__setattr__(self, "index", _check_int(self.index, "Axis.index"))
            object.__setattr__(self, "spread_order", _check_int(self.spread_order, "Axis.spread_order"))

    @classmethod
    def from_decoded(cls, fields: Dict[str, Any]) -> Optional[Axis]:
        """The Axis of decoded fields that ``__post_init__`` would keep as they are, else None."""
        data = fields["data"]
        return cls._assemble(fields) if data.ndim == 1 and wire_dtype(data.dtype) is not None else None


@dataclass(frozen=True, eq=False)
class ParameterWithPath(WireValue):
    """A PyMoDAQ parameter as XML (``parameter_to_xml_string``) and its path in a settings tree."""

    path: Tuple[str, ...]
    xml: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", tuple(self.path))
        for position, part in enumerate(self.path):
            _check_text(part, f"ParameterWithPath.path[{position}]")
        _check_text(self.xml, "ParameterWithPath.xml")


def _default_dim(data: Tuple[np.ndarray, ...]) -> str:
    """PyMoDAQ's ``DataDim.from_data_array`` applied to the first array."""
    first = data[0]
    if first.ndim == 1:
        return "Data0D" if first.size == 1 else "Data1D"
    return "Data2D" if first.ndim == 2 else "DataND"


@dataclass(frozen=True, eq=False)
class DataWithAxes(WireValue):
    """Data arrays of one kind with their axes and metadata (PyMoDAQ's ``DataWithAxes``).

    Attributes:
        name: the data name (for a camera, the camera id).
        data: one array per channel, all of the same shape.
        class_name: the PyMoDAQ flavour: DataWithAxes, DataRaw, DataActuator,
            DataFromPlugins or DataCalculated.
        units: physical units of the values ('' when none).
        source, dim, distribution: PyMoDAQ enum names; ``dim`` is derived from the
            first array as PyMoDAQ does when left empty.
        labels: channel names; padded with CH00, CH01 … as PyMoDAQ does.
        extra_attributes: named extra values (scalars, strings, arrays, lists …), in order.
        timestamp: seconds since the epoch.
    """

    name: str
    data: Tuple[np.ndarray, ...]
    class_name: str = "DataWithAxes"
    units: str = ""
    source: str = "raw"
    dim: str = ""
    distribution: str = "uniform"
    labels: Tuple[str, ...] = ()
    origin: str = ""
    nav_indexes: Tuple[int, ...] = ()
    axes: Tuple[Axis, ...] = ()
    errors: Tuple[np.ndarray, ...] = ()
    extra_attributes: Mapping[str, Any] = field(default_factory=dict)
    timestamp: float = field(default_factory=time.time)

    # Decoding builds one of these per frame: each check costs little when it passes, and
    # the text naming the field is only made for the error.
    def __post_init__(self) -> None:
        kind = self.class_name
        if kind not in DWA_CLASS_NAMES:
            _check_choice(kind, DWA_CLASS_NAMES, f"{kind}.class_name")
        if not _all_text((self.name, self.units, self.origin)):
            for name in ("name", "units", "origin"):
                _check_text(getattr(self, name), f"{kind}.{name}")
        self._freeze_sequences()
        if not self.data:
            raise LocalProtocolError("expected at least one array", f"{kind}.data")
        self._check_arrays(self.data, "data")
        if self.errors:
            self._check_arrays(self.errors, "errors")
            if len(self.errors) != len(self.data) or self.errors[0].shape != self.data[0].shape:
                raise LocalProtocolError(
                    f"expected {len(self.data)} arrays of shape {self.data[0].shape}, "
                    f"got {len(self.errors)} of shape {self.errors[0].shape}",
                    f"{kind}.errors",
                )
        if not self.dim:
            object.__setattr__(self, "dim", _default_dim(self.data))
        if not (self.source in DATA_SOURCES and self.dim in DATA_DIMS and self.distribution in DATA_DISTRIBUTIONS):
            _check_choice(self.source, DATA_SOURCES, f"{kind}.source")
            _check_choice(self.dim, DATA_DIMS, f"{kind}.dim")
            _check_choice(self.distribution, DATA_DISTRIBUTIONS, f"{kind}.distribution")
        self._check_labels_axes_extras()
        if type(self.timestamp) is not float:
            if isinstance(self.timestamp, bool) or not isinstance(self.timestamp, (int, float, np.number)):
                raise LocalProtocolError(f"expected a number of seconds, got {self.timestamp!r}", f"{kind}.timestamp")
            object.__setattr__(self, "timestamp", float(self.timestamp))

    def _freeze_sequences(self) -> None:
        for name in ("data", "labels", "nav_indexes", "axes", "errors"):
            value = getattr(self, name)
            if type(value) is tuple:
                continue
            if isinstance(value, np.ndarray) or not isinstance(value, (tuple, list)):
                raise LocalProtocolError(
                    f"expected a tuple or list, got {type(value).__name__}", f"{self.class_name}.{name}"
                )
            object.__setattr__(self, name, tuple(value))
        extras = self.extra_attributes
        if type(extras) is not dict and not isinstance(extras, Mapping):  # dicts skip the slow ABC check
            raise LocalProtocolError("expected a mapping of names to values", f"{self.class_name}.extra_attributes")
        object.__setattr__(self, "extra_attributes", MappingProxyType(dict(extras)))

    def _check_arrays(self, arrays: Tuple[np.ndarray, ...], name: str) -> None:
        for position, array in enumerate(arrays):
            if not isinstance(array, np.ndarray) or wire_dtype(array.dtype) is None:
                check_array(array, f"{self.class_name}.{name}[{position}]")
            if array.shape != arrays[0].shape:
                raise LocalProtocolError(
                    f"shape {array.shape} differs from the first array's {arrays[0].shape}",
                    f"{self.class_name}.{name}[{position}]",
                )

    def _check_labels_axes_extras(self) -> None:
        kind = self.class_name
        if not _all_text(self.labels):
            for position, label in enumerate(self.labels):
                _check_text(label, f"{kind}.labels[{position}]")
        if len(self.labels) < len(self.data):
            padding = tuple(f"CH{n:02d}" for n in range(len(self.labels), len(self.data)))
            object.__setattr__(self, "labels", self.labels + padding)
        if any(type(n) is not int for n in self.nav_indexes):
            nav_indexes = tuple(_check_int(n, f"{kind}.nav_indexes[{i}]") for i, n in enumerate(self.nav_indexes))
            object.__setattr__(self, "nav_indexes", nav_indexes)
        for position, axis in enumerate(self.axes):
            if not isinstance(axis, Axis):
                raise LocalProtocolError(f"expected an Axis, got {type(axis).__name__}", f"{kind}.axes[{position}]")
        if not _all_text(self.extra_attributes):
            for key in self.extra_attributes:
                _check_text(key, f"{kind}.extra_attributes key")

    @classmethod
    def from_decoded(cls: Type[W], fields: Dict[str, Any]) -> Optional[W]:
        """The value of decoded fields (extra attributes as a dict) when ``__post_init__`` would
        keep them as they are, as it does a camera frame's; else None."""
        data = fields["data"]
        if not (
            len(data) == 1
            and fields["class_name"] in DWA_CLASS_NAMES
            and not fields["errors"]
            and len(fields["labels"]) >= 1
            and fields["source"] in DATA_SOURCES
            and fields["dim"] in DATA_DIMS
            and fields["distribution"] in DATA_DISTRIBUTIONS
            and wire_dtype(data[0].dtype) is not None
        ):
            return None
        value = cls._assemble(fields)
        value.__dict__["extra_attributes"] = MappingProxyType(fields["extra_attributes"])  # a dict nobody else holds
        return value

    @property
    def shape(self) -> Tuple[int, ...]:
        """Shape of each data array."""
        return tuple(self.data[0].shape)


@dataclass(frozen=True, eq=False)
class DataActuator(DataWithAxes):
    """An actuator position (PyMoDAQ's ``DataActuator``): one value in ``units``."""

    class_name: str = "DataActuator"

    def __post_init__(self) -> None:
        if self.class_name != "DataActuator":
            raise LocalProtocolError(f"expected 'DataActuator', got {self.class_name!r}", "DataActuator.class_name")
        super().__post_init__()

    @classmethod
    def of(cls, value: float, units: str = "", name: str = "actuator", **fields: Any) -> DataActuator:
        """Build the usual one-value position, e.g. ``DataActuator.of(12.5, 'µm', 'X')``."""
        return cls(name=name, data=(np.array([float(value)]),), units=units, **fields)

    @property
    def value(self) -> float:
        """The position as a float (first element of the first array)."""
        return float(self.data[0].reshape(-1)[0].real)


@dataclass(frozen=True, eq=False)
class DataToExport(WireValue):
    """What a detector emits: named DataWithAxes objects (PyMoDAQ's ``DataToExport``).

    PyMoDAQ 4.4 does not put a DataToExport's own extra attributes on the wire.
    """

    name: str
    data: Tuple[DataWithAxes, ...] = ()
    timestamp: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        _check_text(self.name, "DataToExport.name")
        if not isinstance(self.data, (tuple, list)):
            raise LocalProtocolError(f"expected a tuple or list, got {type(self.data).__name__}", "DataToExport.data")
        object.__setattr__(self, "data", tuple(self.data))
        for position, dwa in enumerate(self.data):
            if not isinstance(dwa, DataWithAxes):
                raise LocalProtocolError(
                    f"expected a DataWithAxes, got {type(dwa).__name__}", f"DataToExport.data[{position}]"
                )
        if isinstance(self.timestamp, bool) or not isinstance(self.timestamp, (int, float, np.number)):
            raise LocalProtocolError(f"expected a number of seconds, got {self.timestamp!r}", "DataToExport.timestamp")
        object.__setattr__(self, "timestamp", float(self.timestamp))

    @classmethod
    def from_decoded(cls, name: str, data: Tuple[DataWithAxes, ...], timestamp: float) -> DataToExport:
        """The value of decoded fields, which ``__post_init__`` always keeps as they are."""
        return cls._assemble({"name": name, "data": data, "timestamp": timestamp})


Scalar = Union[bool, int, float, complex, np.generic]
"""A scalar on the wire; numpy scalars keep their dtype (``np.uint16(7)`` travels as '<u2')."""

Position = Union[DataActuator, float]
"""An actuator position: a DataActuator (PyMoDAQ 4.1–4.4) or a bare float (2.x–4.0)."""
