"""Errors of the agent; all derive from the package's :class:`ScopeOneError`."""

from __future__ import annotations

from ..protocol import ScopeOneError


class AgentError(ScopeOneError):
    """Base of the errors raised on purpose by the agent."""


class ScopeOneUnavailable(AgentError):
    """ScopeOne's Local API cannot be reached (not running, restarting, connection lost)."""


class ScopeOneTimeout(AgentError):
    """ScopeOne did not answer a request in time."""

    def __init__(self, request_type: str, timeout_s: float) -> None:
        super().__init__(f"ScopeOne did not answer {request_type!r} within {timeout_s:g} s")
        self.request_type = request_type
        self.timeout_s = timeout_s


class ScopeOneApiError(AgentError):
    """ScopeOne answered ``ok: false``; ``text`` is its own error text, passed on verbatim."""

    def __init__(self, request_type: str, text: str) -> None:
        super().__init__(f"ScopeOne refused {request_type!r}: {text}")
        self.request_type = request_type
        self.text = text


class LocalApiProtocolError(AgentError):
    """ScopeOne (or whatever listens on its endpoint) broke the Local API framing or schema."""


class FrameError(AgentError):
    """The shared frame block does not hold the frame a response announced (or is invalid)."""


class TornFrame(FrameError):
    """The frame block was overwritten while we copied it (another export); retry."""


class ConfigError(AgentError):
    """A command-line option or configuration-file value is invalid."""
