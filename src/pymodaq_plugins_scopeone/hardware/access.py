"""Who may connect to the PyMoDAQ side: address allow-list, per-address cap, shared secret.

Checked in this order, each before anything more is read from the peer:

1. the peer address must be in ``allowed_networks`` (CIDR; empty = everybody) — checked
   right after ``accept``, before a single byte is read;
2. at most ``max_connections_per_address`` open connections per peer address;
3. with a ``secret``, the peer must answer the ``auth_challenge`` sent right after its
   client type (see ``protocol/_auth.py``) before any other message is accepted.

All three are off by default so that stock PyMoDAQ clients work as they always did.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Optional, Tuple, Union

from ..protocol import AuthChallenge, AuthResponse, ClientType, digest_matches, new_nonce
from ..transport import MessageStream, TransportError

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


class AccessDenied(TransportError):
    """A peer was refused (address, connection count or authentication)."""


def parse_networks(text: str) -> Tuple[Network, ...]:
    """Networks from a comma-separated text, e.g. ``"192.168.10.0/24, 10.0.0.7"``.

    Raises:
        ValueError: an entry is not an address or CIDR network (the message names it).
    """
    networks = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"allowed networks: {entry!r} is not an IP address or CIDR network") from None
    return tuple(networks)


@dataclass(frozen=True)
class AccessPolicy:
    """What the shared port accepts.

    Attributes:
        allowed_networks: peer networks allowed to connect (empty: any).
        max_connections_per_address: open connections one peer address may hold.
        secret: shared secret for challenge–response authentication (None: off).
    """

    allowed_networks: Tuple[Network, ...] = ()
    max_connections_per_address: int = 8
    secret: Optional[bytes] = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.max_connections_per_address < 1:
            raise ValueError(f"max_connections_per_address must be at least 1, got {self.max_connections_per_address}")
        if self.secret is not None and len(self.secret) < 8:
            raise ValueError("the shared secret must be at least 8 bytes long")

    def address_allowed(self, address: str) -> bool:
        """Whether a peer address may connect at all."""
        if not self.allowed_networks:
            return True
        try:
            ip = ipaddress.ip_address(address.split("%")[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # an IPv4 peer seen through a dual-stack socket
        return any(ip in network for network in self.allowed_networks if network.version == ip.version)

    def authenticate(self, stream: MessageStream, client_type: ClientType, timeout_s: float) -> None:
        """Challenge the peer when a secret is set; return only if it proved it holds it.

        Raises:
            AccessDenied: no answer in time, another message, or a wrong answer.
        """
        if self.secret is None:
            return
        nonce = new_nonce()
        stream.send(AuthChallenge(nonce))
        answer = stream.receive(timeout_s)
        if not isinstance(answer, AuthResponse):
            raise AccessDenied(
                f"{stream.peer}: expected auth_response within {timeout_s:g} s (this port requires the shared "
                f"secret: give it to scopeone-agent with --secret-file), got {answer!r}"
            )
        if not digest_matches(self.secret, nonce, client_type, answer.digest):
            raise AccessDenied(f"{stream.peer}: wrong authentication answer (the shared secrets differ)")


OPEN_ACCESS = AccessPolicy()
"""The default: any address, 8 connections per address, no secret (as PyMoDAQ 4.4)."""
