"""Fan-out of one announcement to many students: wall time and peak RSS of the process that
runs the fan-out task (as a worker would), with in-app notifications and emails (console
backend, sent inline after each batch commits).

    .venv/bin/python -m bench.announcement_fanout --students 10000      # SQLite
    LMS_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/lms_bench \\
    .venv/bin/python -m bench.announcement_fanout --students 10000

The database named in the URL is dropped and recreated. Peak RSS is the fan-out child's
`ru_maxrss`; the batch size (ANNOUNCEMENT_FANOUT_BATCH_SIZE) bounds it, not the audience.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
import uuid

from bench.learning_load import ROOT, prepare_server

CHILD = """
import sys, uuid
from app.modules.announcements.tasks import fan_out
result = fan_out.apply(args=[sys.argv[1]])
result.get()
"""


def seed(database_url: str, students: int) -> uuid.UUID:
    from sqlalchemy import insert

    from app.core.database import build_engine, utcnow
    from app.modules.announcements.models import Announcement
    from app.modules.courses.models import Course, Enrollment
    from app.modules.users.models import User

    engine = build_engine(database_url)
    now = utcnow()
    instructor, course, announcement = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with engine.begin() as connection:
        connection.execute(
            insert(User),
            [{"id": instructor, "email": "teacher@bench.example", "full_name": "Teacher",
              "role": "instructor", "created_at": now, "updated_at": now}],
        )  # fmt: skip
        connection.execute(
            insert(Course),
            [{"id": course, "title": "Algebra", "slug": "algebra-bench",
              "instructor_id": instructor, "is_published": True, "published_at": now,
              "created_at": now, "updated_at": now}],
        )  # fmt: skip
        for start in range(0, students, 2000):
            ids = [uuid.uuid4() for _ in range(min(2000, students - start))]
            connection.execute(
                insert(User),
                [{"id": uid, "email": f"fan{start + n}@bench.example",
                  "full_name": f"Student {start + n}", "role": "student",
                  "created_at": now, "updated_at": now} for n, uid in enumerate(ids)],
            )  # fmt: skip
            connection.execute(
                insert(Enrollment),
                [{"id": uuid.uuid4(), "student_id": uid, "course_id": course,
                  "enrolled_at": now, "created_at": now, "updated_at": now} for uid in ids],
            )  # fmt: skip
        connection.execute(
            insert(Announcement),
            [{"id": announcement, "course_id": course, "author_id": instructor,
              "title": "Exam moved", "body": "To **Friday**.", "published_at": now,
              "created_at": now, "updated_at": now}],
        )  # fmt: skip
    engine.dispose()
    return announcement


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--students", type=int, default=10000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--no-email", action="store_true", help="in-app notifications only")
    args = parser.parse_args(argv)
    database_url, _redis_url, env = prepare_server("lms-bench-fanout-")
    env.pop("REDIS_URL", None)
    started = time.perf_counter()
    announcement = seed(database_url, args.students)
    print(f"seeded {args.students} students in {time.perf_counter() - started:.1f}s")
    env["ANNOUNCEMENT_FANOUT_BATCH_SIZE"] = str(args.batch_size)
    if args.no_email:
        # Every student's preference could say the same; the global opt-out is one UPDATE.
        from sqlalchemy import text

        from app.core.database import build_engine

        engine = build_engine(database_url)
        with engine.begin() as connection:
            connection.execute(text("UPDATE users SET email_opt_out = true"))
        engine.dispose()
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", CHILD, str(announcement)], cwd=ROOT, env=env, check=True)
    elapsed = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    from sqlalchemy import func, select

    from app.core.database import build_engine
    from app.modules.notifications.models import Notification

    engine = build_engine(database_url)
    with engine.connect() as connection:
        delivered = connection.scalar(select(func.count()).select_from(Notification))
    engine.dispose()
    print(
        f"fan-out to {args.students} students ({delivered} notifications"
        f"{', no email' if args.no_email else ', with emails'}), batch {args.batch_size}, "
        f"database {database_url.split(':', 1)[0]}: {elapsed:.1f}s, "
        f"{args.students / elapsed:.0f} students/s, peak RSS {peak_kib / 1024:.0f} MiB, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
