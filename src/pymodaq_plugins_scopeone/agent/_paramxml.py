"""PyMoDAQ parameter trees as XML, built and read by hand (the agent has no PyMoDAQ).

Writing reproduces ``pymodaq.utils.parameter.ioxml.parameter_to_xml_string`` of PyMoDAQ 4.4
byte for byte (it is ElementTree too): one element per parameter, named after it, with the
attributes ``type``, ``title``, ``visible``, ``removable``, ``readonly`` and, for lists,
``limits`` (the Python ``str()`` of the list), in that order; the value is the element text:
``1``/``0`` for bools, ``int(1)``/``float(1.5)``/``str('8bit')`` for list values, ``str()``
otherwise (``None`` for actions); groups hold their children instead. ``ET.tostring`` writes
ASCII, so ``µ`` becomes ``&#181;``. PyMoDAQ 5 writes a few more attributes that its reader
does not need; both readers accept this layout.

Reading (``set_info`` from the PyMoDAQ side) accepts both layouts and never ``eval``\\ s:
list values are read with :func:`ast.literal_eval` of the part between the parentheses.
"""

from __future__ import annotations

import ast
import dataclasses
import xml.etree.ElementTree as ET
from typing import Any, Iterator, List, Optional, Sequence, Tuple

from ._errors import AgentError

ParamPath = Tuple[str, ...]


class ParameterXmlError(AgentError):
    """XML from the PyMoDAQ side that is not a parameter we can read."""


@dataclasses.dataclass
class Param:
    """One PyMoDAQ parameter (``type``: group, bool, int, float, str, list or action)."""

    name: str
    type: str
    title: str = ""
    value: Any = None
    readonly: bool = False
    visible: bool = True
    limits: Optional[List[Any]] = None
    children: List[Param] = dataclasses.field(default_factory=list)

    def child(self, *path: str) -> Param:
        """The descendant at ``path`` (KeyError if absent)."""
        node = self
        for name in path:
            for candidate in node.children:
                if candidate.name == name:
                    node = candidate
                    break
            else:
                raise KeyError("/".join(path))
        return node

    def walk(self, prefix: ParamPath = ()) -> Iterator[Tuple[ParamPath, Param]]:
        """Every descendant with its path below this parameter (depth first)."""
        for child in self.children:
            path = (*prefix, child.name)
            yield path, child
            yield from child.walk(path)


def _value_text(param: Param) -> Optional[str]:
    kind, value = param.type, param.value
    if "group" in kind:
        return None
    if "bool" in kind or "led" in kind:
        return "1" if value else "0"
    if kind == "list":
        if isinstance(value, str):
            return f"str('{value}')"
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, int):
            return f"int({value})"
        if isinstance(value, float):
            return f"float({value})"
        return str(value)
    if kind == "int":
        return str(1 if value is True else value)
    return str(value)


def to_element(param: Param) -> ET.Element:
    """The ElementTree element PyMoDAQ 4.4 builds for ``param`` (and its children)."""
    attributes = {
        "type": param.type,
        "title": param.title or param.name,
        "visible": "1" if param.visible else "0",
        "removable": "0",
        "readonly": "1" if param.readonly else "0",
    }
    if param.limits is not None:
        attributes["limits"] = str(list(param.limits))
    element = ET.Element(param.name, attributes)
    text = _value_text(param)
    if text is not None:
        element.text = text
    for child in param.children:
        element.append(to_element(child))
    return element


def to_xml(param: Param) -> str:
    """``parameter_to_xml_string(param)`` as text (PyMoDAQ returns the same bytes)."""
    return ET.tostring(to_element(param)).decode("ascii")


def _list_value(text: str) -> Any:
    for prefix in ("str(", "int(", "float("):
        if text.startswith(prefix) and text.endswith(")"):
            inner = text[len(prefix) : -1]
            try:
                value = ast.literal_eval(inner)
            except (ValueError, SyntaxError):
                return inner
            if prefix == "int(" and isinstance(value, (int, float)):
                return int(value)
            if prefix == "float(" and isinstance(value, (int, float)):
                return float(value)
            return value
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _parse_value(kind: str, text: Optional[str], name: str) -> Any:
    if text is None:
        return "" if kind == "str" else None
    try:
        if kind in ("float", "slide"):
            return float(text)
        if kind == "int":
            return int(float(text))
        if "bool" in kind or "led" in kind:
            return bool(int(text))
        if kind == "list":
            return _list_value(text)
    except (ValueError, OverflowError):  # OverflowError: int('inf' or '1e999')
        raise ParameterXmlError(f"parameter {name!r} of type {kind!r}: cannot read the value {text!r}") from None
    return text


def from_element(element: ET.Element) -> Param:
    """The :class:`Param` an element describes (values converted by type)."""
    kind = element.get("type")
    if kind is None:
        raise ParameterXmlError(f"parameter {element.tag!r} has no type attribute")
    param = Param(
        name=element.tag,
        type=kind,
        title=element.get("title") or element.tag,
        readonly=element.get("readonly") == "1",
        visible=element.get("visible", "1") != "0",
    )
    if "group" in kind:
        param.children = [from_element(child) for child in element]
    else:
        param.value = _parse_value(kind, element.text, element.tag)
    return param


def from_xml(xml: str) -> Param:
    """Parse one parameter's XML (as in ``set_info``); ParameterXmlError if it is not one."""
    if "<!DOCTYPE" in xml or "<!ENTITY" in xml:
        raise ParameterXmlError("parameter XML must not declare a DOCTYPE or entities")
    try:
        element = ET.fromstring(xml)
    except ET.ParseError as error:
        raise ParameterXmlError(f"parameter XML is not well-formed: {error}; got {xml[:120]!r}") from None
    return from_element(element)


ROOT_NAMES = ("Settings", "settings", "settings_client", "detector_settings", "move_settings")


def resolve_path(root: Param, path: Sequence[str], name: str) -> ParamPath:
    """Find the parameter a ``set_info`` path designates in ``root``'s tree.

    PyMoDAQ's clients drop the first path element (``settings.child(root, *path[1:])``) and
    PyMoDAQ 4.4's server sends the path below ``settings_client``; so leading root names are
    ignored, and the longest tail of ``path`` ending with ``name`` (the XML element's tag) that
    exists in the tree wins. KeyError if none does.
    """
    parts = list(path)
    while parts and parts[0] in ROOT_NAMES:
        parts.pop(0)
    if not parts or parts[-1] != name:
        parts.append(name)
    for start in range(len(parts)):
        candidate = tuple(parts[start:])
        try:
            root.child(*candidate)
        except KeyError:
            continue
        return candidate
    raise KeyError(f"no parameter {'/'.join(path) or name!r} (element {name!r}) in {root.name!r}")
