"""Imports every module's models, tasks and reactions so metadata, Celery, event subscriptions
and the rules a module hands to the modules below it are complete in the API, the worker,
Alembic and the tests alike."""

from __future__ import annotations

import importlib
import importlib.util

MODULES = (
    "users",
    "auth",
    "courses",
    "enrollments",
    "quizzes",
    "assignments",
    "files",
    "credentials",
    "certificates",
    "analytics",
    "payments",
    "notifications",
    "webhooks",
    "calendar",
    "announcements",
    "discussions",
    "lti",
    "rostering",
    "privacy",
)


def _import_if_present(dotted: str) -> None:
    if importlib.util.find_spec(dotted) is not None:
        importlib.import_module(dotted)


def load_models() -> None:
    for name in MODULES:
        if importlib.util.find_spec(f"app.modules.{name}") is not None:
            _import_if_present(f"app.modules.{name}.models")


def load_tasks() -> None:
    """Tasks live in `tasks.py`; scheduled (beat) jobs may live in `jobs.py`; `reactions.py`
    hands a lower module the rules it asks for without importing the module above it."""
    for name in MODULES:
        if importlib.util.find_spec(f"app.modules.{name}") is not None:
            _import_if_present(f"app.modules.{name}.tasks")
            _import_if_present(f"app.modules.{name}.jobs")
            _import_if_present(f"app.modules.{name}.reactions")


def load_all() -> None:
    load_models()
    load_tasks()
