"""The committed demo collection, replayed by a Python runner against a live server
(`lms serve` subprocess, SQLite in a temporary folder) seeded by `lms seed-demo`: every
request answers the status its example expects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli.apidocs import DEMO_COLLECTION_FILE, DEMO_ENVIRONMENT_FILE, DEMO_STEPS, demo_values
from tests.live import live_server, lms, service_env
from tests.ops.fake_servers import json_response, serve
from tests.ops.postman_runner import run_collection

pytestmark = pytest.mark.slow

POSTMAN = Path(__file__).resolve().parents[2] / "postman"


def embedded_env(tmp: Path) -> dict[str, str]:
    return service_env(
        tmp,
        DATABASE_URL=f"sqlite:///{tmp / 'lms.db'}",
        REDIS_URL="",
        CELERY_BROKER_URL="",
        TASKS_FORCE_INLINE="true",
        EMAIL_BACKEND="console",
    )


def test_demo_collection_replays_against_a_seeded_server(tmp_path: Path) -> None:
    env = embedded_env(tmp_path)
    collection = json.loads((POSTMAN / DEMO_COLLECTION_FILE).read_text())
    environment = json.loads((POSTMAN / DEMO_ENVIRONMENT_FILE).read_text())
    with live_server(env, tmp_path) as base_url:
        snapshot_path = tmp_path / "snapshot.json"
        seeded = lms("seed-demo", "--snapshot", str(snapshot_path), env=env)
        assert "demo.student@example.com" in seeded.stdout
        # This server's ids replace the ones of the committed snapshot.
        values = {**demo_values(json.loads(snapshot_path.read_text())), "base_url": base_url}
        for entry in environment["values"]:
            entry["value"] = values.get(entry["key"], entry["value"])
        results = run_collection(collection, environment)
    assert len(results) == len(DEMO_STEPS)
    failures = [r for r in results if r.status != r.expected]
    assert not failures, "\n".join(
        f"{r.name}: {r.method} {r.url} answered {r.status}, expected {r.expected}" for r in failures
    )
    # The journey really used the seeded data: refusals and successes both happened.
    statuses = {r.expected for r in results}
    assert {200, 401, 403, 204} <= statuses


def test_runner_reports_a_wrong_expectation() -> None:
    collection = json.loads((POSTMAN / DEMO_COLLECTION_FILE).read_text())
    health = next(item for item in collection["item"] if "/health" in item["request"]["url"]["raw"])
    health["response"][0]["code"] = 418
    with serve(lambda *_: json_response(200, {"status": "ok"})) as server:
        environment = {"values": [{"key": "base_url", "value": server.url, "enabled": True}]}
        (result,) = run_collection({"item": [health]}, environment)
    assert (result.expected, result.status) == (418, 200)
