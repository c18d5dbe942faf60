"""Refuse webhook targets that resolve to non-public addresses (SSRF guard)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class UnsafeTarget(Exception):
    """The URL is not an http(s) URL on a public address."""


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # is_global is False for private, loopback, link-local, shared (CGNAT), reserved and
    # unspecified ranges; multicast is refused on its own.
    return ip.is_global and not ip.is_multicast


def check_target(url: str, *, allow_private: bool) -> None:
    """Raise UnsafeTarget unless `url` may be called; resolves the host (every address)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget("only http and https URLs are allowed")
    host = parts.hostname
    if not host:
        raise UnsafeTarget("the URL has no host")
    if allow_private:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError) as exc:
        raise UnsafeTarget(f"the host {host!r} does not resolve") from exc
    for info in infos:
        if not _is_public(str(info[4][0])):
            raise UnsafeTarget(f"the host {host!r} resolves to a non-public address")
