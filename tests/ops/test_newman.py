"""The committed demo collection, run by newman (the Postman CLI, from npm: `make node-tools`)
against a live server (`lms serve` subprocess, SQLite in a temporary folder) seeded by
`lms seed-demo` with the environment it writes: every status and field check passes, and a
wrong expectation makes newman fail.

Without newman these tests skip, except in a services pass with LMS_TEST_REQUIRE_SERVICES=1
(CI), where they fail."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from app.cli.apidocs import SchemaWalker, load_openapi
from app.cli.postman import DEMO_COLLECTION_FILE, DEMO_ENVIRONMENT_FILE, DEMO_STEPS, demo_item
from tests.live import ROOT, live_server, lms, service_env
from tests.ops.fake_servers import json_response, serve

pytestmark = pytest.mark.slow


def newman() -> str:
    local = ROOT / "node_modules" / ".bin" / "newman"
    found = str(local) if local.exists() else shutil.which("newman")
    if found:
        return found
    reason = "newman is not installed (make node-tools)"
    services_required = (
        os.environ.get("LMS_TEST_BACKEND") == "services"
        and os.environ.get("LMS_TEST_REQUIRE_SERVICES") == "1"
    )
    if services_required:
        pytest.fail(reason)
    pytest.skip(reason)


def run_newman(collection: Path, environment: Path, report: Path) -> tuple[int, dict[str, Any]]:
    completed = subprocess.run(
        [
            newman(),
            "run",
            str(collection),
            "--environment",
            str(environment),
            "--reporters",
            "cli,json",
            "--reporter-json-export",
            str(report),
            "--color",
            "off",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return completed.returncode, json.loads(report.read_text())["run"]


def test_demo_collection_passes_under_newman_on_a_seeded_server(tmp_path: Path) -> None:
    newman()
    env = service_env(
        tmp_path,
        DATABASE_URL=f"sqlite:///{tmp_path / 'lms.db'}",
        REDIS_URL="",
        CELERY_BROKER_URL="",
        TASKS_FORCE_INLINE="true",
        EMAIL_BACKEND="console",
    )
    del env["PUBLIC_BASE_URL"]  # the served address is the default
    with live_server(env, tmp_path) as base_url:
        port = base_url.rsplit(":", 1)[1]
        seeded = lms("seed-demo", env={**env, "PORT": port})
        assert "demo.student@example.com" in seeded.stdout
        environment_file = tmp_path / "var" / "postman" / DEMO_ENVIRONMENT_FILE
        values = {v["key"]: v["value"] for v in json.loads(environment_file.read_text())["values"]}
        assert values["base_url"] == base_url
        code, run = run_newman(
            ROOT / "postman" / DEMO_COLLECTION_FILE, environment_file, tmp_path / "report.json"
        )
    failures = [
        f"{failure['source']['name']}: {failure['error']['message']}" for failure in run["failures"]
    ]
    assert code == 0 and not failures, "\n".join(failures)
    assert run["stats"]["requests"]["total"] == len(DEMO_STEPS)
    # A status check on every request, and field checks besides.
    assert run["stats"]["assertions"]["total"] > len(DEMO_STEPS)


def test_newman_fails_a_request_that_gets_another_status(tmp_path: Path) -> None:
    newman()
    openapi = load_openapi()
    item = demo_item(SchemaWalker(openapi), openapi, None, "get", "/api/v1/health", 418)
    collection = tmp_path / "collection.json"
    collection.write_text(
        json.dumps(
            {
                "info": {
                    "name": "one request",
                    "schema": "https://schema.getpostman.com/json/"
                    "collection/v2.1.0/collection.json",
                },
                "item": [item],
            }
        )
    )
    with serve(lambda *_: json_response(200, {"status": "ok"})) as server:
        environment = tmp_path / "environment.json"
        environment.write_text(
            json.dumps({"values": [{"key": "base_url", "value": server.url, "enabled": True}]})
        )
        code, run = run_newman(collection, environment, tmp_path / "report.json")
    assert code != 0
    messages = [failure["error"]["message"] for failure in run["failures"]]
    assert any("expected response to have status code 418" in m for m in messages), messages
