"""Load benchmark of the learning core: catalogue, course detail, my-courses, heartbeat.

    .venv/bin/python -m bench.learning_load                      # SQLite in a temp dir
    LMS_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/lms_bench \\
    LMS_BENCH_REDIS_URL=redis://127.0.0.1:6379/4 .venv/bin/python -m bench.learning_load

The PostgreSQL database named in the URL is dropped and recreated. The script migrates it,
seeds ~1,000 courses / ~10,000 enrollments, starts `lms serve --workers 2` and a bare FastAPI
hello-world with the same uvicorn settings on 127.0.0.1, drives each endpoint with a small
asyncio HTTP/1.1 keep-alive client at a fixed concurrency for a bounded time, and prints
req/s, p50 and p99 with the ratio to the hello-world ceiling. Everything (servers and
driver) shares this machine's CPUs, so figures are for comparison on one machine, not
absolute capacity.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from bench.common import Children, free_port, percentile, prepare_database, wait_ready

ROOT = Path(__file__).resolve().parents[1]
SECRET_KEY = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
VENV_BIN = Path(sys.executable).parent


@dataclass
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    # CPU seconds the server processes used during the measured window (Linux /proc).
    server_cpu_seconds: float = 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        return self.server_cpu_seconds * 1000 / self.requests if self.requests else float("nan")

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        return percentile(self.latencies_ms, fraction)


def _tree_cpu_seconds(pid: int) -> float:
    """User+system CPU of a process and its descendants (the uvicorn workers)."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (OSError, IndexError):
            continue
        pending.extend(int(child) for child in children)
    return total


def _server_env(database_url: str, redis_url: str | None, scratch: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "ENVIRONMENT": "development",
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "VAR_DIR": str(scratch / "var"),
        "UPLOAD_DIR": str(scratch / "var" / "uploads"),
        "CERTIFICATES_DIR": str(scratch / "var" / "certificates"),
        "LOG_LEVEL": "WARNING",
        "TASKS_FORCE_INLINE": "true",
        "EMAIL_BACKEND": "console",
        # The limiter still runs on every request; its limits are just out of reach.
        "RATE_LIMIT_REQUESTS_PER_MINUTE": "100000000",
        "AUTH_RATE_LIMIT_REQUESTS_PER_MINUTE": "100000000",
        "LOGIN_FAILURES_PER_IP_PER_MINUTE": "100000000",
    }
    env.pop("CELERY_BROKER_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    else:
        env.pop("REDIS_URL", None)
    return env


def prepare_server(prefix: str) -> tuple[str, str | None, dict[str, str]]:
    """(database URL, Redis URL, server environment) for a fresh, migrated scratch database
    (LMS_BENCH_DATABASE_URL, else SQLite) and an empty LMS_BENCH_REDIS_URL database."""
    scratch = Path(tempfile.mkdtemp(prefix=prefix))
    database_url = prepare_database(
        os.environ.get("LMS_BENCH_DATABASE_URL"), scratch, sqlite_name="bench.db"
    )
    redis_url = os.environ.get("LMS_BENCH_REDIS_URL")
    env = _server_env(database_url, redis_url, scratch)
    # This process mints tokens and seeds rows with the server's settings.
    os.environ.update(
        {k: v for k, v in env.items() if k in ("DATABASE_URL", "SECRET_KEY", "VAR_DIR")}
    )
    if redis_url:
        import redis

        redis.Redis.from_url(redis_url).flushdb()
    subprocess.run([str(VENV_BIN / "lms"), "migrate"], cwd=ROOT, env=env, check=True)
    return database_url, redis_url, env


def _start(
    children: Children, command: list[str], env: dict[str, str], ready_url: str
) -> subprocess.Popen[bytes]:
    process = children.start(command, cwd=ROOT, env=env)
    wait_ready(ready_url, process, timeout=60)
    return process


RequestFactory = Callable[[random.Random], tuple[str, str, dict[str, Any]]]


class _Connection:
    """A minimal HTTP/1.1 keep-alive client on a raw asyncio stream.

    httpx spends more CPU per request than a small FastAPI endpoint does; on a 2-core machine
    shared with the server it would measure itself. This writes prepared bytes and reads
    `Content-Length` bodies, which is all the benchmark needs.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, kwargs: dict[str, Any]) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        if kwargs.get("params"):
            path = f"{path}?{urlencode(kwargs['params'])}"
        body = json.dumps(kwargs["json"]).encode() if "json" in kwargs else b""
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{name}: {value}" for name, value in kwargs.get("headers", {}).items()]
        if body:
            head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        header_block = await self.reader.readuntil(b"\r\n\r\n")
        lines = header_block.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        for line in lines[1:]:
            if line[:15].lower() == "content-length:":
                length = int(line[15:].strip())
        if length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _drive(
    base_url: str,
    name: str,
    make: RequestFactory,
    concurrency: int,
    seconds: float,
    warmup: float,
    server_pid: int,
) -> Result:
    parsed = urlsplit(base_url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    latencies: list[float] = []
    counters = {"requests": 0, "errors": 0}
    connections = [_Connection(host, port) for _ in range(concurrency)]

    async def worker(number: int, until: float, record: bool) -> None:
        rng = random.Random(number)
        connection = connections[number % concurrency]
        while time.perf_counter() < until:
            method, path, kwargs = make(rng)
            started = time.perf_counter()
            status = await connection.request(method, path, kwargs)
            elapsed = (time.perf_counter() - started) * 1000
            if record:
                counters["requests"] += 1
                latencies.append(elapsed)
                if status >= 400:
                    counters["errors"] += 1

    try:
        warm_until = time.perf_counter() + warmup
        await asyncio.gather(*(worker(n, warm_until, False) for n in range(concurrency)))
        cpu_before = _tree_cpu_seconds(server_pid)
        started = time.perf_counter()
        until = started + seconds
        await asyncio.gather(*(worker(n, until, True) for n in range(concurrency)))
        elapsed = time.perf_counter() - started
        cpu = _tree_cpu_seconds(server_pid) - cpu_before
    finally:
        for connection in connections:
            connection.close()
    return Result(name, counters["requests"], counters["errors"], elapsed, latencies, cpu)


def _scenarios(dataset: Any, tokens: dict[Any, str]) -> dict[str, RequestFactory]:
    from app.core.config import get_settings

    prefix = get_settings().API_V1_PREFIX
    course_ids = [str(course_id) for course_id in dataset.course_ids]
    pages = max(1, min(10, len(course_ids) // 20))

    def catalogue(rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        return "GET", f"{prefix}/courses", {"params": {"page": rng.randint(1, pages)}}

    def detail(rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        return "GET", f"{prefix}/courses/{rng.choice(course_ids)}", {}

    def my_courses(rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        student = rng.choice(dataset.student_ids)
        headers = {"Authorization": f"Bearer {tokens[student]}"}
        return "GET", f"{prefix}/enrollments/my-courses", {"headers": headers}

    def heartbeat(rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        enrollment_id, student_id, lesson_ids = rng.choice(dataset.enrollments)
        headers = {"Authorization": f"Bearer {tokens[student_id]}"}
        body = {
            "position_seconds": rng.randint(0, 1800),
            "time_spent_delta_seconds": 5,
            "completion_percentage": rng.randint(0, 100),
        }
        path = f"{prefix}/enrollments/{enrollment_id}/lessons/{rng.choice(lesson_ids)}/progress"
        return "PUT", path, {"headers": headers, "json": body}

    return {
        "catalogue page": catalogue,
        "course detail": detail,
        "my-courses": my_courses,
        "progress heartbeat": heartbeat,
    }


def _table(ceiling: Result, results: list[Result], targets: dict[str, str]) -> str:
    lines = [
        f"{'endpoint':<22}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>7}"
        f"{'vs ceiling':>11}{'CPU ms/req':>11}{'CPU vs ceiling':>15}  target",
        "-" * 110,
    ]
    for result in [ceiling, *results]:
        ratio = result.rps / ceiling.rps if ceiling.rps else 0.0
        # Throughput if CPU were the only limit, relative to the ceiling's: immune to how
        # busy the machine was, unlike req/s.
        cpu_ratio = (
            ceiling.cpu_ms_per_request / result.cpu_ms_per_request if result.requests else 0.0
        )
        lines.append(
            f"{result.name:<22}{result.rps:>8.0f}{result.percentile(0.50):>9.1f}"
            f"{result.percentile(0.99):>9.1f}{result.errors:>7}{ratio:>11.0%}"
            f"{result.cpu_ms_per_request:>11.2f}{cpu_ratio:>15.0%}  "
            f"{targets.get(result.name, '')}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="measured time per endpoint")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured time first")
    parser.add_argument("--concurrency", type=int, default=32, help="open connections")
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--courses", type=int, default=1000)
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--enrollments-per-student", type=int, default=5)
    args = parser.parse_args(argv)
    with Children() as children:
        return _benchmark(args, children)


def _benchmark(args: argparse.Namespace, children: Children) -> int:
    database_url, redis_url, env = prepare_server("lms-bench-")

    from app.core.database import build_engine
    from app.core.security import create_access_token
    from bench.learning_dataset import seed

    engine = build_engine(database_url)
    started = time.perf_counter()
    dataset = seed(
        engine,
        courses=args.courses,
        students=args.students,
        enrollments_per_student=args.enrollments_per_student,
    )
    engine.dispose()
    print(
        f"seeded {len(dataset.course_ids)} courses, {len(dataset.enrollments)} enrollments "
        f"in {time.perf_counter() - started:.1f}s on {database_url.split(':', 1)[0]}"
    )
    tokens = {
        student_id: create_access_token(user_id=student_id, role="student", token_version=0)[0]
        for student_id in dataset.student_ids
    }

    app_port, hello_port = free_port(), free_port()
    flags = ["--host", "127.0.0.1", "--workers", str(args.workers)]
    lms = _start(
        children,
        [str(VENV_BIN / "lms"), "serve", *flags, "--port", str(app_port)],
        env,
        f"http://127.0.0.1:{app_port}/api/v1/health",
    )
    # The same settings `lms serve` passes to uvicorn.run (see app/cli/server.py).
    hello = _start(
        children,
        [
            str(VENV_BIN / "uvicorn"),
            "bench.hello_app:app",
            *flags,
            "--port",
            str(hello_port),
            "--no-proxy-headers",
            "--no-access-log",
            "--no-server-header",
            "--log-level",
            "warning",
        ],
        env,
        f"http://127.0.0.1:{hello_port}/hello",
    )
    # Other work on the machine skews every figure; the load average says how much.
    load_before = os.getloadavg()[0]
    ceiling = asyncio.run(
        _drive(
            f"http://127.0.0.1:{hello_port}",
            "hello world (ceiling)",
            lambda _rng: ("GET", "/hello", {}),
            args.concurrency,
            args.seconds,
            args.warmup,
            hello.pid,
        )
    )
    results = [
        asyncio.run(
            _drive(
                f"http://127.0.0.1:{app_port}",
                name,
                make,
                args.concurrency,
                args.seconds,
                args.warmup,
                lms.pid,
            )
        )
        for name, make in _scenarios(dataset, tokens).items()
    ]

    targets = {
        "catalogue page": ">= 40% of ceiling, p99 < 100 ms",
        "course detail": ">= 40% of ceiling, p99 < 100 ms",
        "my-courses": "p99 < 100 ms",
        "progress heartbeat": ">= 1000 req/s, p99 < 100 ms",
    }
    print(
        f"\n{args.workers} workers, {args.concurrency} connections, {args.seconds:.0f}s per "
        f"endpoint, database {database_url.split(':', 1)[0]}, "
        f"{'redis' if redis_url else 'in-process'} cache/limits, {os.cpu_count()} CPUs, "
        f"load average {load_before:.2f} before / {os.getloadavg()[0]:.2f} after"
    )
    print(_table(ceiling, results, targets))
    slowest = max(statistics.mean(r.latencies_ms) for r in results if r.latencies_ms)
    print(f"\nslowest mean latency: {slowest:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
