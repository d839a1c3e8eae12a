"""Build this project's codec objects from the golden specs (see pymodaq44_specs.py for the format).

This is the test's own, independent reading of a spec: it shares no code with the codec.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List

import numpy as np

from pymodaq_plugins_scopeone.protocol import (
    Axis,
    ClientType,
    DataActuator,
    DataReady,
    DataToExport,
    DataWithAxes,
    GetActuatorValue,
    Hello,
    Info,
    Infos,
    InfoXml,
    Message,
    MoveAbs,
    MoveDone,
    MoveHome,
    MoveRel,
    PositionIs,
    Quit,
    SendData,
    SetInfo,
    StopMotion,
)

Spec = Dict[str, Any]
PYTHON_SCALARS = {"<f8": float, "<i8": int, "|b1": bool, "<c16": complex}

# The value kind our ValueDecoder reads for each golden kind.
DECODER_KIND = {"legacy_list": "list", "legacy_scalar": "scalar"}


def array_from_spec(spec: Spec) -> np.ndarray:
    dtype = np.dtype(spec["dtype"])
    values = spec["values"]
    if dtype.kind == "c":
        values = np.asarray(values, dtype=float)
        values = values[..., 0] + 1j * values[..., 1] if values.size else values.reshape(spec["shape"])
    return np.asarray(values, dtype=dtype).reshape(spec["shape"])


def scalar_from_spec(spec: Spec) -> Any:
    value = spec["value"]
    if spec["dtype"][1] == "c":
        value = complex(*value)
    python_type = PYTHON_SCALARS.get(spec["dtype"])
    return python_type(value) if python_type else np.dtype(spec["dtype"]).type(value)


def value_from_spec(spec: Spec) -> Any:
    kind = spec["type"]
    if kind == "string":
        return spec["value"]
    if kind == "bytes":
        return bytes.fromhex(spec["hex"])
    if kind == "scalar":
        return scalar_from_spec(spec)
    if kind == "array":
        return array_from_spec(spec)
    if kind == "list":
        return tuple(value_from_spec(item) for item in spec["items"])
    if kind == "axis":
        return Axis(spec["label"], spec["units"], array_from_spec(spec["data"]), spec["index"], spec["spread_order"])
    if kind == "dwa":
        return dwa_from_spec(spec)
    if kind == "dte":
        return DataToExport(spec["name"], tuple(dwa_from_spec(d) for d in spec["data"]), timestamp=spec["timestamp"])
    raise ValueError(f"no value for spec type {kind!r}")


def dwa_from_spec(spec: Spec) -> DataWithAxes:
    fields = {
        "name": spec["name"],
        "data": tuple(array_from_spec(a) for a in spec["data"]),
        "units": spec["units"],
        "source": spec["source"],
        "dim": spec["dim"],
        "distribution": spec["distribution"],
        "labels": tuple(spec["labels"]),
        "origin": spec["origin"],
        "nav_indexes": tuple(spec["nav_indexes"]),
        "axes": tuple(value_from_spec(a) for a in spec["axes"]),
        "errors": tuple(array_from_spec(a) for a in spec["errors"]),
        "extra_attributes": {e["name"]: value_from_spec(e["value"]) for e in spec["extra_attributes"]},
        "timestamp": spec["timestamp"],
    }
    if spec["class"] == "DataActuator":
        return DataActuator(**fields)
    return DataWithAxes(class_name=spec["class"], **fields)


def message_from_spec(spec: Spec) -> Message:
    command, *rest = spec["parts"]
    name = command["value"]
    payload: List[Any] = [value_from_spec(part) for part in rest]
    simple = {"move_home": MoveHome, "stop_motion": StopMotion, "Quit": Quit}
    if name in ("GRABBER", "ACTUATOR"):
        return Hello(ClientType(name))
    if name.startswith("Send Data "):
        return SendData(name[len("Send Data ") :])
    if name in simple:
        return simple[name]()
    if name in ("get_actuator_value", "check_position"):
        return GetActuatorValue(legacy_name=name == "check_position")
    positions = {"move_abs": MoveAbs, "move_rel": MoveRel, "position_is": PositionIs, "move_done": MoveDone}
    if name in positions:
        return positions[name](payload[0])
    if name in ("set_info", "Info_xml"):
        return (SetInfo if name == "set_info" else InfoXml)(payload[0], payload[1])
    if name == "Infos":
        return Infos(payload[0])
    if name == "Info":
        return Info(payload[0], payload[1])
    if name == "Done":
        return DataReady(payload[0])
    raise ValueError(f"no message for command {name!r}")


def as_decoded(value: Any, tagged: bool = False) -> Any:
    """``value`` as our decoder returns it: Python numbers become numpy scalars of their wire
    dtype ('<i8', '<f8', '<c16'), except bools inside lists and attributes, which travel
    with the 'bool' tag and come back as Python bools."""
    if isinstance(value, bool):
        return value if tagged else np.bool_(value)
    if isinstance(value, int):
        return np.int64(value)
    if isinstance(value, float):
        return np.float64(value)
    if isinstance(value, complex):
        return np.complex128(value)
    if isinstance(value, tuple):
        return tuple(as_decoded(item, tagged=True) for item in value)
    if isinstance(value, DataWithAxes):
        extras = {name: as_decoded(item, tagged=True) for name, item in value.extra_attributes.items()}
        return dataclasses.replace(value, extra_attributes=extras)
    if isinstance(value, DataToExport):
        return dataclasses.replace(value, data=tuple(as_decoded(d) for d in value.data))
    if isinstance(value, DataReady):
        return DataReady(as_decoded(value.data))
    return value
