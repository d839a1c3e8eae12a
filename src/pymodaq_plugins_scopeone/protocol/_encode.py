"""Values and messages → bytes, in the PyMoDAQ 4.4 layout (or the 2.x–4.0 one on request).

Encoding produces a list of chunks: header bytes, and for each array a memoryview of
its pixels, which are never copied (a socket can ``sendmsg`` the list as it is).

Wire layout of the primitives (all lengths are U32: 4 bytes, unsigned, big-endian):

=========  ==================================================================
STR(s)     U32(len(utf8)) + utf8 bytes
SCAL(x)    STR(dtype) + U32(nbytes) + raw bytes         dtype as '<f8', '|b1' …
ARR(a)     STR(dtype) + U32(nbytes) + U32(ndim) + ndim × U32(dim) + C-order bytes
BYTES(b)   U32(len(b)) + b
LIST(l)    U32(count) + for each element: STR(tag) + its encoding
=========  ==================================================================

List tags: ``scalar``, ``bool``, ``string``, ``bytes``, ``array``, ``list``, ``axis``,
``dwa``, ``dte``, ``parameter``.
"""

from __future__ import annotations

import numbers
import struct
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar, Union

import numpy as np

from ._dtypes import describe_allowed_dtypes, wire_dtype
from ._errors import LocalProtocolError
from ._limits import DEFAULT_LIMITS, Limits
from ._messages import (
    AuthChallenge,
    AuthResponse,
    DataReady,
    GetActuatorValue,
    Hello,
    Info,
    Infos,
    LegacyAxis,
    Message,
    SendData,
    _EmptyMessage,
    _PathXmlMessage,
    _PositionMessage,
)
from ._values import DWA_STRING_FIELDS, Axis, DataActuator, DataToExport, DataWithAxes, ParameterWithPath, check_array

Chunk = Union[bytes, memoryview]
T = TypeVar("T")
_BOOL, _INT64, _FLOAT64, _COMPLEX128 = (np.dtype(text) for text in ("|b1", "<i8", "<f8", "<c16"))
_pack_int64 = struct.Struct("<q").pack
_pack_float64 = struct.Struct("<d").pack
_pack_complex128 = struct.Struct("<dd").pack
_pack_u32s = [struct.Struct(f">{2 + ndim}I").pack for ndim in range(65)]  # nbytes, ndim, shape; 64 = numpy's max
_STR_CACHE: Dict[str, bytes] = {}
_STR_CACHE_MAX_TEXT, _STR_CACHE_MAX_ENTRIES = 64, 4096
Remembered = Tuple[bytes, int]  # how texts were written, and the smallest max_string_bytes that allows it
_TEXT_RUNS: Dict[Tuple[Any, ...], Remembered] = {}  # texts as consecutive STRs (a DWA's name, units …)
_TEXT_LISTS: Dict[Tuple[Any, ...], Remembered] = {}  # texts as a LIST (labels, attribute names)
_ARRAY_HEADS: Dict[Tuple[Any, ...], bytes] = {}
"""ARR bytes before the pixels, by (dtype, shape): a camera sends the same ones frame after frame."""
_CACHE_MAX_ENTRIES, _REMEMBER_MAX_BYTES = 1024, 4096  # so that the caches hold at most ~16 MiB, whatever is sent
_LONGEST_DTYPE_TEXT = 4  # '<c16'


def _check_u32(number: int, field: str) -> None:
    if not 0 <= number < 2**32:
        raise LocalProtocolError(f"length {number} does not fit in 4 unsigned bytes", field)


def _remembered(cache: Dict[Tuple[Any, ...], Remembered], texts: Tuple[Any, ...]) -> Optional[Remembered]:
    """How ``texts`` were last written, if they were."""
    try:
        return cache.get(texts)
    except TypeError:  # not hashable, hence not texts: the writer says what it is
        return None


def _remember_texts(
    cache: Dict[Tuple[Any, ...], Remembered], texts: Tuple[Any, ...], encoded: bytes, at_least: int = 0
) -> None:
    """Remember how ``texts`` were written, if they are all strs, with the string limit that allows it.

    ``at_least``: the limit the tags written with them need.
    """
    if len(encoded) <= _REMEMBER_MAX_BYTES and all(type(text) is str for text in texts):
        longest = max((len(text.encode("utf-8")) for text in texts), default=0)
        _put(cache, texts, (encoded, max(longest, at_least)))


def _put(cache: Dict[Tuple[Any, ...], T], key: Tuple[Any, ...], value: T) -> None:
    """Add to a cache of encodings, emptied when full: only a stream's few recurring ones matter."""
    if len(cache) >= _CACHE_MAX_ENTRIES:
        cache.clear()
    cache[key] = value


def encoded_str(text: str) -> bytes:
    """STR(text): U32 length + UTF-8; short strings (names, tags, dtypes) are remembered."""
    encoded = _STR_CACHE.get(text)
    if encoded is None:
        data = text.encode("utf-8")
        if len(data) >= 2**32:
            raise LocalProtocolError(f"string of {len(data)} bytes does not fit a 4-byte length")
        encoded = len(data).to_bytes(4, "big") + data
        if len(text) <= _STR_CACHE_MAX_TEXT and len(_STR_CACHE) < _STR_CACHE_MAX_ENTRIES:
            _STR_CACHE[text] = encoded
    return encoded


# SCAL of a Python float or int up to its 8 bytes, and the list tags of strings and scalars
_FLOAT64_HEAD, _INT64_HEAD = (encoded_str(text) + (8).to_bytes(4, "big") for text in ("<f8", "<i8"))
_STRING_TAG, _SCALAR_TAG = encoded_str("string"), encoded_str("scalar")
_TAG_BYTES = len("string")  # = len("scalar")


class _Writer:
    """Accumulates header bytes and zero-copy pixel views, checking our limits."""

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._chunks: List[Chunk] = []
        self._head = bytearray()
        self._depth = 0
        self._dtypes_fit = limits.max_string_bytes >= _LONGEST_DTYPE_TEXT  # then a cached array head is valid
        self._tags_fit = limits.max_string_bytes >= _LONGEST_TAG  # then no list tag is over the limit

    def chunks(self) -> List[Chunk]:
        if self._head:
            self._chunks.append(bytes(self._head))
            self._head = bytearray()
        return self._chunks

    def u32(self, number: int, field: str) -> None:
        _check_u32(number, field)
        self._head += number.to_bytes(4, "big")

    def raw(self, data: bytes, field: str) -> None:
        self.u32(len(data), field)
        self._head += data

    def string(self, text: str, field: str) -> None:
        if not isinstance(text, str):
            raise LocalProtocolError(f"expected a str, got {type(text).__name__} {text!r}", field)
        encoded = _STR_CACHE.get(text) or encoded_str(text)  # the cache, looked up inline: the hottest call
        if len(encoded) - 4 > self._limits.max_string_bytes:
            raise LocalProtocolError(
                f"string of {len(encoded) - 4} bytes exceeds max_string_bytes={self._limits.max_string_bytes}", field
            )
        self._head += encoded

    def texts(self, field: str, names: Tuple[str, ...], texts: Tuple[Any, ...]) -> None:
        """Consecutive STRs of ``field``'s parts ``names``, written as ``string`` does; remembered whole.

        A part's field name is only made for ``string``, when a text is not a str or is over the limit.
        """
        limit, cached = self._limits.max_string_bytes, _remembered(_TEXT_RUNS, texts)
        if cached is not None and cached[1] <= limit:
            self._head += cached[0]
            return
        start = len(self._head)
        for name, text in zip(names, texts):
            encoded = _STR_CACHE.get(text) if type(text) is str else None
            if encoded is None or len(encoded) - 4 > limit:
                self.string(text, f"{field}.{name}")
            else:
                self._head += encoded
        _remember_texts(_TEXT_RUNS, texts, bytes(self._head[start:]))

    def _plain_number(self, value: Any, tag: bytes = b"") -> bool:
        """Write a float or an int64 (after ``tag``) as ``scalar`` would, at once; else False.

        Timestamps, indexes and most numbers are such values: no ABC checks, no field name.
        """
        kind = type(value)
        if kind is float:
            self._head += tag + _FLOAT64_HEAD + _pack_float64(value)
        elif kind is int and -(2**63) <= value < 2**63:
            self._head += tag + _INT64_HEAD + _pack_int64(value)
        else:
            return False
        return True

    def scalar(self, value: Any, field: str) -> None:
        if self._plain_number(value):
            return
        if isinstance(value, np.generic):
            dtype, raw = value.dtype, value.tobytes()
        elif isinstance(value, bool):
            dtype, raw = _BOOL, bytes((value,))
        elif isinstance(value, int):
            if not -(2**63) <= value < 2**63:
                raise LocalProtocolError(f"int {value} does not fit in a signed 64-bit scalar", field)
            dtype, raw = _INT64, _pack_int64(value)  # numpy's own default is '<i4' on some Windows builds
        elif isinstance(value, numbers.Real):
            dtype, raw = _FLOAT64, _pack_float64(float(value))
        elif isinstance(value, numbers.Complex):
            dtype, raw = _COMPLEX128, _pack_complex128(value.real, value.imag)
        else:
            raise LocalProtocolError(f"expected a number, got {type(value).__name__} {value!r}", field)
        text = wire_dtype(dtype)
        if text is None:
            raise LocalProtocolError(f"dtype {dtype.str!r} cannot travel; allowed: {describe_allowed_dtypes()}", field)
        self._head += encoded_str(text)
        self.raw(raw, field)

    def array(self, value: np.ndarray, field: str) -> None:
        limits = self._limits
        head = _ARRAY_HEADS.get((value.dtype, value.shape)) if type(value) is np.ndarray else None
        if (
            head is None
            or value.nbytes > limits.max_array_bytes
            or value.ndim > limits.max_ndim
            or not self._dtypes_fit
        ):
            head = self._array_head(value, field)
        self._head += head
        if value.nbytes:
            contiguous = value if value.flags.c_contiguous else np.ascontiguousarray(value)  # else a copy
            self._chunks.append(bytes(self._head))
            self._head = bytearray()
            self._chunks.append(contiguous.data.cast("B"))  # the pixels as bytes, not copied

    def _array_head(self, value: np.ndarray, field: str) -> bytes:
        """ARR up to the pixels, checked field by field, and remembered for ``array``."""
        check_array(value, field)
        if value.nbytes > self._limits.max_array_bytes:
            raise LocalProtocolError(
                f"array of {value.nbytes} bytes exceeds max_array_bytes={self._limits.max_array_bytes}", field
            )
        if value.ndim > self._limits.max_ndim:
            raise LocalProtocolError(f"{value.ndim} dimensions exceed max_ndim={self._limits.max_ndim}", field)
        text = str(wire_dtype(value.dtype))
        if len(text) > self._limits.max_string_bytes:
            self.string(text, f"{field}.dtype")  # which says it is over the limit
        _check_u32(value.nbytes, f"{field}.nbytes")
        for dim in value.shape:
            _check_u32(dim, f"{field}.shape")
        head = encoded_str(text) + _pack_u32s[value.ndim](value.nbytes, value.ndim, *value.shape)
        _put(_ARRAY_HEADS, (value.dtype, value.shape), head)
        return head

    def sequence(self, values: Any, field: str) -> None:
        self._list_start(values, field)
        plain = self._plain_element
        for position, value in enumerate(values):
            if not plain(value):
                self.tagged(value, f"{field}[{position}]")
        self._depth -= 1

    def _list_start(self, values: Any, field: str) -> None:
        """A LIST's checks and count; the caller writes the elements, then leaves the nesting level."""
        if not isinstance(values, (tuple, list)):
            raise LocalProtocolError(f"expected a tuple or list, got {type(values).__name__}", field)
        if len(values) > self._limits.max_list_length:
            raise LocalProtocolError(
                f"{len(values)} elements exceed max_list_length={self._limits.max_list_length}", field
            )
        self._depth += 1
        if self._depth > self._limits.max_depth:
            raise LocalProtocolError(f"nesting deeper than max_depth={self._limits.max_depth}", field)
        self.u32(len(values), field)

    def objects(self, values: Tuple[Any, ...], field: str, kind: type, tag: str) -> None:
        """A LIST of ``kind`` objects (a DWA's arrays or axes, a DTE's DWAs), tagged ``tag`` as ``tagged`` would."""
        if not self._tags_fit:
            self.sequence(values, field)  # which names the tag that is over the limit
            return
        self._list_start(values, field)
        encoded_tag, write = _TAG_STRS[tag], _TAGGED_WRITERS[tag]
        for position, value in enumerate(values):
            if isinstance(value, kind):
                self._head += encoded_tag
                write(self, value, f"{field}[{position}]")
            else:
                self.tagged(value, f"{field}[{position}]")
        self._depth -= 1

    def text_list(self, texts: Tuple[str, ...], field: str) -> None:
        """A LIST of strs (labels, attribute names), written as ``sequence`` does; remembered whole."""
        limits, cached = self._limits, _remembered(_TEXT_LISTS, texts)
        if (
            cached is None
            or cached[1] > limits.max_string_bytes
            or len(texts) > limits.max_list_length
            or self._depth >= limits.max_depth
        ):
            start = len(self._head)
            self.sequence(texts, field)  # which checks each limit and names what is over it
            _remember_texts(_TEXT_LISTS, texts, bytes(self._head[start:]), _TAG_BYTES)
        else:
            self._head += cached[0]

    def _plain_element(self, value: Any) -> bool:
        """Write a str, float or int list element, tag and value at once, as ``tagged`` would; else False.

        Labels, names, indexes and most extra attributes are such values.
        """
        if not self._tags_fit:
            return False  # ``tagged`` names the tag that is over the limit
        if type(value) is not str:
            return self._plain_number(value, _SCALAR_TAG)
        encoded = _STR_CACHE.get(value) or encoded_str(value)
        if len(encoded) - 4 > self._limits.max_string_bytes:
            return False
        self._head += _STRING_TAG + encoded
        return True

    def tagged(self, value: Any, field: str) -> None:
        """A list element: its type tag, then the value."""
        tag = tag_of(value, field)
        if len(tag) > self._limits.max_string_bytes:
            self.string(tag, f"{field}.tag")  # which says it is over the limit
        self._head += _TAG_STRS[tag]
        _TAGGED_WRITERS[tag](self, value, field)

    def axis(self, axis: Axis, field: str) -> None:
        self.texts(field, ("class_name", "label", "units"), ("Axis", axis.label, axis.units))
        self.array(axis.data, f"{field}.data")
        if not self._plain_number(axis.index):
            self.scalar(axis.index, f"{field}.index")
        if not self._plain_number(axis.spread_order):
            self.scalar(axis.spread_order, f"{field}.spread_order")

    def dwa(self, dwa: DataWithAxes, field: str) -> None:
        self.string(dwa.class_name, f"{field}.class_name")
        if not self._plain_number(dwa.timestamp):
            self.scalar(dwa.timestamp, f"{field}.timestamp")
        self.texts(field, DWA_STRING_FIELDS, (dwa.name, dwa.units, dwa.source, dwa.dim, dwa.distribution))
        self.objects(dwa.data, f"{field}.data", np.ndarray, "array")
        self.text_list(dwa.labels, f"{field}.labels")
        self.string(dwa.origin, f"{field}.origin")
        self.sequence(dwa.nav_indexes, f"{field}.nav_indexes")
        self.objects(dwa.axes, f"{field}.axes", Axis, "axis")
        self.objects(dwa.errors, f"{field}.errors", np.ndarray, "array")
        self.text_list(tuple(dwa.extra_attributes), f"{field}.extra_attributes")
        for name, value in dwa.extra_attributes.items():
            if not self._plain_element(value):
                self.tagged(value, f"{field}.{name}")

    def dte(self, dte: DataToExport, field: str) -> None:
        self.string("DataToExport", f"{field}.class_name")
        if not self._plain_number(dte.timestamp):
            self.scalar(dte.timestamp, f"{field}.timestamp")
        self.string(dte.name, f"{field}.name")
        self.objects(dte.data, f"{field}.data", DataWithAxes, "dwa")

    def parameter(self, parameter: ParameterWithPath, field: str) -> None:
        self.sequence(parameter.path, f"{field}.path")
        self.string(parameter.xml, f"{field}.xml")

    def position(self, position: Any, field: str) -> None:
        if isinstance(position, DataActuator):
            self.dwa(position, field)
        else:
            self.scalar(float(position), field)  # 2.x–4.0 layout: a bare float

    def untagged(self, value: Any, field: str) -> None:
        """A top-level value, written as PyMoDAQ 4.4's ``Serializer(value).to_bytes()`` does."""
        _TAGGED_WRITERS[tag_of(value, field)](self, value, field)


def tag_of(value: Any, field: str) -> str:
    """The list tag PyMoDAQ 4.4 gives a value (``type_and_object_serialization``)."""
    tag = _TAGS_OF_TYPES.get(type(value))
    if tag is not None:
        return tag
    if isinstance(value, DataWithAxes):
        return "dwa"
    if isinstance(value, Axis):
        return "axis"
    if isinstance(value, np.ndarray):
        return "array"
    if isinstance(value, bytes):
        return "bytes"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (numbers.Number, np.number)):
        return "scalar"
    if isinstance(value, (tuple, list)):
        return "list"
    if isinstance(value, ParameterWithPath):
        return "parameter"
    if isinstance(value, DataToExport):
        return "dte"
    raise LocalProtocolError(
        f"a {type(value).__name__} cannot travel; expected a number, str, bytes, numpy array, "
        "list, Axis, DataWithAxes, DataToExport or ParameterWithPath",
        field,
    )


_TAGS_OF_TYPES: Dict[type, str] = {str: "string", float: "scalar", int: "scalar", bool: "bool", np.ndarray: "array"}
_TAGS_OF_TYPES.update({tuple: "list", list: "list", bytes: "bytes", Axis: "axis", DataWithAxes: "dwa"})
_TAGS_OF_TYPES.update({DataActuator: "dwa", DataToExport: "dte", ParameterWithPath: "parameter"})
"""``tag_of``'s answer for values of exactly these types, without its chain of isinstance checks."""

_TAGGED_WRITERS: Dict[str, Callable[[_Writer, Any, str], None]] = {
    "scalar": _Writer.scalar,
    "bool": _Writer.scalar,
    "string": _Writer.string,
    "bytes": lambda writer, value, field: writer.raw(value, field),
    "array": _Writer.array,
    "list": _Writer.sequence,
    "axis": _Writer.axis,
    "dwa": _Writer.dwa,
    "dte": _Writer.dte,
    "parameter": _Writer.parameter,
}
_TAG_STRS = {tag: encoded_str(tag) for tag in _TAGGED_WRITERS}  # each tag as STR
_LONGEST_TAG = max(map(len, _TAGGED_WRITERS))


def encode_value(value: Any, limits: Limits = DEFAULT_LIMITS) -> List[Chunk]:
    """Encode one value as PyMoDAQ 4.4's ``Serializer(value).to_bytes()`` does.

    Strings become STR, numbers SCAL, arrays ARR, tuples and lists LIST, and Axis,
    DataWithAxes and DataToExport their object layouts.

    Raises:
        LocalProtocolError: the value cannot travel or exceeds ``limits``.
    """
    writer = _Writer(limits)
    writer.untagged(value, type(value).__name__)
    return writer.chunks()


def encode_message(message: Message, limits: Limits = DEFAULT_LIMITS) -> List[Chunk]:
    """Encode a message: its command string, then its payload.

    Positions given as floats and ``Done`` data given as a tuple use the 2.x–4.0
    layout; DataActuator and DataToExport use the 4.4 one.

    Raises:
        LocalProtocolError: the message cannot travel or exceeds ``limits``.
    """
    writer = _Writer(limits)
    name = type(message).__name__
    writer.string(message.command, f"{name}.command")
    if isinstance(message, _PositionMessage):
        writer.position(message.position, f"{name}.position")
    elif isinstance(message, _PathXmlMessage):
        writer.sequence(message.path, f"{name}.path")
        writer.string(message.xml, f"{name}.xml")
    elif isinstance(message, Infos):
        writer.string(message.xml, f"{name}.xml")
    elif isinstance(message, Info):
        writer.string(message.name, f"{name}.name")
        writer.string(message.value, f"{name}.value")
    elif isinstance(message, DataReady):
        if isinstance(message.data, DataToExport):
            writer.dte(message.data, f"{name}.data")
        else:
            writer.sequence(message.data, f"{name}.data")
    elif isinstance(message, AuthChallenge):
        writer.string(message.nonce, f"{name}.nonce")
    elif isinstance(message, AuthResponse):
        writer.string(message.digest, f"{name}.digest")
    elif isinstance(message, LegacyAxis):
        writer.array(message.data, f"{name}.data")
        writer.string(message.label, f"{name}.label")
        writer.string(message.units, f"{name}.units")
    elif not isinstance(message, (Hello, SendData, GetActuatorValue, _EmptyMessage)):
        raise LocalProtocolError(f"not a protocol message: {type(message).__name__}", "message")
    return writer.chunks()


def join_chunks(chunks: List[Chunk]) -> bytes:
    """All chunks as one bytes object (copies the pixels: for tests and small messages)."""
    return b"".join(chunks)
