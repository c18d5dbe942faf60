"""`lms seed-bench` writes a consistent dataset that the analytics endpoints can read."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from app.cli import main
from app.core.database import session_scope
from app.modules.users.models import User


def test_seed_bench_writes_the_requested_sizes(client: Any, auth_headers: Any, capsys: Any) -> None:
    assert (
        main(["seed-bench", "--students", "40", "--courses", "6", "--lessons-per-course", "4"]) == 0
    )
    assert '"enrollments": 200' in capsys.readouterr().out

    with session_scope() as db:
        admin = db.scalar(select(User).where(User.email == "bench-admin@bench.local"))
        assert admin is not None
        db.expunge(admin)
    body = client.get("/api/v1/analytics/system/overview", headers=auth_headers(admin)).json()
    assert body["users"]["by_role"] == {"admin": 1, "instructor": 1, "student": 40}
    assert body["courses"] == 6
    enrollments = body["enrollments"]
    assert enrollments["total"] == 200  # 40 students x 5 courses each
    assert enrollments["active"] + enrollments["completed"] + enrollments["dropped"] == 200
    assert body["certificates_issued"] == enrollments["completed"]

    # A second run refuses instead of duplicating everything.
    with pytest.raises(SystemExit, match="already seeded"):
        main(["seed-bench", "--students", "1", "--courses", "1"])
