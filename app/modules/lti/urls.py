"""The platform's absolute URLs, from PUBLIC_BASE_URL: the issuer and every endpoint a tool
is told about."""

from __future__ import annotations

import uuid

from app.core.config import get_settings


def issuer() -> str:
    return get_settings().PUBLIC_BASE_URL.rstrip("/")


def api(path: str) -> str:
    return f"{issuer()}{get_settings().API_V1_PREFIX}{path}"


def authorization_endpoint() -> str:
    return api("/lti/authorize")


def token_endpoint() -> str:
    return api("/lti/token")


def jwks_url() -> str:
    return api("/lti/jwks")


def deep_link_return_url() -> str:
    return api("/lti/deep-link/return")


def line_items_url(course_id: uuid.UUID) -> str:
    return api(f"/lti/contexts/{course_id}/lineitems")


def line_item_url(course_id: uuid.UUID, line_item_id: uuid.UUID) -> str:
    return f"{line_items_url(course_id)}/{line_item_id}"


def memberships_url(course_id: uuid.UUID) -> str:
    return api(f"/lti/contexts/{course_id}/memberships")
