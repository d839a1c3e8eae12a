"""The agent's settings tree mirrored into a plugin's settings group (PyMoDAQ side).

The agent describes its settings as PyMoDAQ parameter XML: the whole tree in ``Infos``
when it connects, one parameter in ``Info_xml`` after each change (its read-back value,
which wins over what the dashboard asked for). The plugin keeps a copy in a group of
its own settings, ``settings_client`` as in PyMoDAQ 4.4; a dashboard edit there goes
back to the agent as ``set_info`` with the path below that group.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from typing import Any, Dict, List, Optional, Tuple

from pymodaq_gui.parameter import Parameter, ioxml

MIRROR_GROUP = "settings_client"
_ROOT_NAMES = ("Settings", "settings", MIRROR_GROUP, "detector_settings", "move_settings")


def _titles(xml: str) -> Dict[Tuple[str, ...], str]:
    """Titles by path: PyMoDAQ 5's reader drops the ``title`` attribute of 4.4-style XML."""
    if "<!DOCTYPE" in xml or "<!ENTITY" in xml:  # never expand a peer's entities
        return {}
    titles: Dict[Tuple[str, ...], str] = {}

    def walk(element: ElementTree.Element, path: Tuple[str, ...]) -> None:
        for child in element:
            child_path = (*path, child.tag)
            if child.get("title"):
                titles[child_path] = str(child.get("title"))
            walk(child, child_path)

    walk(ElementTree.fromstring(xml), ())
    return titles


def _with_titles(
    children: List[Dict[str, Any]], titles: Dict[Tuple[str, ...], str], path: Tuple[str, ...] = ()
) -> None:
    for child in children:
        child_path = (*path, child["name"])
        child.setdefault("title", titles.get(child_path, child["name"]))
        _with_titles(child.get("children") or [], titles, child_path)


def mirror_tree(group: Parameter, infos_xml: str) -> None:
    """Show the agent's whole tree in ``group``: values updated, new parameters added.

    Parameters the agent no longer has are left (PyMoDAQ 5 does not forward removals to
    the dashboard's copy of the settings, so removing them would make the two differ).
    """
    children = ioxml.XML_string_to_parameter(infos_xml)
    _with_titles(children, _titles(infos_xml))
    _merge(group, children)


def _merge(group: Parameter, children: List[Dict[str, Any]]) -> None:
    for state in children:
        existing = _child(group, state["name"])
        if existing is None:
            group.addChild(state)
        elif state.get("children"):
            _merge(existing, state["children"])
        elif "value" in state:
            _set(existing, state)


def _child(group: Parameter, name: str) -> Optional[Parameter]:
    for child in group.children():
        if child.name() == name:
            return child
    return None


def _set(param: Parameter, state: Dict[str, Any]) -> None:
    if "limits" in state:
        param.setLimits(state["limits"])
    param.setValue(state["value"])


def apply_setting(group: Parameter, path: Tuple[str, ...], xml: str) -> Optional[Parameter]:
    """Apply one ``Info_xml`` to the mirror; the updated parameter, or None if it is unknown.

    The agent's path may start with its root name (``detector_settings``...): the longest
    tail of the path that exists below ``group`` is used, as the agent itself resolves ours.
    """
    states = ioxml.XML_string_to_parameter(xml)
    if not states:
        return None
    state = states[0]
    parts = [part for part in path if part not in _ROOT_NAMES]
    if not parts or parts[-1] != state["name"]:
        parts.append(state["name"])
    for start in range(len(parts)):
        param = _find(group, parts[start:])
        if param is not None:
            if "value" in state and not state.get("children"):
                _set(param, state)
            return param
    return None


def _find(group: Parameter, path: List[str]) -> Optional[Parameter]:
    node: Optional[Parameter] = group
    for name in path:
        node = _child(node, name) if node is not None else None
    return node


def setting_path(param: Parameter) -> Optional[Tuple[str, ...]]:
    """The ``set_info`` path of ``param`` if it is in a mirror group (else None).

    ``commit_settings`` may get the dashboard's copy of the parameter rather than the
    plugin's own, so the path is found by walking up to the mirror group, whichever tree.
    """
    names: List[str] = []
    node: Optional[Parameter] = param
    while node is not None and node.name() != MIRROR_GROUP:
        names.insert(0, node.name())
        node = node.parent()
    return (MIRROR_GROUP, *names) if node is not None and names else None


def setting_xml(param: Parameter) -> str:
    """The XML of one parameter, as PyMoDAQ writes it for ``set_info`` (ASCII, µ escaped)."""
    return bytes(ioxml.parameter_to_xml_string(param)).decode("ascii")
