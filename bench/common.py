"""What the load scripts share: a scratch database, a free port, the servers they start
(stopped on any exit), waiting for a server and percentiles of latency samples."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

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


class Children:
    """The processes a script starts, each in its own process group, stopped with everything
    they started (uvicorn's workers) when the block ends: on return, on an exception, on
    Ctrl-C and on SIGTERM or SIGHUP, which end the script through the same path."""

    SIGNALS = (signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Children:
        for signum in self.SIGNALS:
            self._previous[signum] = signal.signal(signum, self._exit)
        return self

    @staticmethod
    def _exit(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    def start(self, command: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(command, start_new_session=True, **kwargs)
        self.processes.append(process)
        return process

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        # A second signal while stopping must not leave the rest running.
        for signum in self.SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
        for process in reversed(self.processes):
            stop_group(process)
        for number, previous in self._previous.items():
            signal.signal(number, previous)


def stop_group(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGTERM to the process's group, SIGKILL to what is left after `timeout` seconds."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # workers that outlived their parent
    process.wait()


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
