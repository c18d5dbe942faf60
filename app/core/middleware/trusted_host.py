"""Rejects requests whose Host header is not in TRUSTED_HOSTS, as a problem response."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.errors import problem_response


class TrustedHostMiddleware:
    def __init__(self, app: ASGIApp, *, allowed_hosts: list[str]) -> None:
        self.app = app
        self.allow_any = "*" in allowed_hosts
        self.exact = {host for host in allowed_hosts if not host.startswith("*.")}
        self.suffixes = tuple(host[1:] for host in allowed_hosts if host.startswith("*."))

    def _allowed(self, host: str) -> bool:
        return (
            self.allow_any
            or host in self.exact
            or (bool(self.suffixes) and host.endswith(self.suffixes))
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host_header = Headers(scope=scope).get("host", "")
        host = host_header.rsplit(":", 1)[0] if not host_header.endswith("]") else host_header
        if self._allowed(host):
            await self.app(scope, receive, send)
            return
        response = problem_response(
            Request(scope),
            status=400,
            title="Bad request",
            detail="Host header is not allowed",
            code="invalid_host",
        )
        await response(scope, receive, send)
