"""What a module shows about its agent link, and how agent ``Info`` lines are read (Qt-free).

The agent reports with ``Info(name, value)`` lines: ``ScopeOne`` carries ScopeOne's state
text; errors are named ``grab error``, ``move error``, ``set_info error``, ``agent error``
(docs/decisions/0003), and ScopeOne's own texts may say "Stage move failed". We do not
rely on one exact vocabulary: a line whose name or value says *error* or *fail* is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Optional

from ..protocol import Info
from .agent_server import AgentLink

SCOPEONE_INFO = "ScopeOne"  # the Info name carrying ScopeOne's state text
_ERROR_WORDS = re.compile(r"error|fail", re.IGNORECASE)


def is_error_info(info: Info) -> bool:
    """True if the agent's line reports an error (its name or value says error/failed)."""
    return bool(_ERROR_WORDS.search(info.name) or _ERROR_WORDS.search(info.value))


def info_text(info: Info) -> str:
    """One line for the status bar: ``name: value``."""
    return f"{info.name}: {info.value}" if info.name else info.value


@dataclass(frozen=True)
class LinkStatus:
    """The link as a module displays it.

    Attributes:
        port: the local TCP port agents connect to.
        agent: ``host:port`` of the connected agent, '' while none is connected.
        scopeone: the last ScopeOne state text the agent reported.
        last_error: the last error (agent line, lost connection, timeout), '' if none yet.
    """

    port: int
    agent: str = ""
    scopeone: str = ""
    last_error: str = ""

    @property
    def connected(self) -> bool:
        return bool(self.agent)

    def waiting_text(self) -> str:
        """What the module says while no agent is connected."""
        return f"waiting for agent on port {self.port}"

    def summary(self) -> str:
        """One status line: who is connected and ScopeOne's state."""
        if not self.connected:
            return self.waiting_text()
        state = f", ScopeOne: {self.scopeone}" if self.scopeone else ""
        return f"agent {self.agent} connected{state}"

    def with_agent(self, link: Optional[AgentLink]) -> LinkStatus:
        handshake = link.handshake if link is not None else None
        return replace(self, agent=handshake.peer if handshake is not None else "")

    def with_info(self, info: Info) -> LinkStatus:
        """The status after an agent line (ScopeOne state or error)."""
        status = self
        if info.name == SCOPEONE_INFO:
            status = replace(status, scopeone=info.value)
        if is_error_info(info):
            status = replace(status, last_error=info_text(info))
        return status

    def with_error(self, text: str) -> LinkStatus:
        return replace(self, last_error=text)
