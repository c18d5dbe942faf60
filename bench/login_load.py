"""Login benchmark: sign-in req/s and the API workers' memory under concurrent logins.

    .venv/bin/python -m bench.login_load                      # SQLite in a temp dir
    LMS_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/lms_bench_login \\
    LMS_BENCH_REDIS_URL=redis://127.0.0.1:6379/5 .venv/bin/python -m bench.login_load

The PostgreSQL database named in the URL is dropped and recreated. The script migrates it,
creates accounts sharing one password hash (made with the server's argon2id parameters),
starts `lms serve --workers 2`, records each worker's resident memory (RSS, from /proc) at
idle, then drives `POST /api/v1/auth/login` with 32 concurrent connections for 10 s while
sampling RSS every 20 ms, and prints req/s, latency, each worker's peak RSS and its RSS a few
seconds after the load stopped. Target: peak RSS under 300 MB per worker, back near idle.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import Children, free_port
from bench.learning_load import VENV_BIN, _drive, _start, prepare_server

PASSWORD = "Bench-login-password-1"


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _workers(server_pid: int) -> list[int]:
    """The uvicorn worker processes (grandchildren through the multiprocess supervisor are
    included: every descendant that is not the supervisor itself)."""
    found, pending = [], _children(server_pid)
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(_children(pid))
    return [pid for pid in found if "multiprocessing.resource_tracker" not in _cmdline(pid)]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class _Sampler(threading.Thread):
    def __init__(self, pids: list[int], interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.pids, self.interval = pids, interval
        self.peak = dict.fromkeys(pids, 0.0)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for pid in self.pids:
                with contextlib.suppress(OSError):  # a worker that exited
                    self.peak[pid] = max(self.peak[pid], _rss_mb(pid))
            time.sleep(self.interval)


def _seed_accounts(database_url: str, count: int) -> list[str]:
    from sqlalchemy import insert

    from app.core.database import build_engine
    from app.core.security import hash_password
    from app.modules.users.models import User

    password_hash = hash_password(PASSWORD)
    emails = [f"bench-login-{n}@example.com" for n in range(count)]
    engine = build_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            insert(User),
            [
                {
                    "id": uuid.uuid4(),
                    "email": email,
                    "password_hash": password_hash,
                    "full_name": email,
                    "role": "student",
                    "is_active": True,
                    "mfa_enabled": False,
                    "email_opt_out": False,
                    "token_version": 0,
                }
                for email in emails
            ],
        )
    engine.dispose()
    return emails


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured time first")
    parser.add_argument("--concurrency", type=int, default=32, help="open connections")
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds before 'after'")
    args = parser.parse_args(argv)
    with Children() as children:
        return _benchmark(args, children)


def _benchmark(args: argparse.Namespace, children: Children) -> int:
    database_url, redis_url, env = prepare_server("lms-bench-login-")
    emails = _seed_accounts(database_url, args.accounts)

    port = free_port()
    lms = _start(
        children,
        [
            str(VENV_BIN / "lms"),
            "serve",
            "--host",
            "127.0.0.1",
            "--workers",
            str(args.workers),
            "--port",
            str(port),
        ],
        env,
        f"http://127.0.0.1:{port}/api/v1/health",
    )
    load_before = os.getloadavg()[0]
    time.sleep(1.0)
    workers = _workers(lms.pid)
    idle = {pid: _rss_mb(pid) for pid in workers}
    sampler = _Sampler(workers)
    sampler.start()

    def make(rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        body = {"email": rng.choice(emails), "password": PASSWORD}
        return "POST", "/api/v1/auth/login", {"json": body}

    result = asyncio.run(
        _drive(
            f"http://127.0.0.1:{port}",
            "login",
            make,
            args.concurrency,
            args.seconds,
            args.warmup,
            lms.pid,
        )
    )
    sampler.stop.set()
    sampler.join()
    time.sleep(args.settle)
    after = {pid: _rss_mb(pid) for pid in workers}

    print(
        f"\n{args.workers} workers, {args.concurrency} connections, {args.seconds:.0f}s, "
        f"database {database_url.split(':', 1)[0]}, "
        f"{'redis' if redis_url else 'in-process'} limits, {os.cpu_count()} CPUs, "
        f"load average {load_before:.2f} before / {os.getloadavg()[0]:.2f} after"
    )
    print(
        f"login: {result.rps:.1f} req/s, {result.requests} requests, {result.errors} errors, "
        f"p50 {result.percentile(0.5):.0f} ms, p99 {result.percentile(0.99):.0f} ms"
    )
    print("| worker | idle RSS MB | peak RSS MB | RSS MB after |")
    print("|---|---:|---:|---:|")
    for number, pid in enumerate(workers, 1):
        print(f"| {number} | {idle[pid]:.0f} | {sampler.peak[pid]:.0f} | {after[pid]:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
