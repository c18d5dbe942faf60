"""Latency benchmark of the analytics endpoints at 100k enrollments / ~1M lesson-progress rows.

    LMS_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/lms_bench_analytics \\
        .venv/bin/python -m bench.analytics_load
    .venv/bin/python -m bench.analytics_load --students 2000 --courses 40   # quick, SQLite

The database named in LMS_BENCH_DATABASE_URL is dropped and recreated (PostgreSQL), or a
SQLite file in a temp dir is used when the variable is unset. The script migrates it,
seeds it with `lms seed-bench`, starts `lms serve` on 127.0.0.1 with the cache disabled
(so every request runs its SQL; pass --cache to measure cached answers), and times each
analytics endpoint for a bounded number of requests at a small fixed concurrency, with
varying subjects (students, courses, instructors). It prints p50/p95/p99 per endpoint and
whether p95 meets the target (100 ms). Server and client share this machine's CPUs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.common import Children, free_port, percentile, prepare_database, wait_ready

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
SECRET_KEY = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
TARGET_P95_MS = 100.0
RANDOM_PAGE_COST = 1.1


@dataclass
class Timings:
    samples: list[float] = field(default_factory=list)
    errors: int = 0

    def percentile(self, fraction: float) -> float:
        return percentile(self.samples, fraction)


def _env(database_url: str, scratch: Path, *, cache: bool) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "ENVIRONMENT": "development",
        "VAR_DIR": str(scratch / "var"),
        "UPLOAD_DIR": str(scratch / "var" / "uploads"),
        "CERTIFICATES_DIR": str(scratch / "var" / "certificates"),
        "RATE_LIMIT_ENABLED": "false",
        "CACHE_ENABLED": "true" if cache else "false",
        "LOG_LEVEL": "WARNING",
        "TASKS_FORCE_INLINE": "true",
    }
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        env.pop(name, None)
    return env


def _run(command: list[str], env: dict[str, str]) -> None:
    subprocess.run(command, cwd=ROOT, env=env, check=True)


def _subjects(database_url: str, sample: int) -> dict[str, Any]:
    """Ids to query, and access tokens minted with the server's key."""
    os.environ["SECRET_KEY"] = SECRET_KEY
    from sqlalchemy import create_engine, func, select

    from app.core.security import create_access_token
    from app.modules.courses.models import Course
    from app.modules.users.models import User

    engine = create_engine(database_url)
    with engine.connect() as connection:
        admin_id = connection.scalar(select(User.id).where(User.role == "admin"))
        students = list(
            connection.scalars(
                select(User.id).where(User.role == "student").order_by(func.random()).limit(sample)
            )
        )
        courses = list(
            connection.execute(
                select(Course.id, Course.instructor_id).order_by(func.random()).limit(sample)
            )
        )
    engine.dispose()

    def token(user_id: Any, role: str) -> str:
        return create_access_token(user_id=user_id, role=role)[0]

    return {
        "admin": token(admin_id, "admin"),
        "students": [token(student, "student") for student in students],
        "courses": [(course_id, token(owner, "instructor")) for course_id, owner in courses],
        "instructors": sorted({owner for _, owner in courses}, key=str),
    }


Request = Callable[[random.Random], tuple[str, dict[str, str]]]


def _scenarios(subjects: dict[str, Any]) -> dict[str, Request]:
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def my_progress(rng: random.Random) -> tuple[str, dict[str, str]]:
        return "/api/v1/analytics/my-progress", bearer(rng.choice(subjects["students"]))

    def my_dashboard(rng: random.Random) -> tuple[str, dict[str, str]]:
        return "/api/v1/analytics/my-dashboard", bearer(rng.choice(subjects["students"]))

    def course(rng: random.Random) -> tuple[str, dict[str, str]]:
        course_id, owner_token = rng.choice(subjects["courses"])
        return f"/api/v1/analytics/courses/{course_id}", bearer(owner_token)

    def course_weekly(rng: random.Random) -> tuple[str, dict[str, str]]:
        course_id, owner_token = rng.choice(subjects["courses"])
        url = f"/api/v1/analytics/courses/{course_id}?granularity=week&days=365"
        return url, bearer(owner_token)

    def instructor(rng: random.Random) -> tuple[str, dict[str, str]]:
        instructor_id = rng.choice(subjects["instructors"])
        return f"/api/v1/analytics/instructors/{instructor_id}/overview", bearer(subjects["admin"])

    def system(rng: random.Random) -> tuple[str, dict[str, str]]:
        return "/api/v1/analytics/system/overview", bearer(subjects["admin"])

    return {
        "GET /analytics/my-progress": my_progress,
        "GET /analytics/my-dashboard": my_dashboard,
        "GET /analytics/courses/{id} (30 days by day)": course,
        "GET /analytics/courses/{id} (365 days by week)": course_weekly,
        "GET /analytics/instructors/{id}/overview": instructor,
        "GET /analytics/system/overview": system,
    }


async def _measure(
    base_url: str, request: Request, *, requests: int, concurrency: int, warmup: int
) -> Timings:
    timings = Timings()
    rng = random.Random(11)
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:

        async def one(record: bool) -> None:
            url, headers = request(rng)
            started = time.perf_counter()
            response = await client.get(url, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                timings.errors += 1
            elif record:
                timings.samples.append(elapsed)

        for _ in range(warmup):
            await one(record=False)
        remaining = requests

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                await one(record=True)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20_000)
    parser.add_argument("--courses", type=int, default=200)
    parser.add_argument("--requests", type=int, default=300, help="timed requests per endpoint")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="API processes")
    parser.add_argument("--cache", action="store_true", help="keep the analytics cache on")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time the already seeded PostgreSQL database instead of recreating it",
    )
    args = parser.parse_args(argv)
    if args.reuse and not os.environ.get("LMS_BENCH_DATABASE_URL"):
        parser.error("--reuse needs LMS_BENCH_DATABASE_URL")
    with Children() as children:
        return _benchmark(args, children)


def _benchmark(args: argparse.Namespace, children: Children) -> int:
    scratch = Path(tempfile.mkdtemp(prefix="lms-analytics-bench-"))
    configured = os.environ.get("LMS_BENCH_DATABASE_URL")
    database_url = (
        configured
        if args.reuse and configured
        else prepare_database(
            configured,
            scratch,
            sqlite_name="analytics-bench.db",
            # The usual setting for SSD storage (the default 4.0 models spinning disks and
            # steers the planner away from index lookups the reports depend on).
            settings={"random_page_cost": str(RANDOM_PAGE_COST)},
        )
    )
    env = _env(database_url, scratch, cache=args.cache)
    lms = str(VENV_BIN / "lms")
    print(f"database: {database_url.split('@')[-1]}")
    if not args.reuse:
        _run([lms, "migrate"], env)
        seeded = time.perf_counter()
        command = [
            lms,
            "seed-bench",
            "--students",
            str(args.students),
            "--courses",
            str(args.courses),
        ]
        _run(command, env)
        print(f"seeded in {time.perf_counter() - seeded:.0f} s")
    subjects = _subjects(database_url, sample=200)

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = children.start(
        [lms, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers)],
        cwd=ROOT,
        env=env,
    )
    results: dict[str, Timings] = {}
    load_before = os.getloadavg()[0]
    wait_ready(f"{base_url}/api/v1/health", server, timeout=90)
    for name, request in _scenarios(subjects).items():
        results[name] = asyncio.run(
            _measure(
                base_url,
                request,
                requests=args.requests,
                concurrency=args.concurrency,
                warmup=args.warmup,
            )
        )

    print(
        f"\n{args.requests} requests per endpoint, concurrency {args.concurrency}, "
        f"{args.workers} API workers, cache {'on' if args.cache else 'off'}, "
        f"load average {load_before:.1f} before / {os.getloadavg()[0]:.1f} after "
        f"on {os.cpu_count()} CPUs\n"
    )
    print(f"{'endpoint':<50} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}  target")
    met = True
    for name, timing in results.items():
        p95 = timing.percentile(0.95)
        ok = timing.errors == 0 and p95 < TARGET_P95_MS
        met = met and ok
        p50 = statistics.median(timing.samples) if timing.samples else float("nan")
        print(
            f"{name:<50} {p50:>8.1f} {p95:>8.1f} {timing.percentile(0.99):>8.1f} "
            f"{timing.errors:>7}  "
            f"{'ok' if ok else 'MISSED'} (p95 < {TARGET_P95_MS:.0f} ms)"
        )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
