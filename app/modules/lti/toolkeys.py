"""A tool's public keys (its pasted JWK, or its JWK set fetched from `jwks_url` through the
outgoing SSRF guard and cached) and the verification of the JWTs it signs: RS256 only, a
known `kid`, at most one minute of clock skew."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import httpx
import jwt

from app.core.cache import cache_get, cache_set
from app.core.config import get_settings
from app.core.errors import Unauthorized
from app.modules.lti.models import LtiTool
from app.modules.webhooks.ssrf import UnsafeTarget, send_to_first_reachable, vetted_addresses

logger = logging.getLogger("app.lti")

ALGORITHM = "RS256"
CLOCK_SKEW_SECONDS = 60
JWKS_CACHE_SECONDS = 300
MAX_JWKS_BYTES = 64 * 1024


class ToolKeyUnavailable(Exception):
    """The tool's JWK set could not be fetched or read."""


def _cache_key(url: str) -> str:
    return "lti:jwks:" + hashlib.sha256(url.encode()).hexdigest()


def fetch_jwks(url: str) -> list[dict[str, Any]]:
    """The keys at `url`, fetched from a vetted public address (no redirects, no proxies)."""
    settings = get_settings()
    try:
        addresses = vetted_addresses(url, allow_private=settings.webhooks_allow_private)
        with httpx.Client(
            transport=httpx.HTTPTransport(),
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            follow_redirects=False,
        ) as client:
            response = send_to_first_reachable(
                client, "GET", httpx.URL(url), addresses, headers={"Accept": "application/json"}
            )
    except (UnsafeTarget, httpx.HTTPError) as exc:
        raise ToolKeyUnavailable(f"the JWK set could not be fetched: {exc}") from exc
    if response.status_code != 200 or len(response.content) > MAX_JWKS_BYTES:
        raise ToolKeyUnavailable(f"the JWK set URL answered {response.status_code}")
    try:
        keys = response.json()["keys"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ToolKeyUnavailable("the JWK set is not a JSON object with keys") from exc
    if not isinstance(keys, list):
        raise ToolKeyUnavailable("the JWK set's keys is not a list")
    return [key for key in keys if isinstance(key, dict)]


def _jwks(tool: LtiTool, *, fresh: bool) -> list[dict[str, Any]]:
    if tool.public_jwk is not None:
        return [tool.public_jwk]
    assert tool.jwks_url is not None
    key = _cache_key(tool.jwks_url)
    cached = None if fresh else cache_get(key)
    if isinstance(cached, list):
        return cached
    keys = fetch_jwks(tool.jwks_url)
    cache_set(key, keys, JWKS_CACHE_SECONDS)
    return keys


def _find(keys: list[dict[str, Any]], kid: Any) -> dict[str, Any] | None:
    for key in keys:
        usable = key.get("kty") == "RSA" and key.get("alg", ALGORITHM) == ALGORITHM
        # A pasted key without a kid matches any kid; a set's keys are matched by kid.
        if usable and (key.get("kid") == kid or (len(keys) == 1 and "kid" not in key)):
            return key
    return None


def tool_key(tool: LtiTool, kid: Any) -> dict[str, Any]:
    """The tool's key with `kid`; a kid not in the cached set fetches the set once more (the
    tool may have rotated its keys)."""
    try:
        found = _find(_jwks(tool, fresh=False), kid)
        if found is None and tool.jwks_url is not None:
            found = _find(_jwks(tool, fresh=True), kid)
    except ToolKeyUnavailable as exc:
        logger.warning("LTI tool %s: %s", tool.id, exc)
        raise Unauthorized(
            "The tool's keys are unavailable", code="lti_tool_keys_unavailable"
        ) from exc
    if found is None:
        raise Unauthorized("The JWT is signed with an unknown key", code="lti_unknown_key")
    return found


def verify_tool_jwt(
    tool: LtiTool, token: str, *, audience: str, required: list[str]
) -> dict[str, Any]:
    """Claims of `token` signed by `tool`, or Unauthorized."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise Unauthorized("The JWT is malformed", code="lti_invalid_jwt") from exc
    if header.get("alg") != ALGORITHM:
        raise Unauthorized("Only RS256 signed JWTs are accepted", code="lti_invalid_algorithm")
    key = tool_key(tool, header.get("kid"))
    try:
        public = jwt.algorithms.RSAAlgorithm.from_jwk(key)
        claims: dict[str, Any] = jwt.decode(
            token,
            public,  # type: ignore[arg-type]
            algorithms=[ALGORITHM],
            audience=audience,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": required},
        )
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise Unauthorized(f"The JWT is invalid: {_reason(exc)}", code="lti_invalid_jwt") from exc
    return claims


def _reason(exc: Exception) -> str:
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "expired"
    if isinstance(exc, jwt.ImmatureSignatureError):
        return "not yet valid"
    if isinstance(exc, jwt.InvalidAudienceError):
        return "wrong audience"
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"missing claim {exc.claim}"
    if isinstance(exc, jwt.InvalidSignatureError):
        return "bad signature"
    return "cannot be verified"
