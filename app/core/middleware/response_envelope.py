"""Optional envelope (`RESPONSE_ENVELOPE_ENABLED`): successful JSON responses become
`{success, data, message, timestamp}`. Errors, docs, health and metrics are left alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SKIPPED_PREFIXES = (
    "/docs",
    "/redoc",
    "/openapi.json",
    "/metrics",
    "/static-offline-docs",
    "/api/v1/health",
    "/api/v1/ready",
    # Documents third-party verifiers fetch as their specifications define them.
    "/.well-known/",
    "/api/v1/credentials/jwks",
    # Read by LTI tools as the standards define them (a JWK set, an OAuth token answer).
    "/api/v1/lti/jwks",
    "/api/v1/lti/token",
)


class ResponseEnvelopeMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(SKIPPED_PREFIXES):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []
        wrap = False

        async def send_wrapper(message: Message) -> None:
            nonlocal start, wrap
            if message["type"] == "http.response.start":
                content_type = MutableHeaders(scope=message).get("content-type", "")
                wrap = 200 <= message["status"] < 300 and content_type.startswith(
                    "application/json"
                )
                if not wrap:
                    await send(message)
                    return
                start = message
                return
            if not wrap:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            assert start is not None
            raw = b"".join(chunks)
            data = json.loads(raw) if raw else None
            body = json.dumps(
                {
                    "success": True,
                    "data": data,
                    "message": "OK",
                    "timestamp": datetime.now(UTC).isoformat(),
                }
            ).encode()
            headers = MutableHeaders(scope=start)
            headers["content-length"] = str(len(body))
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, receive, send_wrapper)
