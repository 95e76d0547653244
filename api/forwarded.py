"""The client's address behind reverse proxies, believed only from proxies we trust.

``X-Forwarded-For`` is a list each proxy appends its peer to: ``client, proxy1, proxy2``.
Anyone can send the header, so it is read only when the direct peer is one of the
configured ``trusted_proxies`` (setting), and then from the right: the first address that
is not a trusted proxy is the client (the leftmost entries may be forged by the client
itself). Sign-in limits and the audit trail rely on ``request.client`` being that address.

Uvicorn's own proxy-header handling is switched off (``kilowatch serve``) so this is the
only rule.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


class TrustedProxies:
    """The configured proxies and the rule that finds the client behind them."""

    def __init__(self, proxies: Sequence[str]) -> None:
        self.networks: list[Network] = [ipaddress.ip_network(p, strict=False) for p in proxies]

    def trusts(self, host: str) -> bool:
        address = _address(host)
        return address is not None and any(address in network for network in self.networks)

    def client_behind(self, peer: str, forwarded_for: str | None) -> str:
        """The client's address given the direct peer and its X-Forwarded-For header."""
        if not forwarded_for or not self.trusts(peer):
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:
                return peer  # a trusted proxy wrote garbage: fall back to what we saw
            if not self.trusts(hop):
                return str(address)
        return str(_address(hops[0])) if hops else peer  # proxies all the way


class ForwardedClientMiddleware:
    """Pure ASGI: rewrites ``scope["client"]`` to the client behind trusted proxies."""

    def __init__(self, app: ASGIApp, proxies: Sequence[str]) -> None:
        self.app = app
        self.proxies = TrustedProxies(proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] in {"http", "websocket"} and client and self.proxies.networks:
            # Several X-Forwarded-For headers are one list, in order.
            values = Headers(scope=scope).getlist("x-forwarded-for")
            host = self.proxies.client_behind(client[0], ",".join(values) or None)
            if host != client[0]:
                scope = {**scope, "client": (host, 0)}
        await self.app(scope, receive, send)
