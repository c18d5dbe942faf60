"""Test harness.

Two backends, chosen by `LMS_TEST_BACKEND`:
- `embedded` (default): a SQLite file per xdist worker, in-memory cache/limits/lockout,
  tasks inline.
- `services`: PostgreSQL (`LMS_TEST_DATABASE_URL`, created when the server answers and it is
  missing; one scratch database per xdist worker, dropped after the run) and Redis
  (`LMS_TEST_REDIS_URL`, one logical database per worker).

The schema always comes from the Alembic migrations (upgrade head once per session); each
test starts from empty tables. Tests that need a service the current pass does not have are
skipped, or fail when `LMS_TEST_REQUIRE_SERVICES=1`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

TMP_ROOT = Path(tempfile.mkdtemp(prefix="lms-tests-"))
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
WORKER_NUMBER = int(WORKER[2:]) if WORKER.startswith("gw") and WORKER[2:].isdigit() else 0
BACKEND = os.environ.get("LMS_TEST_BACKEND", "embedded")
REQUIRE_SERVICES = os.environ.get("LMS_TEST_REQUIRE_SERVICES") == "1"
SERVICE_DATABASE_URL = os.environ.get("LMS_TEST_DATABASE_URL")
SERVICE_REDIS_URL = os.environ.get("LMS_TEST_REDIS_URL")


def _worker_database_name(base_url: str) -> str:
    from sqlalchemy.engine import make_url

    base = make_url(base_url).database
    return f"{base}_{os.environ.get('LMS_TEST_DB_SUFFIX', '')}{WORKER}".lower()


def _worker_redis_url(base_url: str) -> str:
    from redis.connection import parse_url

    db = int(parse_url(base_url).get("db", 0) or 0) + WORKER_NUMBER
    root = base_url.rsplit("/", 1)[0] if base_url.count("/") > 2 else base_url
    return f"{root}/{db}"


def _service_problem(kind: str) -> str | None:
    """None when the service of `kind` can be used in this pass; else why not."""
    if BACKEND != "services":
        return "not the services pass"
    if kind == "postgres":
        if not SERVICE_DATABASE_URL:
            return "LMS_TEST_DATABASE_URL is not set"
        from tests.databases import postgres_problem

        return postgres_problem(SERVICE_DATABASE_URL)
    if not SERVICE_REDIS_URL:
        return "LMS_TEST_REDIS_URL is not set"
    import redis

    try:
        redis.Redis.from_url(SERVICE_REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return " ".join(str(exc).split()) or type(exc).__name__
    return None


POSTGRES_PROBLEM = _service_problem("postgres")
REDIS_PROBLEM = _service_problem("redis")
POSTGRES_AVAILABLE = POSTGRES_PROBLEM is None
REDIS_AVAILABLE = REDIS_PROBLEM is None

if BACKEND == "services" and REQUIRE_SERVICES:
    missing = [
        f"{name} ({problem})"
        for name, url, problem in (
            ("PostgreSQL", SERVICE_DATABASE_URL, POSTGRES_PROBLEM),
            ("Redis", SERVICE_REDIS_URL, REDIS_PROBLEM),
        )
        if url and problem
    ]
    if missing:
        raise RuntimeError(f"LMS_TEST_REQUIRE_SERVICES=1 but not usable: {'; '.join(missing)}")

BASE_ENV: dict[str, str] = {
    "ENVIRONMENT": "test",
    "VAR_DIR": str(TMP_ROOT / "var"),
    "UPLOAD_DIR": str(TMP_ROOT / "var" / "uploads"),
    "CERTIFICATES_DIR": str(TMP_ROOT / "var" / "certificates"),
    "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
    "TASKS_FORCE_INLINE": "true",
    "EMAIL_BACKEND": "console",
    "LOG_LEVEL": "WARNING",
    "RATE_LIMIT_REQUESTS_PER_MINUTE": "100000",
    "AUTH_RATE_LIMIT_REQUESTS_PER_MINUTE": "100000",
    "LOGIN_FAILURES_PER_IP_PER_MINUTE": "100000",
    "UPLOAD_RATE_LIMIT_REQUESTS_PER_HOUR": "100000",
    "PUBLIC_BASE_URL": "http://testserver",
    "SANDBOX_WEBHOOK_SECRET": "sandbox-webhook-secret-for-tests",
    "CELERY_BROKER_URL": "",
    "REDIS_URL": "",
    "DATABASE_URL": f"sqlite:///{TMP_ROOT / 'lms-test.db'}",
}
if POSTGRES_AVAILABLE and SERVICE_DATABASE_URL:
    from tests.databases import recreate_database

    BASE_ENV["DATABASE_URL"] = recreate_database(
        SERVICE_DATABASE_URL, _worker_database_name(SERVICE_DATABASE_URL)
    )
if REDIS_AVAILABLE and SERVICE_REDIS_URL:
    BASE_ENV["REDIS_URL"] = _worker_redis_url(SERVICE_REDIS_URL)

# Applied before any `app` import so module-level settings see the test configuration.
for _key, _value in BASE_ENV.items():
    if _value == "":
        os.environ.pop(_key, None)
    else:
        os.environ[_key] = _value


# A configuration that passes production validation (nothing is contacted at startup).
PRODUCTION_ENV: dict[str, str] = {
    "ENVIRONMENT": "production",
    "SECRET_KEY": "p" * 24 + "-production-grade-key-0123456789",
    "MFA_SECRET_ENCRYPTION_KEYS": "cHJvZHVjdGlvbi1ncmFkZS1mZXJuZXQta2V5LTAxMjM=",
    "DATABASE_URL": "postgresql+psycopg://lms@127.0.0.1:1/lms",
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "TASKS_FORCE_INLINE": "false",
    "PAYMENT_GATEWAY": "stripe",
    "CORS_ORIGINS": "https://app.example.com",
}


def reset_caches() -> None:
    """Forget every cached settings-derived object (settings, engine, Redis, limiter, cache
    invalidation listener)."""
    from app.core.cache import cache_clear_memory, stop_listener
    from app.core.config import get_settings
    from app.core.database import reset_engine
    from app.core.ratelimit import get_rate_limiter
    from app.core.redis import reset_redis

    get_settings.cache_clear()
    reset_engine()
    reset_redis()
    get_rate_limiter.cache_clear()
    stop_listener()
    cache_clear_memory()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for kind, problem in (("postgres", POSTGRES_PROBLEM), ("redis", REDIS_PROBLEM)):
            if kind in item.keywords and problem:
                if BACKEND == "services" and REQUIRE_SERVICES:
                    continue  # the fixture below fails loudly instead
                item.add_marker(pytest.mark.skip(reason=f"needs {kind}: {problem}"))


@pytest.fixture(scope="session", autouse=True)
def migrated_database() -> Iterator[str]:
    from alembic import command

    from app.cli.database import alembic_config

    reset_caches()
    config = alembic_config(os.environ["DATABASE_URL"])
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")
    yield os.environ["DATABASE_URL"]
    reset_caches()
    if POSTGRES_AVAILABLE and SERVICE_DATABASE_URL:
        from tests.databases import drop_database

        drop_database(SERVICE_DATABASE_URL, _worker_database_name(SERVICE_DATABASE_URL))


def _truncate_all() -> None:
    from sqlalchemy import inspect, text

    from app.core.database import Base, get_engine
    from app.core.registry import load_all

    # Reactions too: services called without the app must see every module's rules (the
    # completion rules the release statements are built from, once, on first use).
    load_all()
    engine = get_engine()
    existing = set(inspect(engine).get_table_names())
    tables = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name in existing]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            if tables:
                joined = ", ".join(f'"{name}"' for name in tables)
                connection.execute(text(f"TRUNCATE {joined} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                connection.execute(text(f'DELETE FROM "{name}"'))


@pytest.fixture(autouse=True)
def clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    for kind, available in (("postgres", POSTGRES_AVAILABLE), ("redis", REDIS_AVAILABLE)):
        if kind in request.keywords and not available:
            pytest.fail(f"LMS_TEST_REQUIRE_SERVICES=1 but {kind} is not reachable")
    reset_caches()
    _truncate_all()
    from app.core.redis import get_redis

    client = get_redis()
    if client is not None:
        client.flushdb()
    yield
    reset_caches()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Override settings for one test: `env(RATE_LIMIT_ENABLED="false")`."""

    def _set(**values: Any) -> None:
        for key, value in values.items():
            if value is None:
                monkeypatch.delenv(key, raising=False)
            else:
                monkeypatch.setenv(key, str(value))
        reset_caches()

    return _set


@pytest.fixture
def app(clean_state: None) -> Any:
    from app.main import create_app

    return create_app()


@pytest.fixture
def client(app: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def db() -> Iterator[Any]:
    """A session for arranging and checking data directly; committed on exit."""
    from app.core.database import session_scope

    with session_scope() as session:
        yield session


@pytest.fixture
def make_user() -> Callable[..., Any]:
    from tests.factories import create_user

    return create_user


@pytest.fixture
def auth_headers() -> Callable[[Any], dict[str, str]]:
    from tests.factories import bearer_headers

    return bearer_headers


@pytest.fixture
def admin(make_user: Callable[..., Any]) -> Any:
    return make_user(role="admin", email="admin@example.com")


@pytest.fixture
def instructor(make_user: Callable[..., Any]) -> Any:
    return make_user(role="instructor", email="instructor@example.com")


@pytest.fixture
def student(make_user: Callable[..., Any]) -> Any:
    return make_user(role="student", email="student@example.com")
