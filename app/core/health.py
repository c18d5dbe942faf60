"""Liveness (`/health`, touches nothing) and readiness (`/ready`: database, and Redis when
configured; 503 naming what failed)."""

from __future__ import annotations

import logging
from typing import Any, Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from app.core.config import get_settings
from app.core.database import check_database
from app.core.redis import get_redis
from app.core.routing import APIRouter

logger = logging.getLogger("app.health")

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness probe: the process is up."""
    settings = get_settings()
    return {"status": "ok", "version": settings.VERSION, "environment": settings.ENVIRONMENT}


def readiness() -> tuple[bool, dict[str, Any]]:
    checks: dict[str, Any] = {}
    try:
        check_database()
        checks["database"] = "ok"
    except Exception as exc:
        logger.warning("readiness: database check failed: %s", type(exc).__name__)
        checks["database"] = "unavailable"
    client = get_redis()
    if client is None:
        checks["redis"] = "not_configured"
    else:
        try:
            client.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            logger.warning("readiness: redis check failed: %s", type(exc).__name__)
            checks["redis"] = "unavailable"
    ready = all(value in ("ok", "not_configured") for value in checks.values())
    return ready, checks


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, Literal["ok", "not_configured", "unavailable"]]
    failed: list[str] | None = Field(None, description="The checks that failed (on 503)")


@router.get(
    "/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A dependency is unavailable"}},
)
def ready() -> JSONResponse:
    """Readiness probe: the database (and Redis, when configured) answer."""
    ok, checks = readiness()
    failed = [name for name, value in checks.items() if value == "unavailable"]
    body: dict[str, Any] = {"status": "ready" if ok else "not_ready", "checks": checks}
    if failed:
        body["failed"] = failed
    return JSONResponse(body, status_code=200 if ok else 503)
