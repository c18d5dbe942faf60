"""The request transaction (commit on success, nothing half-written on error), tasks deferred
until commit, and request logs that never carry secrets."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.dependencies import DbSession
from app.core.errors import Conflict
from app.core.tasks import celery_app, defer
from app.main import create_app
from app.modules.users.models import User

ran: list[str] = []


@celery_app.task(name="default.record_for_test")
def record_for_test(value: str) -> None:
    ran.append(value)


def _app() -> TestClient:
    app = create_app()
    router = APIRouter()

    @router.post("/probe/users/{mode}")
    def create(mode: str, db: DbSession) -> dict[str, str]:
        db.add(User(email=f"{mode}@example.com", full_name="Probe", role="student"))
        db.flush()
        defer(db, record_for_test, mode)
        if mode == "fail":
            raise Conflict("refused after a write")
        if mode == "crash":
            raise RuntimeError("boom")
        return {"status": "created"}

    app.include_router(router, prefix="/api/v1")
    return TestClient(app, raise_server_exceptions=False)


def _count(db: Any) -> int:
    return int(db.scalar(select(func.count()).select_from(User)))


def test_success_commits_and_runs_deferred_task(db: Any) -> None:
    ran.clear()
    client = _app()
    assert client.post("/api/v1/probe/users/ok").status_code == 200
    assert _count(db) == 1
    assert ran == ["ok"]


@pytest.mark.parametrize(("mode", "status"), [("fail", 409), ("crash", 500)])
def test_error_rolls_back_and_drops_deferred_task(db: Any, mode: str, status: int) -> None:
    ran.clear()
    client = _app()
    assert client.post(f"/api/v1/probe/users/{mode}").status_code == status
    assert _count(db) == 0
    assert ran == []


def test_request_log_is_one_json_line_without_secrets(
    capsys: pytest.CaptureFixture[str], env: Any
) -> None:
    env(LOG_LEVEL="INFO")
    client = _app()
    capsys.readouterr()
    client.get(
        "/api/v1/health?token=query-secret",
        headers={
            "Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
            "X-Request-ID": "log-check-1",
        },
    )
    lines = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    lines = [line for line in lines if line["logger"].startswith("app.")]
    entry = next(line for line in lines if line.get("request_id") == "log-check-1")
    assert entry["method"] == "GET"
    assert entry["path"] == "/api/v1/health"
    assert entry["status"] == 200
    assert entry["duration_ms"] >= 0
    raw = json.dumps(lines)
    assert "eyJhbGciOiJIUzI1NiJ9" not in raw
    assert "query-secret" not in raw


def test_savepoints_neither_run_nor_drop_the_outer_callbacks() -> None:
    """Releasing a savepoint is not the commit; rolling one back drops only its callbacks."""
    from sqlalchemy import text

    from app.core.database import after_commit, session_scope

    calls: list[str] = []
    with session_scope() as session:
        session.execute(text("SELECT 1"))
        after_commit(session, lambda: calls.append("outer"))
        with session.begin_nested():
            after_commit(session, lambda: calls.append("released"))
        with pytest.raises(ValueError), session.begin_nested():
            after_commit(session, lambda: calls.append("rolled back"))
            raise ValueError
        assert calls == []
    assert calls == ["outer", "released"]


@pytest.mark.postgres
@pytest.mark.parametrize("idle_seconds", [0, 3600])
def test_a_terminated_pooled_connection_is_replaced_before_reuse(
    env: Any, idle_seconds: int
) -> None:
    """Idle or just used, a pooled connection whose backend was terminated (restart, failover)
    is replaced on checkout and the request's statement works."""
    from sqlalchemy import text

    from app.core.database import build_engine

    env(DB_POOL_PING_IDLE_SECONDS=str(idle_seconds), DB_POOL_SIZE="1", DB_MAX_OVERFLOW="0")
    engine = build_engine()
    try:
        with engine.connect() as connection:
            pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        _terminate(pid)
        with engine.connect() as connection:
            reused = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert reused != pid
    finally:
        engine.dispose()


def _terminate(pid: int) -> None:
    """End one backend of this test's own pool, and wait until it is gone."""
    import time

    from sqlalchemy import text

    from app.core.database import build_engine

    killer = build_engine()
    try:
        with killer.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
            while other.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            ).scalar_one():
                time.sleep(0.01)
    finally:
        killer.dispose()


@pytest.mark.postgres
def test_a_live_recently_used_connection_is_not_pinged(
    env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No round trip per checkout: a healthy connection returned moments ago is handed out
    as is."""
    from sqlalchemy import text

    from app.core.database import build_engine

    env(DB_POOL_PING_IDLE_SECONDS="3600", DB_POOL_SIZE="1", DB_MAX_OVERFLOW="0")
    engine = build_engine()
    pings: list[Any] = []
    monkeypatch.setattr(engine.dialect, "do_ping", lambda connection: pings.append(connection))
    try:
        for _ in range(3):
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        assert pings == []
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("idle_seconds", [0, 3600])
def test_a_terminated_connection_of_the_event_loop_pool_is_replaced_before_reuse(
    env: Any, idle_seconds: int
) -> None:
    """The same rule for the connections single statements use from the event loop."""
    import asyncio

    from sqlalchemy import func, select

    from app.core.single_statement import close_async_pool, fetch_single_statement

    env(DB_POOL_PING_IDLE_SECONDS=str(idle_seconds), DB_ASYNC_POOL_SIZE="1")
    backend = select(func.pg_backend_pid().label("pid"))

    async def scenario() -> None:
        try:
            pid = (await fetch_single_statement(backend, {}))[0]["pid"]
            _terminate(pid)
            assert (await fetch_single_statement(backend, {}))[0]["pid"] != pid
        finally:
            await close_async_pool()

    asyncio.run(scenario())


def test_api_routes_commit_in_the_endpoint_thread(db: Any) -> None:
    import threading

    from app.core.database import after_commit
    from app.core.routing import APIRouter as TransactionalRouter

    app = create_app()
    router = TransactionalRouter()
    threads: dict[str, int] = {}

    @router.post("/probe/commit-thread")
    def create(db: DbSession) -> dict[str, bool]:
        db.add(User(email="thread@example.com", full_name="Probe", role="student"))
        db.flush()
        threads["endpoint"] = threading.get_ident()
        after_commit(db, lambda: threads.__setitem__("commit", threading.get_ident()))
        return {"ok": True}

    app.include_router(router, prefix="/api/v1")
    assert TestClient(app).post("/api/v1/probe/commit-thread").status_code == 200
    assert threads["commit"] == threads["endpoint"]
    assert db.scalar(select(func.count()).select_from(User)) == 1


def test_every_api_route_is_transactional() -> None:
    from fastapi.routing import APIRoute

    from app.core.routing import TransactionalRoute

    def routes(router: Any) -> Any:
        for route in router.routes:
            included = getattr(route, "original_router", None)
            yield from routes(included) if included is not None else [route]

    # Everything under the API prefix arrives through included routers; the app's own routes
    # (docs, root, metrics) do not touch the database.
    api_routes = [
        route
        for included in create_app().router.routes
        if getattr(included, "original_router", None) is not None
        for route in routes(included.original_router)
        if isinstance(route, APIRoute)
    ]
    assert len(api_routes) > 100
    assert [r.path for r in api_routes if not isinstance(r, TransactionalRoute)] == []


def test_routers_skip_their_routes_for_paths_outside_their_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.core.routing import APIRouter as ModuleRouter

    router = ModuleRouter(prefix="/things")

    @router.get("/{thing_id}")
    def read(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    app = create_app()
    app.include_router(router, prefix="/api/v1")
    route = router.routes[0]
    tried: list[str] = []
    original = route.matches

    def counting(scope: Any) -> Any:
        tried.append(scope["path"])
        return original(scope)

    monkeypatch.setattr(route, "matches", counting)
    client = TestClient(app)
    assert client.get("/api/v1/elsewhere/1").status_code == 404
    assert "/api/v1/elsewhere/1" not in tried
    assert client.get("/api/v1/things/7").json() == {"id": 7}
    assert "/api/v1/things/7" in tried
    assert client.post("/api/v1/things/7").status_code == 405
