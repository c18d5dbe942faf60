"""Timestamped HMAC-SHA256 signatures: `t=<unix seconds>,v1=<hex>` over "{t}.{body}".

Outgoing webhooks (`X-LMS-Signature`) and the sandbox payment gateway (`Sandbox-Signature`)
use this scheme, the same one Stripe uses. A receiver verifies by recomputing the HMAC with
the shared secret over the timestamp, a dot and the raw body bytes, comparing in constant
time, and refusing timestamps older than the tolerance (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import time

from app.core.security import tokens_equal

DEFAULT_TOLERANCE_SECONDS = 300


class InvalidSignature(Exception):
    """The signature header is missing, malformed, wrong or too old."""


def compute(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The header value for `body` signed now (or at `timestamp`)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return f"t={stamp},v1={compute(secret, stamp, body)}"


def verify(
    secret: str,
    body: bytes,
    header: str | None,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Check `header` for `body`; returns the signed timestamp or raises InvalidSignature."""
    if not header:
        raise InvalidSignature("missing signature header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise InvalidSignature("malformed signature header")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise InvalidSignature("signature timestamp outside the tolerance")
    expected = compute(secret, timestamp, body)
    # Several v1 values are allowed so a secret can be rotated without downtime.
    if not any(tokens_equal(expected, candidate) for candidate in candidates):
        raise InvalidSignature("signature does not match")
    return timestamp
