"""Optional shared-secret authentication: a challenge and an HMAC-SHA256 answer.

PyMoDAQ's protocol has no authentication, so this is this package's extension, off by
default (stock PyMoDAQ clients keep working). When the PyMoDAQ side has a secret, right
after a client's ``GRABBER``/``ACTUATOR`` it sends ``auth_challenge`` with a fresh random
nonce; the client must answer ``auth_response`` with

    HMAC-SHA256(secret, "pymodaq_plugins_scopeone auth v1|" + client type + "|" + nonce)

in lowercase hex, before anything else. A wrong or late answer drops the connection before
any command is read. The nonce is new for every connection, so a recorded answer is
worthless; the secret itself never travels. Standard library only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from ._messages import AUTH_HEX_DIGITS, ClientType

_CONTEXT = "pymodaq_plugins_scopeone auth v1"


def new_nonce() -> str:
    """A fresh random challenge (32 bytes, hex)."""
    return secrets.token_hex(AUTH_HEX_DIGITS // 2)


def auth_digest(secret: bytes, nonce: str, client_type: ClientType) -> str:
    """The answer to a challenge, for a client of ``client_type`` holding ``secret``."""
    message = f"{_CONTEXT}|{client_type.value}|{nonce}".encode("ascii")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def digest_matches(secret: bytes, nonce: str, client_type: ClientType, digest: str) -> bool:
    """Whether ``digest`` answers ``nonce`` (compared in constant time)."""
    return hmac.compare_digest(auth_digest(secret, nonce, client_type), digest)
