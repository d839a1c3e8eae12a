"""Small helpers shared by the agent tests."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from typing import Any, Callable, Dict, Optional, Tuple

from pymodaq_plugins_scopeone.protocol import InfoXml, SetInfo

from .scripted_server import Peer


def param_xml(name: str, kind: str, value: Any) -> str:
    """One parameter as PyMoDAQ 4.4's parameter_to_xml_string writes it (hand-written here)."""
    if kind == "bool":
        text = "1" if value else "0"
    elif kind == "list":
        text = f"str('{value}')" if isinstance(value, str) else f"int({value})"
    else:
        text = str(value)
    return f'<{name} type="{kind}" title="{name}" visible="1" removable="0" readonly="0">{text}</{name}>'


def set_info(peer: Peer, path: Tuple[str, ...], kind: str, value: Any) -> None:
    """``set_info`` as PyMoDAQ 4.4's TCP server sends it (path below settings_client)."""
    peer.send(SetInfo(path, param_xml(path[-1], kind, value)))


def xml_value(xml: str, *path: str) -> Optional[str]:
    """Text of the element at ``path`` below the root of ``xml`` (None if absent)."""
    node: Optional[ET.Element] = ET.fromstring(xml)
    for name in path:
        assert node is not None
        node = node.find(name)
        if node is None:
            return None
    assert node is not None
    return node.text


def wait_info_xml(
    peer: Peer, path: Tuple[str, ...], predicate: Callable[[str], bool], timeout_s: float = 5.0
) -> InfoXml:
    """The next ``Info_xml`` for ``path`` whose XML text value satisfies ``predicate``."""
    deadline = time.monotonic() + timeout_s
    seen: Dict[str, int] = {}
    while time.monotonic() < deadline:
        try:
            message = peer.expect(InfoXml, max(0.01, deadline - time.monotonic()), skip_info=True)
        except AssertionError:
            break
        if tuple(message.path) == path and predicate(ET.fromstring(message.xml).text or ""):
            return message
        seen[f"{message.path}:{ET.fromstring(message.xml).text}"] = 1
    raise AssertionError(f"no Info_xml {path} matching within {timeout_s} s; saw {list(seen)}")


def wait_until(condition: Callable[[], bool], timeout_s: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout_s} s")
        time.sleep(0.01)
