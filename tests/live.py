"""Run the real service as subprocesses (`lms serve`, `lms worker`) for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def lms(
    *args: str, env: Mapping[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run an `lms` subcommand to completion."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=dict(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )


@contextmanager
def background(*args: str, env: Mapping[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start an `lms` subcommand in the background; terminate it on exit."""
    handle = log.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        env=dict(env),
        cwd=ROOT,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        handle.close()


def wait_until_ready(
    base_url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(f"{base_url}/api/v1/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server not ready in {timeout}s:\n{log.read_text()[-4000:]}")


@contextmanager
def live_server(
    env: Mapping[str, str], tmp: Path, *, workers: int = 1, migrate: bool = True
) -> Iterator[str]:
    """Migrate, serve on a free port and yield the base URL."""
    if migrate:
        lms("migrate", env=env)
    port = free_port()
    log = tmp / f"server-{port}.log"
    with background(
        "serve", "--port", str(port), "--workers", str(workers), env=env, log=log
    ) as process:
        base_url = f"http://127.0.0.1:{port}"
        wait_until_ready(base_url, process, log)
        yield base_url


def service_env(tmp: Path, **overrides: str) -> dict[str, str]:
    """Environment for a subprocess: the test database/Redis, a private var/ folder."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    env.update(
        {
            "VAR_DIR": str(tmp / "var"),
            "UPLOAD_DIR": str(tmp / "var" / "uploads"),
            "CERTIFICATES_DIR": str(tmp / "var" / "certificates"),
            "LOG_LEVEL": "WARNING",
            "PUBLIC_BASE_URL": "http://127.0.0.1",
        }
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(overrides)
    return env


def wait_for(condition: Callable[[], Any], timeout: float, what: str, *logs: Path) -> Any:
    """Poll `condition` until it is truthy (returned); on timeout fail with the logs' tails."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    tails = "\n".join(log.read_text()[-3000:] for log in logs if log.exists())
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{tails}")
