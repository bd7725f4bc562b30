"""Who is asking: the client address the pull log records.

The address is the TCP peer's, unless the peer is one of the reverse proxies named in
``HUB_PULL_TRUSTED_PROXIES``: then ``X-Forwarded-For`` is read from its right end, skipping the
trusted proxies' own entries, and the first other entry is the client (the one address a trusted
proxy vouches for; anything left of it was written by the client and proves nothing). A header
from any other peer is ignored.
"""

from __future__ import annotations

import ipaddress

from hub.publish.config import Network


def _trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(
    peer: str | None, forwarded_for: list[str], trusted: tuple[Network, ...]
) -> str | None:
    """The client of a request from ``peer`` carrying ``X-Forwarded-For`` values ``forwarded_for``.

    Args:
        peer: the TCP peer's address (``None`` when the server does not know it).
        forwarded_for: every ``X-Forwarded-For`` header of the request, in order.
        trusted: the trusted proxies' networks.
    """
    if peer is None or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer
