"""The services pass's PostgreSQL databases: a missing base database is created, an
unreachable server is reported with its real cause, and worker databases are dropped."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import SERVICE_DATABASE_URL
from tests.databases import database_exists, drop_database, postgres_problem, recreate_database


def test_an_unreachable_server_is_reported_with_its_cause() -> None:
    problem = postgres_problem("postgresql+psycopg://postgres@127.0.0.1:1/lms")
    assert problem is not None
    assert "127.0.0.1" in problem and "refused" in problem.lower()
    assert "\n" not in problem


@pytest.mark.postgres
def test_a_missing_base_database_is_created() -> None:
    assert SERVICE_DATABASE_URL
    name = f"lms_missing_{uuid.uuid4().hex[:8]}"
    url = make_url(SERVICE_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    try:
        assert postgres_problem(url) is None
        assert database_exists(SERVICE_DATABASE_URL, name)
        assert postgres_problem(url) is None  # and found the next time
    finally:
        drop_database(SERVICE_DATABASE_URL, name)
    assert not database_exists(SERVICE_DATABASE_URL, name)


@pytest.mark.postgres
def test_a_worker_database_is_recreated_and_dropped() -> None:
    assert SERVICE_DATABASE_URL
    name = f"lms_worker_{uuid.uuid4().hex[:8]}"
    url = recreate_database(SERVICE_DATABASE_URL, name)
    assert make_url(url).database == name
    assert database_exists(SERVICE_DATABASE_URL, name)
    drop_database(SERVICE_DATABASE_URL, name)
    assert not database_exists(SERVICE_DATABASE_URL, name)
