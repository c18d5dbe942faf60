"""The clock the release rule, the outline, progress and my-courses read, set by the test (no
sleeps)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from app.modules.courses import locks, outline
from app.modules.enrollments import progress as enrollments_progress
from app.modules.enrollments import repository as enrollments_repository
from app.modules.enrollments import service as enrollments_service
from tests.modules.courses.structure import NOW


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    def _set(moment: datetime) -> None:
        for module in (
            locks,
            outline,
            enrollments_service,
            enrollments_progress,
            enrollments_repository,
        ):
            monkeypatch.setattr(module, "utcnow", lambda: moment)

    _set(NOW)
    return _set
