from __future__ import annotations

from typing import Any

import pytest

from app.core import events
from app.core.tasks import celery_app

received: list[tuple[str, dict[str, Any]]] = []


@celery_app.task(name="default.test_enrollments_record")
def record_event(event_name: str, payload: dict[str, Any]) -> None:
    received.append((event_name, payload))


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Events delivered to subscribers (after commit), in order."""
    received.clear()
    for name in ("enrollment.created", "course.completed"):
        monkeypatch.setitem(events._subscribers, name, [record_event])
    return received


@pytest.fixture
def other_student(make_user: Any) -> Any:
    return make_user(role="student", email="other.student@example.com")


@pytest.fixture
def other_instructor(make_user: Any) -> Any:
    return make_user(role="instructor", email="other.instructor@example.com")
