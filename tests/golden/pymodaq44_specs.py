"""Plain-JSON "specs" of the objects PyMoDAQ 4.4.11's serializer handles, and their conversion.

Runs only in the PyMoDAQ 4.4.11 side environment (see tests/side_env.py); shared by
``generate_pymodaq44_vectors.py`` (golden vectors) and ``pymodaq44_roundtrip.py`` (live check).
Importing it isolates PyMoDAQ's config folders first (``side_env.isolate_pymodaq``).

Spec format (every spec is a JSON object with a ``"type"``; lists keep their order)::

    {"type": "string", "value": "Done"}
    {"type": "bytes", "hex": "616263"}
    {"type": "scalar", "dtype": "<f8", "value": 1.5}      # dtype = np.array([x]).dtype.descr[0][1]
        # value: JSON bool for "|b1", int for i/u kinds, float for f, [re, im] for c kinds.
        # Rebuilt as a Python float/int/bool/complex for "<f8"/"<i8"/"|b1"/"<c16", else as a numpy
        # scalar of that dtype. Inside a list a "|b1" scalar (a Python bool) is tagged 'bool'.
    {"type": "array", "dtype": "<u2", "shape": [2, 3], "values": [[0, 1, 2], [3, 4, 5]]}
        # values = ndarray.tolist() (complex: a trailing [re, im] level); dtype keeps the byte order
    {"type": "list", "items": [<spec>, ...]}
    {"type": "axis", "label": "x", "units": "um", "data": <array spec of Axis.get_data()>,
     "index": 0, "spread_order": 0}
    {"type": "dwa", "class": "DataFromPlugins", "timestamp": 1.7e9, "name": "Camera", "units": "",
     "source": "raw", "dim": "Data2D", "distribution": "uniform", "data": [<array spec>, ...],
     "labels": ["CH00"], "origin": "ScopeOne", "nav_indexes": [], "axes": [<axis spec>, ...],
     "errors": [<array spec>, ...] (or [] for None), "extra_attributes": [{"name": "frame_index",
     "value": <spec>}, ...]}
    {"type": "dte", "name": "ScopeOne", "timestamp": 1700000001.25, "data": [<dwa spec>, ...]}
    {"type": "message", "parts": [{"type": "string", "value": "move_abs"}, <dwa spec>]}
        # bytes = concatenation of Serializer(part).to_bytes(), as Socket.check_sended_with_serializer

Timestamps are Python floats (serialized as '<f8' scalars).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any


def _isolate_pymodaq() -> None:
    """Load tests/side_env.py (stdlib only) by path and isolate PyMoDAQ before importing it."""
    side_env = sys.modules.get("scopeone_side_env")
    if side_env is None:
        spec = importlib.util.spec_from_file_location(
            "scopeone_side_env", Path(__file__).resolve().parents[1] / "side_env.py"
        )
        if spec is None or spec.loader is None:
            raise ImportError("cannot load tests/side_env.py")
        side_env = importlib.util.module_from_spec(spec)
        sys.modules["scopeone_side_env"] = side_env
        spec.loader.exec_module(side_env)
    side_env.isolate_pymodaq()


def check_isolated() -> None:
    """Raise if PyMoDAQ was imported without the config-folder isolation of tests/side_env.py."""
    side_env = sys.modules.get("scopeone_side_env")
    if side_env is None or not side_env.pymodaq_isolated():
        raise RuntimeError("PyMoDAQ is not isolated: import pymodaq44_specs before pymodaq")


_isolate_pymodaq()

import numbers  # noqa: E402

import numpy as np  # noqa: E402
from pymodaq.utils import data as data_mod  # noqa: E402
from pymodaq.utils.data import Axis, DataToExport, DataWithAxes, DwaType  # noqa: E402
from pymodaq.utils.tcp_ip.serializer import DeSerializer, Serializer, SocketString  # noqa: E402

Spec = dict[str, Any]

PYTHON_SCALARS: dict[str, type] = {"<f8": float, "<i8": int, "|b1": bool, "<c16": complex}

# Payload read after each command, as 4.4's TCPServer/TCPClient read it (tcp_server_client.py,
# viewer/move utility classes): "dte"/"dwa" fall back to the 2.x-4.0 "list"/"scalar" payloads.
MESSAGE_PAYLOADS: dict[str, tuple[str, ...]] = {
    "GRABBER": (),
    "ACTUATOR": (),
    "Send Data 0D": (),
    "Send Data 1D": (),
    "Send Data 2D": (),
    "Send Data ND": (),
    "move_home": (),
    "get_actuator_value": (),
    "check_position": (),
    "stop_motion": (),
    "Quit": (),
    "Infos": ("string",),
    "Info": ("string", "string"),
    "Info_xml": ("list", "string"),
    "set_info": ("list", "string"),
    "Done": ("dte",),
    "move_abs": ("dwa",),
    "move_rel": ("dwa",),
    "position_is": ("dwa",),
    "move_done": ("dwa",),
}
LEGACY_FALLBACK = {"dte": "list", "dwa": "scalar"}

# --------------------------------------------------------------------------- object -> spec


def to_spec(obj: Any) -> Spec:
    """Spec of any object 4.4's Serializer handles (dispatch order of type_and_object_serialization)."""
    if isinstance(obj, DataWithAxes):
        return dwa_to_spec(obj)
    if isinstance(obj, Axis):
        return axis_to_spec(obj)
    if isinstance(obj, np.ndarray):
        return array_to_spec(obj)
    if isinstance(obj, bytes):
        return {"type": "bytes", "hex": obj.hex()}
    if isinstance(obj, str):
        return {"type": "string", "value": obj}
    if isinstance(obj, (numbers.Number, np.bool_)):  # 4.4 decodes a bare '|b1' scalar as np.bool_
        return scalar_to_spec(obj)
    if isinstance(obj, list):
        return {"type": "list", "items": [to_spec(item) for item in obj]}
    if isinstance(obj, DataToExport):
        return dte_to_spec(obj)
    raise TypeError(f"no spec for {type(obj).__name__}")


def message_to_spec(parts: list[Any]) -> Spec:
    """Spec of a message given as the list of objects sent one after the other."""
    return {"type": "message", "parts": [to_spec(part) for part in parts]}


def scalar_to_spec(value: Any) -> Spec:
    """Spec of a scalar; its dtype is the one Serializer.scalar_serialization writes."""
    array = np.array([value])
    item = array[0].item()
    if isinstance(item, complex):
        item = [item.real, item.imag]
    return {"type": "scalar", "dtype": array.dtype.descr[0][1], "value": item}


def array_to_spec(array: np.ndarray) -> Spec:
    """Spec of an ndarray (dtype with byte order, shape, nested values)."""
    values = np.stack([array.real, array.imag], axis=-1) if array.dtype.kind == "c" else array
    return {"type": "array", "dtype": array.dtype.descr[0][1], "shape": list(array.shape), "values": values.tolist()}


def axis_to_spec(axis: Axis) -> Spec:
    """Spec of an Axis; ``data`` is ``axis.get_data()``, what goes on the wire."""
    return {
        "type": "axis",
        "label": axis.label,
        "units": axis.units,
        "data": array_to_spec(axis.get_data()),
        "index": int(axis.index),
        "spread_order": int(axis.spread_order),
    }


def dwa_to_spec(dwa: DataWithAxes) -> Spec:
    """Spec of a DataWithAxes flavour, fields in 4.4's wire order."""
    errors = dwa.errors if dwa.errors is not None else []
    return {
        "type": "dwa",
        "class": type(dwa).__name__,
        "timestamp": float(dwa.timestamp),
        "name": dwa.name,
        "units": dwa.units,
        "source": dwa.source.name,
        "dim": dwa.dim.name,
        "distribution": dwa.distribution.name,
        "data": [array_to_spec(a) for a in dwa.data],
        "labels": list(dwa.labels),
        "origin": dwa.origin,
        "nav_indexes": [int(index) for index in dwa.nav_indexes],
        "axes": [axis_to_spec(axis) for axis in dwa.axes],
        "errors": [array_to_spec(error) for error in errors],
        "extra_attributes": [{"name": name, "value": to_spec(getattr(dwa, name))} for name in dwa.extra_attributes],
    }


def dte_to_spec(dte: DataToExport) -> Spec:
    """Spec of a DataToExport (4.4 does not serialize its extra attributes)."""
    return {
        "type": "dte",
        "name": dte.name,
        "timestamp": float(dte.timestamp),
        "data": [dwa_to_spec(dwa) for dwa in dte.data],
    }


# --------------------------------------------------------------------------- spec -> object


def from_spec(spec: Spec) -> Any:
    """Rebuild the 4.4 object a spec describes (not for messages: see message_from_spec)."""
    builders = {
        "string": lambda s: s["value"],
        "bytes": lambda s: bytes.fromhex(s["hex"]),
        "scalar": scalar_from_spec,
        "array": array_from_spec,
        "list": lambda s: [from_spec(item) for item in s["items"]],
        "axis": axis_from_spec,
        "dwa": dwa_from_spec,
        "dte": dte_from_spec,
    }
    try:
        builder = builders[spec["type"]]
    except KeyError:
        raise ValueError(f"unknown spec type {spec.get('type')!r}") from None
    return builder(spec)


def message_from_spec(spec: Spec) -> list[Any]:
    """The objects of a message spec, in sending order."""
    return [from_spec(part) for part in spec["parts"]]


def scalar_from_spec(spec: Spec) -> Any:
    """A Python scalar for the four Python dtypes, else a numpy scalar of the spec's dtype."""
    dtype = np.dtype(spec["dtype"])
    value = complex(*spec["value"]) if dtype.kind == "c" else spec["value"]
    python_type = PYTHON_SCALARS.get(spec["dtype"])
    return python_type(value) if python_type is not None else dtype.type(value)


def array_from_spec(spec: Spec) -> np.ndarray:
    """The ndarray a spec describes, with the spec's dtype (byte order included) and shape."""
    dtype = np.dtype(spec["dtype"])
    if dtype.kind == "c":
        pairs = np.array(spec["values"], dtype=float).reshape([*spec["shape"], 2])
        array = (pairs[..., 0] + 1j * pairs[..., 1]).astype(dtype)
    else:
        array = np.array(spec["values"], dtype=dtype)
    return array.reshape(spec["shape"])


def axis_from_spec(spec: Spec) -> Axis:
    """An Axis built as 4.4's DeSerializer.axis_deserialization builds it."""
    return Axis(
        spec["label"],
        spec["units"],
        data=array_from_spec(spec["data"]),
        index=spec["index"],
        spread_order=spec["spread_order"],
    )


def dwa_from_spec(spec: Spec) -> DataWithAxes:
    """A DataWithAxes flavour built as 4.4's DeSerializer.dwa_deserialization builds it."""
    if spec["class"] not in DwaType.names():
        raise ValueError(f"{spec['class']!r} is not a 4.4 DwaType")
    dwa = getattr(data_mod, spec["class"])(
        spec["name"],
        units=spec["units"],
        source=spec["source"],
        dim=spec["dim"],
        distribution=spec["distribution"],
        data=[array_from_spec(a) for a in spec["data"]],
        labels=list(spec["labels"]),
        origin=spec["origin"],
        nav_indexes=tuple(spec["nav_indexes"]),
        axes=[axis_from_spec(axis) for axis in spec["axes"]],
    )
    if spec["errors"]:
        dwa.errors = [array_from_spec(error) for error in spec["errors"]]
    dwa.extra_attributes = [attribute["name"] for attribute in spec["extra_attributes"]]
    for attribute in spec["extra_attributes"]:
        setattr(dwa, attribute["name"], from_spec(attribute["value"]))
    dwa.timestamp = float(spec["timestamp"])
    return dwa


def dte_from_spec(spec: Spec) -> DataToExport:
    """A DataToExport built as 4.4's DeSerializer.dte_deserialization builds it."""
    dte = DataToExport(spec["name"], data=[dwa_from_spec(dwa) for dwa in spec["data"]])
    dte.timestamp = float(spec["timestamp"])
    return dte


# --------------------------------------------------------------------------- bytes


def encode_spec(spec: Spec) -> bytes:
    """Bytes 4.4 sends for a spec: Serializer(obj).to_bytes(), concatenated for a message."""
    if spec["type"] == "message":
        return b"".join(Serializer(part).to_bytes() for part in message_from_spec(spec))
    return Serializer(from_spec(spec)).to_bytes()


class StrictSocketString(SocketString):
    """4.4's SocketString, but a short read raises and the reader can peek and check the end."""

    def check_received_length(self, length: int) -> bytes:
        """Consume exactly ``length`` bytes or raise EOFError."""
        if length > len(self._bytes_string):
            raise EOFError(f"need {length} bytes, only {len(self._bytes_string)} left")
        return super().check_received_length(length)

    def peek_string(self) -> str | None:
        """The string that a string_deserialization would read now, without consuming it."""
        saved = self._bytes_string
        try:
            return DeSerializer(self).string_deserialization()
        except (EOFError, UnicodeDecodeError, AssertionError):
            return None
        finally:
            self._bytes_string = saved

    def remaining(self) -> int:
        """Number of bytes not consumed yet."""
        return len(self._bytes_string)


_READERS = {
    "string": DeSerializer.string_deserialization,
    "scalar": DeSerializer.scalar_deserialization,
    "array": DeSerializer.ndarray_deserialization,
    "list": DeSerializer.list_deserialization,
    "axis": DeSerializer.axis_deserialization,
    "dwa": DeSerializer.dwa_deserialization,
    "dte": DeSerializer.dte_deserialization,
    "legacy_list": DeSerializer.list_deserialization,
    "legacy_scalar": DeSerializer.scalar_deserialization,
}


def decode(kind: str, data: bytes) -> Spec:
    """Decode ``data`` of a case kind with 4.4's DeSerializer and return the decoded object's spec.

    Raises ValueError if bytes are left over, EOFError if the data is too short.
    """
    stream = StrictSocketString(data)
    reader = DeSerializer(stream)
    if kind == "message":
        spec = message_to_spec(_read_message(reader, stream))
    else:
        try:
            read = _READERS[kind]
        except KeyError:
            raise ValueError(f"unknown kind {kind!r}") from None
        spec = to_spec(read(reader))
    if stream.remaining():
        raise ValueError(f"{stream.remaining()} bytes left after decoding a {kind}")
    return spec


def _read_message(reader: DeSerializer, stream: StrictSocketString) -> list[Any]:
    """Read a command and its payload as 4.4 does; a 2.x-4.0 payload is told apart by peeking."""
    command = reader.string_deserialization()
    try:
        payload_kinds = MESSAGE_PAYLOADS[command]
    except KeyError:
        raise ValueError(f"unknown command {command!r}") from None
    parts: list[Any] = [command]
    for payload_kind in payload_kinds:
        parts.append(_READERS[_payload_reader(payload_kind, stream.peek_string())](reader))
    return parts


def _payload_reader(payload_kind: str, next_string: str | None) -> str:
    """Reader for a payload slot: the 4.4 object, or its legacy fallback if the class name is absent."""
    if payload_kind == "dte" and next_string != "DataToExport":
        return LEGACY_FALLBACK[payload_kind]
    if payload_kind == "dwa" and next_string not in DwaType.names():
        return LEGACY_FALLBACK[payload_kind]
    return payload_kind


def normalized(spec: Any) -> Any:
    """The spec as it reads back from JSON (tuples become lists), for comparisons."""
    return json.loads(json.dumps(spec, allow_nan=False))
