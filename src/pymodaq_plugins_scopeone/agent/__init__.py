"""``scopeone-agent``: the thin program next to ScopeOne on the microscope PC.

It connects out to the PyMoDAQ PC over PyMoDAQ's classic TCP/IP protocol (one client
connection per module: a GRABBER per camera, an ACTUATOR per stage axis), drives ScopeOne
through its Local API (AF_UNIX socket / named pipe + the shared frame block) and streams
camera frames back. Standard library + numpy only (plus this package's codec and transport);
Python ≥ 3.8 syntax. See docs/decisions/0003 and 0004.

Use::

    scopeone-agent --server 192.168.1.20 --camera Camera --axes X,Y,Z

or in Python::

    from pymodaq_plugins_scopeone.agent import Agent, AgentConfig
    with Agent(AgentConfig(server_host="192.168.1.20")):
        ...
"""

from ._agent import Agent
from ._cli import main
from ._config import AgentConfig
from ._errors import AgentError, ScopeOneApiError, ScopeOneTimeout, ScopeOneUnavailable

__all__ = ["Agent", "AgentConfig", "AgentError", "ScopeOneApiError", "ScopeOneTimeout", "ScopeOneUnavailable", "main"]
