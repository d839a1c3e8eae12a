"""Fast path: the header runs of a camera frame message, read from buffered bytes in one go.

The general parser (``_parse.py``) can stop at any byte and names every field in its
errors, at the price of a generator or an atomic block every few fields: ~2 µs a field,
100–200 µs for the headers of one frame message, as long as copying a third of its
pixels. Here the runs of fields before and after a frame's pixels (the head of a
DataToExport of one DataWithAxes of one array; the tail of a DataWithAxes: labels,
origin, nav_indexes, axes, extra attributes) are read by plain code over a
:class:`~._cursor.Cursor`, which gives a builder of the run's result from its bytes.
As a camera sends the same headers frame after frame but for a few values, a run whose
fixed bytes match the last one's :class:`~._cursor.Layout` is not read again: its
builder reads the values out of the new bytes.

It only ever accepts. On anything it does not expect (a value over a limit or not valid,
a type or shape it does not handle) it gives up before consuming or allocating anything,
and the general parser reads the same bytes again: results are the general parser's and
errors are always its own. When the input merely runs short, and the general parser
would be waiting too, it waits for what it lacks, a few times at most.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple, TypeVar

import numpy as np

from ._cursor import Bail, Cursor, FoundAxis, Getter, Layout, Short
from ._encode import encoded_str
from ._reader import MAX_NAME_BYTES, Need, Parser, Reader, build
from ._values import DWA_CLASS_NAMES, DWA_STRING_FIELDS, Axis

T = TypeVar("T")
Header = Tuple["np.dtype[Any]", Tuple[int, ...]]  # quoted, as Allocate: older numpy cannot subscript dtype
DteHead = Tuple[float, str, Dict[str, Any], Header]
"""A DataToExport's timestamp and name, its only DWA's head fields, and the header of that DWA's only array."""
Tail = Tuple[Dict[str, Any], Tuple[FoundAxis, ...]]
"""A DWA's fields after its data arrays, and its axes as found (their data not yet copied)."""

ENABLED = True  # tests turn the fast path off to compare its results with the general parser's
MAX_ATTEMPTS = 4  # each wait re-reads the run from its start: bound what a trickling peer costs
_ONE = (1).to_bytes(4, "big")
_DTE_CLASS, _ONE_DWA, _ONE_ARRAY = encoded_str("DataToExport"), _ONE + encoded_str("dwa"), _ONE + encoded_str("array")
_LAYOUTS: Dict[Callable[..., Any], Layout] = {}  # the last run of each kind; replaced whole, never changed
_LENGTHS: Dict[Callable[..., Any], int] = {}  # bytes of the last run of each kind


def _layout(r: Reader, run: Callable[[Cursor], Getter[T]]) -> Layout:
    """The last layout of ``run``'s kind if the input matches it, else the run read and noted."""
    layout = _LAYOUTS.get(run)
    if layout is None or not layout.matches(r):
        cursor = Cursor(r)
        layout = Layout(cursor, run(cursor))
        _LAYOUTS[run] = layout
    return layout


def _commit(r: Reader, layout: Layout, pixels: int = 0) -> None:
    """Consume the run; ``pixels``: bytes that follow it, counted against the message size limit."""
    if r.consumed + layout.length + pixels > r.limits.max_message_bytes:
        raise Bail  # the general parser names the field that crosses the limit
    r.consumed += layout.length
    r.offset += layout.length
    r.depth += layout.depth_change


def _dte_head(c: Cursor) -> Getter[Tuple[DteHead, int]]:
    c.expect(_DTE_CLASS)
    dte_timestamp, name = c.real(), c.string()
    if c.depth + 1 >= c.limits.max_depth:
        raise Bail  # the general parser refuses the DTE's list, or the DWA's data list in it
    c.expect(_ONE_DWA)
    c.depth += 1
    class_name = c.text(MAX_NAME_BYTES)
    if class_name not in DWA_CLASS_NAMES:
        raise Bail
    dwa_timestamp = c.real()
    texts = {key: c.string() for key in DWA_STRING_FIELDS}
    c.expect(_ONE_ARRAY)
    dtype, shape, size = c.array_header()

    def head(buffer: bytearray, run: int) -> Tuple[DteHead, int]:
        fields = {"class_name": class_name, "timestamp": dwa_timestamp(buffer, run), **texts}
        return (dte_timestamp(buffer, run), name, fields, (dtype, shape)), size

    return head


def dte_head(r: Reader) -> DteHead:
    """A DataToExport of one DWA of one array, up to that array's pixels (what a camera sends).

    Counts the DTE's list in ``r.depth``, as ``read_list`` does.
    """
    return dte_head_by(r, _layout(r, _dte_head))


def dte_head_by(r: Reader, layout: Layout) -> DteHead:
    """The DTE head at ``r``'s position, which ``layout`` matches."""
    head, size = layout.build(r.buffer, r.offset)
    _commit(r, layout, pixels=size)
    r.layouts_read.append(layout)
    return head  # type: ignore[no-any-return]


def _dwa_tail(c: Cursor) -> Getter[Tail]:
    labels, origin, nav_indexes = c.strings(), c.string(), c.ints()
    found = tuple(c.axes())  # shared by the results of every run built from this layout: not to be changed
    if c.list_length():
        raise Bail  # error arrays are as large as the data: the general parser receives them in place
    names = c.strings()
    if len(set(names)) < len(names):
        raise Bail  # the general parser says which name is listed twice
    values = [c.value() for _ in names]

    def tail(buffer: bytearray, run: int) -> Tail:
        extras = {name: value(buffer, run) for name, value in zip(names, values)}
        fields = {
            "labels": labels,
            "origin": origin,
            "nav_indexes": nav_indexes,
            "errors": (),
            "extra_attributes": extras,
        }
        return fields, found

    return tail


def dwa_tail(r: Reader, field: str) -> Dict[str, Any]:
    """The fields of a DWA after its data arrays, when its errors list is empty (as a camera's is)."""
    return dwa_tail_by(r, field, _layout(r, _dwa_tail))


def dwa_tail_by(r: Reader, field: str, layout: Layout) -> Dict[str, Any]:
    """The DWA tail at ``r``'s position, which ``layout`` matches."""
    r.layouts_read.append(layout)
    run = r.offset
    fields, found = layout.build(r.buffer, run)
    _commit(r, layout)
    fields["axes"] = tuple(_make_axis(r, field, position, axis, run) for position, axis in enumerate(found))
    return fields  # type: ignore[no-any-return]


def _make_axis(r: Reader, field: str, position: int, found: FoundAxis, run: int) -> Axis:
    """An axis with a copy of its buffered data (the run is committed, so this happens once).

    The copy is numpy's own, not through ``r.allocate``: a few KiB that are already
    buffered, which a pool would not recycle anyway, copied in one call.
    """
    label, units, dtype, shape, start, index, spread_order = found
    data = np.frombuffer(r.buffer, dtype, shape[0], run + start).copy()  # the view dies here: buffer resizable
    fields = {"label": label, "units": units, "data": data, "index": index, "spread_order": spread_order}
    return Axis.from_decoded(fields) or build(f"{field}.axes[{position}]", Axis, **fields)  # named on failure only


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
