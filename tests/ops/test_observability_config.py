"""Prometheus, Alertmanager, Grafana and Caddy configuration, and the Dockerfile.

Every metric the alerts and dashboards query is one the application really exports. When the
Prometheus tools are installed (Debian: `prometheus` for promtool), the rules are checked and
unit-tested with synthetic series; `caddy adapt` checks the Caddyfile when Caddy is installed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.core import metrics

ROOT = Path(__file__).resolve().parents[2]
OBS = ROOT / "ops" / "observability"
ALERTS = OBS / "prometheus" / "alerts.yml"
DASHBOARDS = sorted((OBS / "grafana" / "dashboards").glob("*.json"))

# Series the application exports: the HTTP and business metrics (app/core/metrics.py), the
# worker endpoint's queue gauge, and Prometheus's own `up`.
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
PROMQL_WORDS = {
    "sum",
    "rate",
    "increase",
    "by",
    "max",
    "min",
    "topk",
    "histogram_quantile",
    "clamp_min",
    "absent",
    "le",
    "avg",
}


def exported_series() -> set[str]:
    names = {"up", "lms_task_queue_length"}
    for metric in (
        metrics.HTTP_REQUESTS,
        metrics.HTTP_LATENCY,
        metrics.HTTP_IN_FLIGHT,
        metrics.BUSINESS_EVENTS,
        metrics.TASK_RUNS,
        metrics.TASK_DURATION,
    ):
        for family in metric.describe():
            names.add(family.name)
            if family.type == "counter":
                names.add(family.name + "_total")
            if family.type == "histogram":
                names.update(family.name + suffix for suffix in HISTOGRAM_SUFFIXES)
    return names


def metric_names(expr: str) -> set[str]:
    without_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    without_labels = re.sub(r"\{[^}]*\}", "", without_strings)
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_labels)
    without_groupings = re.sub(r"\b(by|without)\s*\([^)]*\)", "", without_ranges)
    without_numbers = re.sub(r"\b\d+(\.\d+)?(e-?\d+)?\b", "", without_groupings)
    tokens = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_numbers))
    return {token for token in tokens if token not in PROMQL_WORDS and not token.isdigit()}


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_exprs() -> list[tuple[str, str]]:
    exprs = []
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            exprs.extend((path.name, target["expr"]) for target in panel["targets"])
    return exprs


def test_alerts_cover_the_required_conditions() -> None:
    names = {rule["alert"] for rule in alert_rules()}
    assert {"LmsHighErrorRate", "LmsHighLatency", "LmsInstanceDown", "LmsQueueBacklog"} <= names
    for rule in alert_rules():
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]


def test_alerts_and_dashboards_only_use_exported_metrics() -> None:
    exported = exported_series()
    exprs = [("alerts.yml", rule["expr"]) for rule in alert_rules()] + dashboard_exprs()
    assert len(exprs) > 20
    for source, expr in exprs:
        unknown = metric_names(expr) - exported
        assert not unknown, f"{source}: {expr} uses {unknown}"


def test_the_metric_name_check_can_fail() -> None:
    assert metric_names('sum(rate(lms_made_up_total{route="/x"}[5m])) by (route)') == {
        "lms_made_up_total"
    }


def test_business_dashboard_charts_the_emitted_events() -> None:
    from app.modules.webhooks.service import EVENT_TYPES

    text = (OBS / "grafana" / "dashboards" / "learning-activity.json").read_text()
    for event in ("enrollment.created", "course.completed", "certificate.issued"):
        assert event in EVENT_TYPES
        assert f'event=\\"{event}\\"' in text


def test_dashboards_are_provisioned_with_the_datasource() -> None:
    datasource = yaml.safe_load(
        (OBS / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )["datasources"][0]
    provider = yaml.safe_load(
        (OBS / "grafana" / "provisioning" / "dashboards" / "lms.yml").read_text()
    )["providers"][0]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
    uids = set()
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        uids.add(dashboard["uid"])
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] == datasource["uid"]
            assert set(panel["gridPos"]) == {"x", "y", "w", "h"}
    assert uids == {"lms-api-overview", "lms-learning-activity"}


def test_alertmanager_routes_reference_defined_receivers() -> None:
    config = yaml.safe_load((OBS / "alertmanager" / "alertmanager.yml").read_text())
    receivers = {receiver["name"] for receiver in config["receivers"]}
    route = config["route"]
    assert route["receiver"] in receivers
    assert all(child["receiver"] in receivers for child in route["routes"])
    alerts = {rule["alert"] for rule in alert_rules()}
    for rule in config["inhibit_rules"]:
        for matcher in rule["source_matchers"] + rule["target_matchers"]:
            names = re.findall(r"Lms\w+", matcher)
            assert set(names) <= alerts


def test_prometheus_scrapes_the_api_and_the_workers() -> None:
    config = yaml.safe_load((OBS / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["lms-api"]["authorization"]["credentials_file"]
    assert jobs["lms-api"]["dns_sd_configs"][0]["port"] == 8000
    assert jobs["lms-worker"]["dns_sd_configs"][0]["port"] == 9808
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]


promtool = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")


@promtool
def test_promtool_accepts_the_config_and_rules(tmp_path: Path) -> None:
    (tmp_path / "alerts.yml").write_text(ALERTS.read_text())
    (tmp_path / "metrics_token").write_text("token\n")
    config = (OBS / "prometheus" / "prometheus.yml").read_text()
    (tmp_path / "prometheus.yml").write_text(config.replace("/etc/prometheus/", f"{tmp_path}/"))
    result = subprocess.run(
        ["promtool", "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@promtool
def test_alerts_fire_on_synthetic_series(tmp_path: Path) -> None:
    shutil.copy(ALERTS, tmp_path / "alerts.yml")
    cases = {
        "rule_files": ["alerts.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                # 10% of requests fail for 20 minutes: the error-rate alert fires.
                "interval": "1m",
                "input_series": [
                    {
                        "series": 'lms_http_requests_total{status="200",route="/a",method="GET"}',
                        "values": "0+90x20",
                    },
                    {
                        "series": 'lms_http_requests_total{status="500",route="/a",method="GET"}',
                        "values": "0+10x20",
                    },
                    {"series": 'up{job="lms-api",instance="api-1:8000"}', "values": "1x10 0x10"},
                    {"series": 'lms_task_queue_length{queue="emails"}', "values": "500x20"},
                    {"series": 'lms_task_queue_length{queue="default"}', "values": "3x20"},
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "15m",
                        "alertname": "LmsHighErrorRate",
                        "exp_alerts": [
                            {
                                "exp_labels": {"severity": "critical"},
                                "exp_annotations": {
                                    "summary": "More than 5% of API requests fail with 5xx",
                                    "description": "10% of requests answered 5xx over 5 minutes.",
                                },
                            }
                        ],
                    },
                    {
                        "eval_time": "5m",
                        "alertname": "LmsInstanceDown",
                        "exp_alerts": [],
                    },
                    {
                        "eval_time": "15m",
                        "alertname": "LmsInstanceDown",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "critical",
                                    "job": "lms-api",
                                    "instance": "api-1:8000",
                                },
                                "exp_annotations": {
                                    "summary": "lms-api instance api-1:8000 is down"
                                },
                            }
                        ],
                    },
                    {
                        "eval_time": "15m",
                        "alertname": "LmsQueueBacklog",
                        "exp_alerts": [
                            {
                                "exp_labels": {"severity": "warning", "queue": "emails"},
                                "exp_annotations": {
                                    "summary": "Queue emails holds 500 waiting tasks",
                                    "description": "Workers are not keeping up; add worker "
                                    "replicas or check for a stuck task.",
                                },
                            }
                        ],
                    },
                ],
            }
        ],
    }
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(cases))
    result = subprocess.run(
        ["promtool", "test", "rules", str(tmp_path / "tests.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("caddy") is None, reason="caddy not installed")
def test_caddyfile_adapts() -> None:
    result = subprocess.run(
        ["caddy", "adapt", "--config", str(ROOT / "ops" / "caddy" / "Caddyfile")],
        capture_output=True,
        text=True,
        check=False,
        env={"DOMAIN": "lms.example.com", "ACME_EMAIL": "ops@example.com", "PATH": "/usr/bin"},
    )
    assert result.returncode == 0, result.stderr
    adapted = json.loads(result.stdout)
    routes = json.dumps(adapted["apps"]["http"])
    assert "lms.example.com" in routes and "api:8000" in routes


def test_dockerfile_is_multi_stage_non_root_with_a_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM \S+ AS (\w+)", text, flags=re.MULTILINE)
    assert stages == ["build", "runtime"]
    runtime = text.split("AS runtime", 1)[1]
    assert re.search(r"^USER lms$", runtime, flags=re.MULTILINE)
    assert "/api/v1/health" in runtime and "HEALTHCHECK" in runtime
    assert 'CMD ["lms", "serve"]' in runtime
    assert "WORKERS=4" in runtime
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert {".git", ".venv", ".env", "tests", "var"} <= set(ignored)
