"""Fast path: the header runs of a camera frame message, read from buffered bytes in one go.

The general parser (``_parse.py``) can stop at any byte and names every field in its
errors, at the price of a generator or an atomic block every few fields: ~2 µs a field,
100–200 µs for the headers of one frame message, as long as copying a third of its
pixels. Here the runs of fields before and after a frame's pixels (the head of a
DataToExport of one DataWithAxes of one array; the tail of a DataWithAxes: labels,
origin, nav_indexes, axes, extra attributes) are read by plain code over a
:class:`~._cursor.Cursor`; and as a camera sends the same headers frame after frame but
for a few values, a run whose bytes match the last one's :class:`~._cursor.Layout` is
replayed: only its values are read.

It only ever accepts. On anything it does not expect (a value over a limit or not valid,
a type or shape it does not handle) it gives up before consuming or allocating anything,
and the general parser reads the same bytes again: results are the general parser's and
errors are always its own. When the input merely runs short, and the general parser
would be waiting too, it waits for what it lacks, a few times at most.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

import numpy as np

from ._cursor import Bail, Cursor, FoundAxis, Layout, Recorder, Replay, Short
from ._encode import encoded_str
from ._reader import MAX_NAME_BYTES, Need, Parser, Reader, build
from ._values import DWA_CLASS_NAMES, DWA_STRING_FIELDS, Axis

T = TypeVar("T")
Header = Tuple["np.dtype[Any]", Tuple[int, ...]]  # quoted, as Allocate: older numpy cannot subscript dtype
DteHead = Tuple[float, str, Dict[str, Any], Header]
"""A DataToExport's timestamp and name, its only DWA's head fields, and the header of that DWA's only array."""

ENABLED = True  # tests turn the fast path off to compare its results with the general parser's
MAX_ATTEMPTS = 4  # each wait re-reads the run from its start: bound what a trickling peer costs
_ONE = (1).to_bytes(4, "big")
_DTE_CLASS, _ONE_DWA, _ONE_ARRAY = encoded_str("DataToExport"), _ONE + encoded_str("dwa"), _ONE + encoded_str("array")
_LAYOUTS: Dict[Callable[[Cursor], Any], Layout] = {}  # the last run of each kind; replaced whole, never changed
_LENGTHS: Dict[Callable[..., Any], int] = {}  # bytes of the last run of each kind


def _read(r: Reader, run: Callable[[Cursor], T]) -> Tuple[T, Cursor]:
    """``run`` over the input: replayed if it matches the last layout of its kind, else read and noted."""
    layout = _LAYOUTS.get(run)
    if layout is not None and layout.matches(r):
        replay = Replay(r, layout)
        return run(replay), replay
    recorder = Recorder(r)
    result = run(recorder)
    _LAYOUTS[run] = Layout(recorder)
    return result, recorder


def _dte_head(c: Cursor) -> Tuple[DteHead, int]:
    c.expect(_DTE_CLASS)
    timestamp, name = float(c.number("iuf")), c.string()
    if c.depth + 1 >= c.limits.max_depth:
        raise Bail  # the general parser refuses the DTE's list, or the DWA's data list in it
    c.expect(_ONE_DWA)
    c.depth += 1
    fields: Dict[str, Any] = {"class_name": c.text(MAX_NAME_BYTES)}
    if fields["class_name"] not in DWA_CLASS_NAMES:
        raise Bail
    fields["timestamp"] = float(c.number("iuf"))
    for key in DWA_STRING_FIELDS:
        fields[key] = c.string()
    c.expect(_ONE_ARRAY)
    dtype, shape, size = c.array_header()
    return (timestamp, name, fields, (dtype, shape)), size


def dte_head(r: Reader) -> DteHead:
    """A DataToExport of one DWA of one array, up to that array's pixels (what a camera sends).

    Counts the DTE's list in ``r.depth``, as ``read_list`` does.
    """
    (head, size), c = _read(r, _dte_head)
    c.commit(r, pixels=size)
    return head


def _dwa_tail(c: Cursor) -> Tuple[Dict[str, Any], List[FoundAxis]]:
    labels, origin, nav_indexes = c.strings(), c.string(), c.ints()
    found = c.axes()
    if c.list_length():
        raise Bail  # error arrays are as large as the data: the general parser receives them in place
    extras: Dict[str, Any] = {}
    for name in c.strings():
        if name in extras:
            raise Bail
        extras[name] = c.value()
    return {
        "labels": labels,
        "origin": origin,
        "nav_indexes": nav_indexes,
        "errors": (),
        "extra_attributes": extras,
    }, found


def dwa_tail(r: Reader, field: str) -> Dict[str, Any]:
    """The fields of a DWA after its data arrays, when its errors list is empty (as a camera's is)."""
    (fields, found), c = _read(r, _dwa_tail)
    c.commit(r)
    fields["axes"] = tuple(_make_axis(r, f"{field}.axes[{position}]", axis) for position, axis in enumerate(found))
    return fields


def _make_axis(r: Reader, field: str, found: FoundAxis) -> Axis:
    """Allocate and fill an axis' data (the run is committed, so this happens once)."""
    label, units, dtype, shape, start, index, spread_order = found
    data = r.new_array(f"{field}.data", dtype, shape)
    if data.nbytes:
        with memoryview(r.buffer) as buffered:  # released at once: the buffer must stay resizable
            data.reshape(-1).view(np.uint8).data[:] = buffered[start : start + data.nbytes]
    fields = {"label": label, "units": units, "data": data, "index": index, "spread_order": spread_order}
    return Axis.from_decoded(fields) or build(field, Axis, **fields)


def attempt(r: Reader, run: Callable[..., T], *args: Any) -> Parser[Optional[T]]:
    """Read a run the fast way, waiting for input it lacks; None: leave it to the general parser."""
    if not ENABLED:
        return None
    expect = _LENGTHS.get(run, 0)  # the decoder buffers as much at once, if it has it: one attempt
    if not r.available:
        yield Need(1, expect)  # as after a frame's pixels: the run has not begun to arrive, no attempt is lost
    for _ in range(MAX_ATTEMPTS):
        start = r.offset
        try:
            result = run(r, *args)
        except Bail:
            return None
        except Short as short:
            need = short.end - r.offset
        else:
            _LENGTHS[run] = r.offset - start
            return result
        yield Need(need, expect)  # outside the except block, as in ``get``
    return None
