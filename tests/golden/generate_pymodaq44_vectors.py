"""Golden test vectors: bytes written by the real PyMoDAQ 4.4.11 ``Serializer``.

Regenerate, from the repository root with the main environment (builds the side environment from
resources/side-env/pymodaq44-requirements.txt on first use, then runs this script in it)::

    python -m tests.golden.regenerate           # rewrites tests/golden/pymodaq44_vectors.json
    python -m tests.golden.regenerate --check   # exit 1 if the committed file is not what 4.4 writes

or directly with the side environment's Python (PyMoDAQ's config folders go to a temporary HOME)::

    .cache/side-env-pymodaq44-<hash>/bin/python tests/golden/generate_pymodaq44_vectors.py [--output PATH]

Output (deterministic: fixed timestamps, no randomness, sorted keys)::

    {"generator": "tests/golden/generate_pymodaq44_vectors.py", "pymodaq": "4.4.11", "numpy": "1.26.4",
     "cases": {"<name>": {"kind": "<kind>", "hex": "<serialized bytes>", "spec": <spec>,
                          "decoded_spec": <spec>,   # only if 4.4's DeSerializer gives back something else
                          "note": "<text>"}}}       # only where useful

Kinds: string, scalar, array, list, axis, dwa, dte, message, legacy_list, legacy_scalar. Specs are
described in pymodaq44_specs.py. A message's hex is the concatenation of
``Serializer(part).to_bytes()`` for each part, as ``Socket.check_sended_with_serializer`` sends them.
Legacy (2.x-4.0) payloads are produced with 4.4.11's Serializer too: for strings, scalars, arrays and
typed lists its bytes are identical to the legacy ``Socket``'s (reference §1.3).

Every case is self-checked: spec -> 4.4 object -> bytes gives the same hex, spec -> object -> spec
gives the same spec, and 4.4's DeSerializer decodes the hex (``decoded_spec`` records any difference).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pymodaq44_specs as specs  # first: isolates PyMoDAQ's config folders, then imports it

specs.check_isolated()

import numpy as np  # noqa: E402
from pymodaq.utils.data import (  # noqa: E402
    Axis,
    DataActuator,
    DataCalculated,
    DataFromPlugins,
    DataRaw,
    DataToExport,
    DataWithAxes,
)
from pymodaq.utils.parameter import Parameter, ioxml  # noqa: E402
from pymodaq.utils.tcp_ip.serializer import Serializer  # noqa: E402

GENERATOR = "tests/golden/generate_pymodaq44_vectors.py"
DEFAULT_OUTPUT = Path(__file__).resolve().with_name("pymodaq44_vectors.json")
TIMESTAMP = 1.7e9
LEGACY_NOTE = (
    "2.x-4.0 legacy payload, produced with PyMoDAQ 4.4.11's Serializer: its strings, "
    "scalars, arrays and typed lists are byte-identical to the legacy Socket's"
)
XML_NOTE = (
    "PyMoDAQ passes the bytes of ioxml.parameter_to_xml_string; Serializer writes bytes as "
    "U32(len) + raw, the same bytes as the UTF-8 string given in the spec"
)


class Case(NamedTuple):
    """One golden case: its kind, the object (a list of parts for a message) and an optional note."""

    kind: str
    obj: Any
    note: str = ""


def stamp(obj: Any, timestamp: float = TIMESTAMP) -> Any:
    """Fix the timestamp of a DataWithAxes/DataToExport (returns it)."""
    obj.timestamp = timestamp
    return obj


# --------------------------------------------------------------------------- primitives


def string_cases() -> dict[str, Case]:
    """Strings, including the empty one and non-ASCII UTF-8."""
    values = {
        "done": "Done",
        "grabber": "GRABBER",
        "actuator": "ACTUATOR",
        "send_data_2d": "Send Data 2D",
        "empty": "",
        "unicode": "µm ünïcode",
    }
    return {f"string_{name}": Case("string", value) for name, value in values.items()}


def scalar_cases() -> dict[str, Case]:
    """Python and numpy scalars; the dtype is whatever np.array([x]) gives."""
    values = {
        "float_1_5": 1.5,
        "float_125_1": 125.1,
        "int_3": 3,
        "int_minus_5": -5,
        "bool_true": True,
        "float32_1_5": np.float32(1.5),
        "uint16_7": np.uint16(7),
        "complex_1_2j": 1 + 2j,
    }
    return {f"scalar_{name}": Case("scalar", value) for name, value in values.items()}


def array_cases() -> dict[str, Case]:
    """ndarrays of several dtypes, byte orders and dimensions."""
    arrays = {
        "u1_2x3": np.array([[0, 1, 2], [253, 254, 255]], dtype=np.uint8),
        "u2_2x3_arange": np.arange(6, dtype=np.uint16).reshape(2, 3),
        "u4_1d": np.array([0, 1, 65536, 4294967295], dtype=np.uint32),
        "f8_1d": np.array([0.0, -1.5, 3.25, 125.1]),
        "f8_big_endian_1d": np.array([1.5, -2.0, 3.0], dtype=">f8"),
        "i2_3d_2x3x4": (np.arange(24, dtype=np.int16) - 12).reshape(2, 3, 4),
        "bool_1d": np.array([True, False, True]),
        "f8_1x4": np.array([[1.0, 2.0, 3.0, 4.0]]),
        "f8_0d": np.array(5.0),
        "f8_empty": np.zeros(0),
        "c8_1d": np.array([1 + 2j, -0.5j], dtype=np.complex64),
    }
    return {f"array_{name}": Case("array", value) for name, value in arrays.items()}


def list_cases() -> dict[str, Case]:
    """Typed lists (each element tagged), including nested, empty and object lists."""
    lists = {
        "strings": ["Hello", "World"],
        "array_string_float": [np.arange(6, dtype=np.uint16).reshape(2, 3), "ab", 2.0],
        "nested": [1, [2.0, "x"]],
        "bool_int": [True, 3],
        "empty": [],
        "bytes": [b"abc"],
        "objects": [
            Axis("x", "mm", data=np.array([0.0, 1.0, 3.0]), index=0),
            stamp(DataActuator(data=1.5, units="mm")),
            stamp(DataToExport("empty", data=[])),
        ],
    }
    return {f"list_{name}": Case("list", value) for name, value in lists.items()}


def axis_cases() -> dict[str, Case]:
    """Axis objects; a linear axis is sent as its get_data()."""
    axes = {
        "x_um_index0": Axis("x", "um", data=np.array([0.0, 1.0, 2.0]), index=0),
        "index1_spread_order1": Axis("time", "s", data=np.array([0.0, 1.0, 2.5]), index=1, spread_order=1),
        "linear_scaling_offset": Axis("y", "µm", scaling=0.25, offset=-1.5, size=5, index=0),
    }
    return {f"axis_{name}": Case("axis", value) for name, value in axes.items()}


# --------------------------------------------------------------------------- data objects


def actuator_mm() -> DataActuator:
    """DataActuator(data=1.5, units='mm')."""
    return stamp(DataActuator(data=1.5, units="mm"))


def camera_frame() -> DataFromPlugins:
    """A 3x4 uint16 camera frame with y/x axes and extra attributes of every value kind."""
    frame = np.array([[0, 1, 2, 3], [100, 200, 300, 400], [65533, 65534, 65535, 7]], dtype=np.uint16)
    y_axis = Axis("y", "µm", scaling=0.5, offset=-0.5, size=3, index=0)
    x_axis = Axis("x", "pixels", data=np.array([0.0, 1.0, 2.0, 4.0]), index=1)
    dfp = DataFromPlugins(
        "Camera",
        data=[frame],
        units="",
        labels=["CH00"],
        axes=[y_axis, x_axis],
        frame_index=42,
        exposure_ms=12.5,
        camera="ScopeOne",
        roi=[0, 0, 4, 3],
        roi_array=np.array([0, 0, 4, 3], dtype=np.uint16),
        saturated=False,
    )
    return stamp(dfp)


def spectrum_with_errors() -> DataFromPlugins:
    """Two 1-D float channels with error arrays and a wavelength axis."""
    a = np.array([1.0, 2.0, 4.0, 8.0])
    b = np.array([0.5, 0.25, 0.125, 0.0625])
    axis = Axis("wavelength", "nm", data=np.array([500.0, 510.0, 530.0, 560.0]), index=0)
    dfp = DataFromPlugins(
        "Spectrum",
        data=[a, b],
        labels=["a", "b"],
        units="V",
        axes=[axis],
        errors=[np.full(4, 0.5), np.array([0.1, 0.2, 0.3, 0.4])],
    )
    return stamp(dfp, 1700000001.25)


def raw_with_nav() -> DataRaw:
    """1-D DataRaw whose only axis is a navigation axis."""
    axis = Axis("position", "mm", data=np.array([0.0, 1.0, 3.0]), index=0)
    return stamp(
        DataRaw("scan", data=[np.array([0.5, 1.5, 2.5])], units="V", nav_indexes=(0,), axes=[axis]), 1700000002.5
    )


def calculated_0d() -> DataCalculated:
    """0-D DataCalculated."""
    return stamp(DataCalculated("mean", data=[np.array([2.5])], units="V", origin="roi_manager"), 1700000003.75)


def plain_dwa() -> DataWithAxes:
    """The base DataWithAxes class (allowed by 4.4's DwaType), int32 data."""
    return stamp(DataWithAxes("plain", source="raw", data=[np.array([1, 2, 3], dtype=np.int32)]))


def dwa_cases() -> dict[str, Case]:
    """DataWithAxes flavours."""
    objects: dict[str, Callable[[], Any]] = {
        "actuator_1_5_mm": actuator_mm,
        "actuator_default_units": lambda: stamp(DataActuator(data=-0.25)),
        "actuator_x_with_origin": lambda: stamp(DataActuator("X", data=12.5, units="um", origin="Stage")),
        "camera_2d_u2_axes_extra": camera_frame,
        "spectrum_two_channels_errors": spectrum_with_errors,
        "raw_1d_nav_indexes": raw_with_nav,
        "calculated_0d": calculated_0d,
        "plain_dwa_i4": plain_dwa,
    }
    return {f"dwa_{name}": Case("dwa", build()) for name, build in objects.items()}


def dte_cases() -> dict[str, Case]:
    """DataToExport objects: what follows 'Done'."""
    dtes = {
        "camera": DataToExport("ScopeOne", data=[camera_frame()]),
        "two_dwas": DataToExport("two", data=[calculated_0d(), spectrum_with_errors()]),
        "empty": DataToExport("nothing", data=[]),
    }
    return {f"dte_{name}": Case("dte", stamp(dte, 1700000001.25)) for name, dte in dtes.items()}


# --------------------------------------------------------------------------- messages


def settings_tree() -> Parameter:
    """A small real parameter tree, as a client's detector settings."""
    return Parameter.create(
        name="detector_settings",
        type="group",
        children=[
            {"title": "Exposure (ms):", "name": "exposure", "type": "int", "value": 10},
            {
                "title": "Trigger:",
                "name": "trigger",
                "type": "list",
                "limits": ["internal", "external"],
                "value": "internal",
            },
        ],
    )


def xml_of(param: Parameter) -> str:
    """4.4's ioxml.parameter_to_xml_string (bytes), as the string the receiver reads."""
    return ioxml.parameter_to_xml_string(param).decode()


def client_messages() -> dict[str, Case]:
    """Client -> server messages (TCPClient in 4.4's tcp_server_client.py)."""
    tree = settings_tree()
    actuator_tree = Parameter.create(
        name="move_settings", type="group", children=[{"name": "units", "type": "str", "value": "mm"}]
    )
    messages = {
        "grabber_hello": (["GRABBER"], ""),
        "actuator_hello": (["ACTUATOR"], ""),
        "infos_grabber": (["Infos", xml_of(tree)], XML_NOTE),
        "infos_actuator": (["Infos", xml_of(actuator_tree)], XML_NOTE),
        "info_xml": (["Info_xml", tree.childPath(tree.child("exposure")), xml_of(tree.child("exposure"))], XML_NOTE),
        "info": (["Info", "temperature", "21.5"], ""),
        "done_dte": (["Done", stamp(DataToExport("ScopeOne", data=[camera_frame()]), 1700000001.25)], ""),
        "position_is": (["position_is", stamp(DataActuator(data=2.5, units="mm"))], ""),
        "move_done": (["move_done", actuator_mm()], ""),
        "quit": (["Quit"], ""),
    }
    return {f"message_{name}": Case("message", parts, note) for name, (parts, note) in messages.items()}


def server_messages() -> dict[str, Case]:
    """Server -> client messages (TCPServer, DAQ_Viewer/DAQ_Move_TCP_server in 4.4)."""
    exposure = settings_tree().child("exposure")
    messages: dict[str, tuple[list[Any], str]] = {
        f"send_data_{dim.lower()}": ([f"Send Data {dim}"], "") for dim in ("0D", "1D", "2D", "ND")
    }
    messages.update(
        {
            "set_info": (["set_info", ["settings_client", "exposure"], xml_of(exposure)], XML_NOTE),
            "move_abs": (["move_abs", actuator_mm()], ""),
            "move_rel": (["move_rel", stamp(DataActuator(data=-0.5, units="mm"))], ""),
            "move_home": (["move_home"], ""),
            "get_actuator_value": (["get_actuator_value"], ""),
            "check_position": (["check_position"], ""),
            "stop_motion": (["stop_motion"], ""),
        }
    )
    return {f"message_{name}": Case("message", parts, note) for name, (parts, note) in messages.items()}


def legacy_cases() -> dict[str, Case]:
    """2.x-4.0 payloads: a typed list of arrays after 'Done', bare scalars for positions."""
    frame = np.arange(6, dtype=np.uint16).reshape(2, 3)
    two_f8 = [np.array([0.0, 0.5, 1.0]), np.array([-1.0, 2.0, 125.1])]
    cases = {
        "legacy_list_u2_2x3": Case("legacy_list", [frame], LEGACY_NOTE),
        "legacy_list_two_f8": Case("legacy_list", two_f8, LEGACY_NOTE),
        "legacy_scalar_f8_1_5": Case("legacy_scalar", 1.5, LEGACY_NOTE),
        "legacy_scalar_int_7": Case("legacy_scalar", 7, LEGACY_NOTE),
        "message_legacy_done_list": Case("message", ["Done", [frame]], LEGACY_NOTE),
        "message_legacy_move_done_scalar": Case("message", ["move_done", 1.5], LEGACY_NOTE),
        "message_legacy_move_abs_scalar": Case("message", ["move_abs", 2.0], LEGACY_NOTE),
        "message_legacy_position_is_scalar": Case("message", ["position_is", 0.75], LEGACY_NOTE),
    }
    return cases


# --------------------------------------------------------------------------- assembly


def all_cases() -> dict[str, Case]:
    """Every case, by name."""
    cases: dict[str, Case] = {}
    for group in (
        string_cases,
        scalar_cases,
        array_cases,
        list_cases,
        axis_cases,
        dwa_cases,
        dte_cases,
        client_messages,
        server_messages,
        legacy_cases,
    ):
        cases.update(group())
    return cases


def serialize(case: Case) -> bytes:
    """What 4.4 sends for a case."""
    if case.kind == "message":
        return b"".join(Serializer(part).to_bytes() for part in case.obj)
    return Serializer(case.obj).to_bytes()


def case_entry(name: str, case: Case) -> dict[str, Any]:
    """The JSON entry of a case, after checking that its spec rebuilds the same bytes and spec."""
    data = serialize(case)
    spec = specs.normalized(specs.message_to_spec(case.obj) if case.kind == "message" else specs.to_spec(case.obj))
    if specs.encode_spec(spec) != data:
        raise AssertionError(f"{name}: the spec does not rebuild the same bytes")
    rebuilt = specs.message_from_spec(spec) if case.kind == "message" else specs.from_spec(spec)
    rebuilt_spec = specs.message_to_spec(rebuilt) if case.kind == "message" else specs.to_spec(rebuilt)
    if specs.normalized(rebuilt_spec) != spec:
        raise AssertionError(f"{name}: spec -> object -> spec is not stable")
    entry: dict[str, Any] = {"kind": case.kind, "hex": data.hex(), "spec": spec}
    decoded = specs.normalized(specs.decode(case.kind, data))
    if decoded != spec:
        entry["decoded_spec"] = decoded
    if case.note:
        entry["note"] = case.note
    return entry


def document() -> dict[str, Any]:
    """The whole vectors document."""
    return {
        "generator": GENERATOR,
        "pymodaq": importlib.metadata.version("pymodaq"),
        "numpy": np.__version__,
        "cases": {name: case_entry(name, case) for name, case in all_cases().items()},
    }


def main() -> None:
    """Write the vectors document."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON file to write")
    args = parser.parse_args()
    doc = document()
    text = json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    args.output.write_text(text, encoding="utf-8")
    print(f"{len(doc['cases'])} cases written to {args.output}")


if __name__ == "__main__":
    main()
