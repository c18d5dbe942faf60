"""Aggregates every module's router under the API prefix.

Each module under `app/modules/<name>/` that has a `router.py` exposes `router`; its paths
start with the module's URL segment, so `/api/v1/courses/...` lives in `app/modules/courses/`.
"""

from __future__ import annotations

import importlib
import importlib.util

from app.core.errors import PROBLEM_RESPONSES
from app.core.health import router as health_router
from app.core.registry import MODULES
from app.core.routing import APIRouter
from app.modules.auth.firebase_router import router as firebase_router


def build_api_router() -> APIRouter:
    api_router = APIRouter()
    api_router.include_router(health_router)
    for name in MODULES:
        dotted = f"app.modules.{name}.router"
        if importlib.util.find_spec(f"app.modules.{name}") is None:
            continue
        if importlib.util.find_spec(dotted) is None:
            continue
        module = importlib.import_module(dotted)
        api_router.include_router(module.router, responses=PROBLEM_RESPONSES)
    # Firebase sign-in lives beside the auth module's router (answers 404 when disabled).
    api_router.include_router(firebase_router, responses=PROBLEM_RESPONSES)
    return api_router
