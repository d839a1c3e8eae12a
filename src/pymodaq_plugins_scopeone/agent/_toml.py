"""Reading ``agent.toml``: :mod:`tomllib` on Python ≥ 3.11, else a tiny documented subset.

The subset (enough for the agent's configuration, see ``docs``/``--help``):

* ``# comments`` (whole line or after a value), blank lines;
* ``[table]`` headers (one level, bare names);
* ``key = value`` with bare keys, where value is a basic string ``"..."`` (escapes ``\\"``,
  ``\\\\``, ``\\n``, ``\\t``), a literal string ``'...'``, an integer, a float, ``true`` /
  ``false``, or a one-line array of those.

Anything else (inline tables, multi-line strings or arrays, dotted keys, dates) is refused
with the line number, so a file never means something else than it says.
"""

from __future__ import annotations

import re
import sys
from typing import Any, Dict, List, Tuple

from ._errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib as _tomllib

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")
_INT = re.compile(r"[+-]?(0|[1-9](_?[0-9])*)\Z")
_FLOAT = re.compile(r"[+-]?(0|[1-9](_?[0-9])*)(\.[0-9](_?[0-9])*)?([eE][+-]?[0-9](_?[0-9])*)?\Z")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}


def loads(text: str) -> Dict[str, Any]:
    """Parse TOML text with tomllib if available, else with :func:`loads_subset`."""
    if sys.version_info >= (3, 11):
        try:
            return _tomllib.loads(text)
        except _tomllib.TOMLDecodeError as error:
            raise ConfigError(f"invalid TOML: {error}") from None
    else:  # pragma: no cover - Python 3.8-3.10
        return loads_subset(text)


def loads_subset(text: str) -> Dict[str, Any]:
    """Parse the subset described in the module docstring; ConfigError names the line."""
    document: Dict[str, Any] = {}
    table = document
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            if line.startswith("["):
                table = _open_table(document, line)
                continue
            key, sep, rest = line.partition("=")
            key = key.strip()
            if not sep or not _BARE_KEY.match(key):
                raise ValueError(f"expected 'key = value' with a bare key, got {line!r}")
            if key in table:
                raise ValueError(f"key {key!r} defined twice")
            value, tail = _value(rest.strip())
            if tail.strip() and not tail.strip().startswith("#"):
                raise ValueError(f"unexpected text after the value: {tail.strip()!r}")
            table[key] = value
        except ValueError as error:
            raise ConfigError(f"line {number}: {error} (only a TOML subset is read on Python < 3.11)") from None
    return document


def _open_table(document: Dict[str, Any], line: str) -> Dict[str, Any]:
    head, _, tail = line.partition("]")
    name = head[1:].strip()
    if not _BARE_KEY.match(name) or (tail.strip() and not tail.strip().startswith("#")):
        raise ValueError(f"expected '[name]' with a bare name, got {line!r}")
    if name in document:
        raise ValueError(f"table [{name}] defined twice")
    table: Dict[str, Any] = {}
    document[name] = table
    return table


def _value(text: str) -> Tuple[Any, str]:
    if text.startswith('"'):
        return _basic_string(text)
    if text.startswith("'"):
        end = text.find("'", 1)
        if end < 0:
            raise ValueError("unterminated literal string")
        return text[1:end], text[end + 1 :]
    if text.startswith("["):
        return _array(text)
    token = re.split(r"[\s,\]#]", text, maxsplit=1)[0]
    rest = text[len(token) :]
    if token in ("true", "false"):
        return token == "true", rest
    if _INT.match(token):
        return int(token.replace("_", "")), rest
    if _FLOAT.match(token):
        return float(token.replace("_", "")), rest
    raise ValueError(f"unsupported value {token or text!r}")


def _basic_string(text: str) -> Tuple[str, str]:
    out: List[str] = []
    i = 1
    while i < len(text):
        char = text[i]
        if char == '"':
            return "".join(out), text[i + 1 :]
        if char == "\\":
            escaped = _ESCAPES.get(text[i + 1 : i + 2])
            if escaped is None:
                raise ValueError(f"unsupported escape {text[i : i + 2]!r}")
            out.append(escaped)
            i += 2
            continue
        out.append(char)
        i += 1
    raise ValueError("unterminated string")


def _array(text: str) -> Tuple[List[Any], str]:
    items: List[Any] = []
    rest = text[1:].lstrip()
    while True:
        if rest.startswith("]"):
            return items, rest[1:]
        if not rest:
            raise ValueError("unterminated array (arrays must fit on one line)")
        value, rest = _value(rest)
        items.append(value)
        rest = rest.lstrip()
        if rest.startswith(","):
            rest = rest[1:].lstrip()
        elif not rest.startswith("]"):
            raise ValueError(f"expected ',' or ']' in array, got {rest[:20]!r}")
