"""On PostgreSQL an import has the tables it fills analyzed as it goes: without fresh
statistics, lookups by sourcedId in a table that was nearly empty when the import began read
every row of their kind (see bench/README.md, roster_import.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import text

from app.core.database import utcnow
from tests.modules.rostering.conftest import Upload
from tests.modules.rostering.samples import roster_zip, sample_roster

pytestmark = pytest.mark.postgres

TABLES = ("roster_sources", "users", "courses", "enrollments")


def _last_analyzed(db: Any) -> dict[str, Any]:
    rows = db.execute(
        text("SELECT relname, last_analyze FROM pg_stat_user_tables WHERE relname = ANY(:names)"),
        {"names": list(TABLES)},
    ).all()
    db.commit()  # statistics views are read once per transaction
    return dict(rows)


def test_an_import_refreshes_the_statistics_of_the_tables_it_fills(
    client: Any, admin: Any, auth_headers: Any, upload: Upload, env: Any, db: Any
) -> None:
    env(ROSTER_BATCH_SIZE=2)
    started = utcnow()
    response = upload(roster_zip(sample_roster()))
    assert response.status_code == 202
    body = client.get(
        f"/api/v1/rostering/imports/{response.json()['id']}", headers=auth_headers(admin)
    )
    assert body.json()["status"] == "completed"
    # The server publishes a backend's statistics shortly after it goes idle.
    deadline = time.monotonic() + 20
    analyzed = _last_analyzed(db)
    while time.monotonic() < deadline and not all(
        analyzed.get(name) and analyzed[name] >= started for name in TABLES
    ):
        time.sleep(0.2)
        analyzed = _last_analyzed(db)
    assert {name: bool(analyzed.get(name) and analyzed[name] >= started) for name in TABLES} == {
        name: True for name in TABLES
    }
