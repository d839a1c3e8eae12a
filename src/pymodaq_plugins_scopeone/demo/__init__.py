"""``scopeone-demo``: the stand-in, the agent and PyMoDAQ's dashboard on one machine (see ``_cli``)."""

from ._cli import main

__all__ = ["main"]
