"""Bytes → values (strings, scalars, arrays, lists, Axis, DataWithAxes, DataToExport).

Each parser is a generator over a :class:`~._reader.Reader`: it reads runs of fields as
atomic blocks and leaves its stack only when the input runs short (``Need``) or to have
an array's pixels received straight into their final array (``ReadInto``), which is what
lets a socket ``recv_into`` them with no further copy. The wire layout is in ``_encode.py``.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple, TypeVar

import numpy as np

from ._errors import RemoteProtocolError
from ._fast import DteHead, Header, attempt, dte_head, dte_head_by, dwa_tail, dwa_tail_by
from ._lane import DONE, KnownFrame, wait_for_run
from ._reader import MAX_NAME_BYTES, Parser, Reader, ReadInto, build, get
from ._values import (
    DWA_CLASS_NAMES,
    DWA_STRING_FIELDS,
    Axis,
    DataActuator,
    DataToExport,
    DataWithAxes,
    ParameterWithPath,
)

T = TypeVar("T")


def read_str(r: Reader, field: str) -> Parser[str]:
    return (yield from get(r.string, field))


def read_bytes(r: Reader, field: str) -> Parser[bytes]:
    return (yield from get(r.raw_bytes, field))


def read_scalar(r: Reader, field: str) -> Parser[np.generic]:
    return (yield from get(r.scalar, field))


def read_bool(r: Reader, field: str) -> Parser[bool]:
    return bool((yield from get(r.scalar, field)))


def read_int(r: Reader, field: str) -> Parser[int]:
    return int((yield from get(r.number, field, "iu")))


def read_real(r: Reader, field: str) -> Parser[float]:
    return float((yield from get(r.number, field, "iuf")))


def read_array(r: Reader, field: str) -> Parser[np.ndarray]:
    header = yield from get(r.array_header, field)
    return (yield from read_payload(r, field, header))


def read_payload(r: Reader, field: str, header: Header) -> Parser[np.ndarray]:
    """An array's pixels, into an array from ``r.allocate``: from the buffer, then straight from the socket."""
    dtype, shape = header
    array = r.new_array(field, dtype, shape)
    if array.nbytes:
        view = array.reshape(-1).view(np.uint8).data
        copied = r.take_into(view)
        if copied < len(view):
            yield ReadInto(view[copied:])
    return array


def _tagged_array_header(r: Reader, field: str) -> Tuple[np.dtype[Any], Tuple[int, ...]]:
    r.tag(field, "array")
    return r.array_header(field)


def read_list(r: Reader, field: str, tag: Optional[str] = None) -> Parser[Tuple[Any, ...]]:
    """A LIST; with ``tag``, every element must carry that tag."""
    count = yield from get(r.list_length, field)
    r.depth += 1
    items = []
    for position in range(count):
        items.append((yield from read_tagged(r, f"{field}[{position}]", tag)))
    r.depth -= 1
    return tuple(items)


def read_arrays(r: Reader, field: str) -> Parser[Tuple[np.ndarray, ...]]:
    """A LIST of 'array'-tagged arrays."""
    count = yield from get(r.list_length, field)
    arrays = []
    for position in range(count):
        element = f"{field}[{position}]"
        header = yield from get(r.atomic, _tagged_array_header, r, element)
        arrays.append((yield from read_payload(r, element, header)))
    return tuple(arrays)


def read_tagged(r: Reader, field: str, expected_tag: Optional[str] = None) -> Parser[Any]:
    tag = yield from get(r.string, f"{field}.tag", MAX_NAME_BYTES)
    if expected_tag is not None and tag != expected_tag:
        raise RemoteProtocolError(f"expected tag {expected_tag!r}, got {tag!r}", field)
    parse = TAGGED_PARSERS.get(tag)
    if parse is None:
        raise RemoteProtocolError(f"unknown type tag {tag!r}; expected one of {', '.join(TAGGED_PARSERS)}", field)
    return (yield from parse(r, field))


def _axis_head(r: Reader, field: str) -> Tuple[str, str, Tuple[np.dtype[Any], Tuple[int, ...]]]:
    r.class_name(field, ("Axis",))
    label, units = r.string(f"{field}.label"), r.string(f"{field}.units")
    return label, units, r.array_header(f"{field}.data")


def _axis_tail(r: Reader, field: str) -> Tuple[int, int]:
    return int(r.number(f"{field}.index", "iu")), int(r.number(f"{field}.spread_order", "iu"))


def read_axis(r: Reader, field: str) -> Parser[Axis]:
    label, units, header = yield from get(r.atomic, _axis_head, r, field)
    data = yield from read_payload(r, f"{field}.data", header)
    index, spread_order = yield from get(r.atomic, _axis_tail, r, field)
    fields = {"label": label, "units": units, "data": data, "index": index, "spread_order": spread_order}
    return Axis.from_decoded(fields) or build(field, Axis, **fields)


def _dwa_head(r: Reader, field: str, allowed: Tuple[str, ...]) -> Dict[str, Any]:
    fields: Dict[str, Any] = {"class_name": r.class_name(field, allowed)}
    fields["timestamp"] = float(r.number(f"{field}.timestamp", "iuf"))
    for name in DWA_STRING_FIELDS:
        fields[name] = r.string(f"{field}.{name}")
    return fields


def _dwa_middle(r: Reader, field: str) -> Tuple[Tuple[str, ...], str, Tuple[int, ...]]:
    labels = r.string_list(f"{field}.labels")
    return labels, r.string(f"{field}.origin"), r.int_list(f"{field}.nav_indexes")


def read_dwa(r: Reader, field: str, allowed: Tuple[str, ...] = DWA_CLASS_NAMES) -> Parser[DataWithAxes]:
    fields = yield from get(r.atomic, _dwa_head, r, field, allowed)
    fields["data"] = yield from read_arrays(r, f"{field}.data")
    return (yield from _read_dwa_rest(r, field, fields))


def _read_dwa_rest(r: Reader, field: str, fields: Dict[str, Any]) -> Parser[DataWithAxes]:
    """The fields after the data arrays (the fast way when it can), then the DataWithAxes."""
    tail = yield from attempt(r, dwa_tail, field)
    fields.update(tail if tail is not None else (yield from _read_dwa_tail(r, field)))
    return _make_dwa(field, fields)


def _make_dwa(field: str, fields: Dict[str, Any]) -> DataWithAxes:
    cls = DataActuator if fields["class_name"] == "DataActuator" else DataWithAxes
    return cls.from_decoded(fields) or build(field, cls, **fields)


def _read_dwa_tail(r: Reader, field: str) -> Parser[Dict[str, Any]]:
    fields: Dict[str, Any] = {}
    fields["labels"], fields["origin"], fields["nav_indexes"] = yield from get(r.atomic, _dwa_middle, r, field)
    fields["axes"] = yield from read_list(r, f"{field}.axes", "axis")
    fields["errors"] = yield from read_arrays(r, f"{field}.errors")
    names = yield from get(r.atomic, r.string_list, f"{field}.extra_attributes")
    extras: Dict[str, Any] = {}
    for name in names:
        if name in extras:
            raise RemoteProtocolError(f"extra attribute {name!r} is listed twice", f"{field}.extra_attributes")
        extras[name] = yield from read_tagged(r, f"{field}.{name}")
    fields["extra_attributes"] = extras
    return fields


def _dte_head(r: Reader, field: str) -> Tuple[float, str]:
    r.class_name(field, ("DataToExport",))
    return float(r.number(f"{field}.timestamp", "iuf")), r.string(f"{field}.name")


def read_dte(r: Reader, field: str) -> Parser[DataToExport]:
    head = yield from attempt(r, dte_head)
    if head is not None:
        return (yield from read_frame(r, field, head))
    return (yield from read_general_dte(r, field))


def read_general_dte(r: Reader, field: str) -> Parser[DataToExport]:
    """A DataToExport that the fast path left to the general parser."""
    timestamp, name = yield from get(r.atomic, _dte_head, r, field)
    data = yield from read_list(r, f"{field}.data", "dwa")
    return DataToExport.from_decoded(name, data, timestamp)  # each element is a DataWithAxes: valid as it is


def read_frame(r: Reader, field: str, head: DteHead) -> Parser[DataToExport]:
    """The rest of a DataToExport of one DWA of one array (a camera frame) whose head the fast path read."""
    timestamp, name, fields, header = head
    dwa_field = f"{field}.data[0]"
    fields["data"] = ((yield from read_payload(r, f"{dwa_field}.data[0]", header)),)
    dwa = yield from _read_dwa_rest(r, dwa_field, fields)
    r.depth -= 1  # the DTE's list, counted by the fast path
    return DataToExport.from_decoded(name, (dwa,), timestamp)


def read_known_frame(r: Reader, frame: KnownFrame) -> Parser[DataToExport]:
    """The DataToExport of a ``Done`` message whose first bytes, buffered, hold ``frame``'s head.

    ``read_frame`` for the layouts it knows: no command, payload kind or run to tell apart.
    """
    r.offset, r.consumed = r.offset + len(DONE), len(DONE)
    timestamp, name, fields, header = dte_head_by(r, frame.head)
    fields["data"] = ((yield from read_payload(r, _KNOWN_PIXELS_FIELD, header)),)
    if (yield from wait_for_run(r, frame.tail.constant, frame.tail.length)):
        fields.update(dwa_tail_by(r, _KNOWN_DWA_FIELD, frame.tail))
        dwa = _make_dwa(_KNOWN_DWA_FIELD, fields)
    else:
        dwa = yield from _read_dwa_rest(r, _KNOWN_DWA_FIELD, fields)
    r.depth -= 1  # the DTE's list, counted by the fast path
    return DataToExport.from_decoded(name, (dwa,), timestamp)


_KNOWN_DWA_FIELD = "Done.data.data[0]"  # as read_done_payload names it
_KNOWN_PIXELS_FIELD = f"{_KNOWN_DWA_FIELD}.data[0]"


def read_parameter(r: Reader, field: str) -> Parser[ParameterWithPath]:
    path = yield from get(r.atomic, r.string_list, f"{field}.path")
    xml = yield from get(r.string, f"{field}.xml")
    return build(field, ParameterWithPath, path=path, xml=xml)


TAGGED_PARSERS: Dict[str, Callable[[Reader, str], Parser[Any]]] = {
    "scalar": read_scalar,
    "bool": read_bool,
    "string": read_str,
    "bytes": read_bytes,
    "array": read_array,
    "list": read_list,
    "axis": read_axis,
    "dwa": read_dwa,
    "dte": read_dte,
    "parameter": read_parameter,
}
"""How each list tag's value is read; at top level the same parsers read untagged values."""
