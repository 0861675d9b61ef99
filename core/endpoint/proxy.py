"""The client's address: the TCP peer's, or, when the peer is a trusted reverse proxy, the
rightmost address in X-Forwarded-For that is not itself a trusted proxy.

Anyone can write an X-Forwarded-For header, so it is believed only as far as the chain of
trusted proxies reaches: each appends the address it saw, so reading from the right, the first
address that is not a trusted proxy is the one a trusted proxy saw connect. Everything left of
it was written by the client and is ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from core.endpoint.settings import Network

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def plain(address: Address) -> Address:
    """::ffff:192.0.2.1 (an IPv4 client of a dual-stack socket) as 192.0.2.1."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def parse(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443, as some proxies write it
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # 192.0.2.1:443
        text = text.split(":", 1)[0]
    if "%" in text:  # a zone id: no use to anyone outside this host
        return None
    try:
        return plain(ipaddress.ip_address(text))
    except ValueError:
        return None


def trusted(address: Address, proxies: Sequence[Network]) -> bool:
    return any(address.version == n.version and address in n for n in proxies)


def client_ip(
    peer: str | None, forwarded_for: Sequence[str], proxies: Sequence[Network]
) -> str | None:
    """The client's address as text, or None when not even the peer's is known.

    `forwarded_for` is every X-Forwarded-For header of the request, in order."""
    here = parse(peer) if peer else None
    if here is None:
        return None
    if not proxies or not trusted(here, proxies):
        return str(here)
    hops = [hop for header in forwarded_for for hop in header.split(",")]
    for hop in reversed(hops):
        address = parse(hop)
        if address is None:
            break  # garbage from the client side: the last trusted hop is all we know
        here = address
        if not trusted(address, proxies):
            break
    return str(here)
