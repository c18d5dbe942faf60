"""Refuse outgoing request targets (webhook receivers, LTI tool key sets) that resolve to
non-public addresses (SSRF guard), and send to the vetted addresses only."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx


class UnsafeTarget(Exception):
    """The URL is not an http(s) URL on a public address."""


class UnresolvedTarget(UnsafeTarget):
    """The host did not resolve: refused when registering, but at send time possibly a
    passing DNS failure, worth another attempt."""


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # is_global is False for private, loopback, link-local, shared (CGNAT), reserved and
    # unspecified ranges; multicast is refused on its own.
    return ip.is_global and not ip.is_multicast


def _host_and_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget("only http and https URLs are allowed")
    host = parts.hostname
    if not host:
        raise UnsafeTarget("the URL has no host")
    try:
        return host, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeTarget("the URL has an invalid port") from exc


def vetted_addresses(url: str, *, allow_private: bool) -> list[str]:
    """Resolve the host of `url` once and return its addresses, each checked; never empty."""
    host, port = _host_and_port(url)
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError) as exc:
        raise UnresolvedTarget(f"the host {host!r} does not resolve") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise UnresolvedTarget(f"the host {host!r} does not resolve")
    if not allow_private and not all(_is_public(address) for address in addresses):
        raise UnsafeTarget(f"the host {host!r} resolves to a non-public address")
    return addresses


def check_target(url: str, *, allow_private: bool) -> None:
    """Raise UnsafeTarget unless `url` may be registered as a webhook target."""
    if allow_private:
        # Development targets need not resolve yet; only the URL's shape is checked.
        _host_and_port(url)
    else:
        vetted_addresses(url, allow_private=False)


def send_to_first_reachable(
    client: httpx.Client,
    method: str,
    url: httpx.URL,
    addresses: list[str],
    *,
    headers: dict[str, str],
    content: bytes | None = None,
) -> httpx.Response:
    """Send to the first of `addresses` (from `vetted_addresses`) that accepts a connection,
    as a plain connect would."""
    # The URL carries the vetted IP so httpx never looks the name up again (DNS rebinding);
    # Host and, for https, the SNI name and certificate check keep the real name.
    extensions: dict[str, Any] = {"sni_hostname": url.raw_host.decode("ascii")}
    headers = {**headers, "Host": url.netloc.decode("ascii")}

    def send(address: str) -> httpx.Response:
        return client.request(
            method,
            url.copy_with(host=address),
            content=content,
            headers=headers,
            extensions=extensions,
        )

    for address in addresses[:-1]:
        try:
            return send(address)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            continue  # nothing was sent to this address
    return send(addresses[-1])
