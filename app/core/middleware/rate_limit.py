"""Applies the shared limiter per client (user id when a valid token is presented, else the
client IP) and path rule; adds X-RateLimit-* headers and answers 429 with Retry-After."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.dependencies import ACCESS_COOKIE
from app.core.errors import Unauthorized, problem_response
from app.core.ratelimit import client_ip, get_rate_limiter
from app.core.security import TokenType, decode_token


def _client(connection: HTTPConnection) -> str:
    """`user:<id>` for a validly signed access token (header or cookie), else `ip:<addr>`."""
    authorization = connection.headers.get("authorization", "")
    token = authorization[7:].strip() if authorization.lower().startswith("bearer ") else None
    token = token or connection.cookies.get(ACCESS_COOKIE)
    if token:
        try:
            claims = decode_token(token, expected_type=TokenType.ACCESS)
            return f"user:{claims['sub']}"
        except Unauthorized:
            pass
    return f"ip:{client_ip(connection)}"


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        limiter = get_rate_limiter()
        rule = limiter.rule_for(scope["path"])
        if rule is None:
            await self.app(scope, receive, send)
            return
        decision = await limiter.hit(rule, _client(HTTPConnection(scope)))
        rate_headers = {
            "X-RateLimit-Limit": str(decision.limit),
            "X-RateLimit-Remaining": str(decision.remaining),
            "X-RateLimit-Reset": str(decision.reset_at),
        }
        if not decision.allowed:
            response = problem_response(
                Request(scope),
                status=429,
                title="Too many requests",
                detail=f"Rate limit exceeded for '{rule.name}'; retry after "
                f"{decision.retry_after} seconds.",
                code="rate_limited",
                headers={**rate_headers, "Retry-After": str(decision.retry_after)},
            )
            await response(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in rate_headers.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_wrapper)
