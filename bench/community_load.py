"""Load benchmark of the notification inbox: `GET /notifications` and `/unread-count`.

    .venv/bin/python -m bench.community_load                     # SQLite in a temp dir
    LMS_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/lms_bench \\
    LMS_BENCH_REDIS_URL=redis://127.0.0.1:6379/4 .venv/bin/python -m bench.community_load

Seeds `--students` users with `--per-student` notifications each (a third unread), starts
`lms serve` and the hello-world ceiling with the same uvicorn settings, and prints req/s,
p50/p99 and the ratio to the ceiling, as bench/learning_load.py does (same driver).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
import uuid
from datetime import timedelta
from typing import Any

from bench.common import Children, free_port
from bench.learning_load import VENV_BIN, _drive, _start, _table, prepare_server


def seed(database_url: str, students: int, per_student: int) -> list[uuid.UUID]:
    from sqlalchemy import insert

    from app.core.database import build_engine, utcnow
    from app.modules.notifications.models import Notification
    from app.modules.users.models import User

    engine = build_engine(database_url)
    ids = [uuid.uuid4() for _ in range(students)]
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(
            insert(User),
            [
                {"id": uid, "email": f"inbox{n}@bench.example", "full_name": f"Student {n}",
                 "role": "student", "created_at": now, "updated_at": now}
                for n, uid in enumerate(ids)
            ],
        )  # fmt: skip
        rows: list[dict[str, Any]] = []
        for uid in ids:
            for k in range(per_student):
                rows.append(
                    {"id": uuid.uuid4(), "user_id": uid, "category": "grades",
                     "title": f"Graded {k}", "body": "Your submission was graded.",
                     "read_at": None if k % 3 == 0 else now,
                     "created_at": now - timedelta(minutes=k)}
                )  # fmt: skip
            if len(rows) >= 5000:
                connection.execute(insert(Notification), rows)
                rows = []
        if rows:
            connection.execute(insert(Notification), rows)
    engine.dispose()
    return ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--per-student", type=int, default=50)
    args = parser.parse_args(argv)
    with Children() as children:
        return _benchmark(args, children)


def _benchmark(args: argparse.Namespace, children: Children) -> int:
    database_url, redis_url, env = prepare_server("lms-bench-inbox-")
    from app.core.config import get_settings
    from app.core.security import create_access_token

    started = time.perf_counter()
    students = seed(database_url, args.students, args.per_student)
    print(
        f"seeded {len(students) * args.per_student} notifications for {len(students)} "
        f"students in {time.perf_counter() - started:.1f}s"
    )
    tokens = [
        create_access_token(user_id=uid, role="student", token_version=0)[0] for uid in students
    ]
    prefix = get_settings().API_V1_PREFIX

    def inbox(rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {rng.choice(tokens)}"}
        return "GET", f"{prefix}/notifications", {"headers": headers}

    def unread(rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {rng.choice(tokens)}"}
        return "GET", f"{prefix}/notifications/unread-count", {"headers": headers}

    app_port, hello_port = free_port(), free_port()
    flags = ["--host", "127.0.0.1", "--workers", str(args.workers)]
    lms = _start(
        children,
        [str(VENV_BIN / "lms"), "serve", *flags, "--port", str(app_port)],
        env,
        f"http://127.0.0.1:{app_port}/api/v1/health",
    )
    hello = _start(
        children,
        [str(VENV_BIN / "uvicorn"), "bench.hello_app:app", *flags, "--port", str(hello_port),
         "--no-proxy-headers", "--no-access-log", "--no-server-header", "--log-level",
         "warning"],
        env,
        f"http://127.0.0.1:{hello_port}/hello",
    )  # fmt: skip
    load_before = os.getloadavg()[0]
    ceiling = asyncio.run(
        _drive(f"http://127.0.0.1:{hello_port}", "hello world (ceiling)",
               lambda _rng: ("GET", "/hello", {}), args.concurrency, args.seconds,
               args.warmup, hello.pid)
    )  # fmt: skip
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
        for name, make in {"inbox page": inbox, "unread-count": unread}.items()
    ]
    print(
        f"\n{args.workers} workers, {args.concurrency} connections, database "
        f"{database_url.split(':', 1)[0]}, {'redis' if redis_url else 'in-process'} limits, "
        f"load average {load_before:.2f} before / {os.getloadavg()[0]:.2f} after"
    )
    print(_table(ceiling, results, {}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
