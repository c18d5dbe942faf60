"""`lms serve` as a real process: readiness, OpenAPI, metrics (also with several workers)."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.live import live_server, service_env


def test_single_process_server_smoke(tmp_path: Path) -> None:
    env = service_env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'live.db'}")
    with live_server(env, tmp_path) as base_url:
        ready = httpx.get(f"{base_url}/api/v1/ready", timeout=10)
        assert ready.json()["checks"]["database"] == "ok"
        schema = httpx.get(f"{base_url}/openapi.json", timeout=10).json()
        assert "/api/v1/health" in schema["paths"]
        httpx.get(f"{base_url}/api/v1/health", timeout=10)
        metrics = httpx.get(f"{base_url}/metrics", timeout=10).text
        assert 'lms_http_requests_total{method="GET",route="/api/v1/health"' in metrics
        docs = httpx.get(f"{base_url}/docs", timeout=10)
        assert docs.status_code == 200 and "swagger-ui-bundle.js" in docs.text


def test_metrics_aggregate_across_worker_processes(tmp_path: Path) -> None:
    env = service_env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'live.db'}")
    with (
        live_server(env, tmp_path, workers=2) as base_url,
        httpx.Client(base_url=base_url, timeout=10) as client,
    ):
        for _ in range(40):  # new connections spread over both workers
            client.get("/api/v1/health", headers={"Connection": "close"})
        text = client.get("/metrics").text
    line = next(
        row
        for row in text.splitlines()
        if row.startswith('lms_http_requests_total{method="GET",route="/api/v1/health"')
    )
    assert float(line.rsplit(" ", 1)[1]) >= 40
