"""Exceptions of the whole package, rooted here because the codec is the bottom layer.

The tree says whose fault an error is, like h11's and httpcore's:

- ``LocalProtocolError``: we were asked to send something the protocol cannot carry;
- ``RemoteProtocolError``: the peer sent bytes that break the protocol or our limits.

Both carry a message that names the field and gives the expected and actual values.
"""

from __future__ import annotations


class ScopeOneError(Exception):
    """Base class of every error raised on purpose by pymodaq_plugins_scopeone."""


class ProtocolError(ScopeOneError):
    """A message that does not follow PyMoDAQ's classic TCP/IP protocol.

    Not raised directly: use :class:`LocalProtocolError` or :class:`RemoteProtocolError`.
    """

    def __init__(self, message: str, field: str = "") -> None:
        if type(self) is ProtocolError:
            raise TypeError("ProtocolError is abstract: raise LocalProtocolError or RemoteProtocolError")
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class LocalProtocolError(ProtocolError):
    """We tried to encode a value that the protocol (or our limits) cannot carry."""


class RemoteProtocolError(ProtocolError):
    """The peer sent bytes that break the protocol or exceed our limits.

    After this error the stream cannot be trusted any more: drop the connection.
    """


class LimitExceededError(RemoteProtocolError):
    """The peer announced a size beyond one of the configured :class:`Limits`."""
