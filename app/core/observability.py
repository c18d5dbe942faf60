"""Sentry for the API and the workers, with passwords, tokens and emails scrubbed."""

from __future__ import annotations

from typing import Any

from app.core.config import Settings
from app.core.logging import redact


def scrub_event(event: dict[str, Any], _hint: dict[str, Any]) -> dict[str, Any]:
    result = redact(event)
    assert isinstance(result, dict)
    user = result.get("user")
    if isinstance(user, dict):
        result["user"] = {"id": user.get("id")}
    return result


def init_sentry(settings: Settings, *, component: str) -> bool:
    if not settings.SENTRY_DSN:
        return False
    import sentry_sdk

    sentry_sdk.init(
        dsn=settings.SENTRY_DSN,
        environment=settings.ENVIRONMENT,
        release=settings.SENTRY_RELEASE or settings.VERSION,
        traces_sample_rate=settings.SENTRY_TRACES_SAMPLE_RATE,
        profiles_sample_rate=settings.SENTRY_PROFILES_SAMPLE_RATE,
        send_default_pii=False,
        before_send=scrub_event,  # type: ignore[arg-type]
        server_name=component,
    )
    return True
