"""What the load scripts share: a scratch database, a free port, waiting for a server and
percentiles of latency samples."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare_database(
    url: str | None, scratch: Path, *, sqlite_name: str, settings: dict[str, str] | None = None
) -> str:
    """A SQLite file in `scratch` without a URL; otherwise the PostgreSQL database named in
    `url`, dropped and created again, with `settings` (`ALTER DATABASE ... SET`) applied."""
    if not url:
        return f"sqlite:///{scratch / sqlite_name}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{target.database}"'))
        for name, value in (settings or {}).items():
            connection.execute(text(f'ALTER DATABASE "{target.database}" SET {name} = {value}'))
    admin.dispose()
    return url


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Until `url` answers below 500, failing if the server process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with code {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"server at {url} did not become ready")


def percentile(samples: list[float], fraction: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]
