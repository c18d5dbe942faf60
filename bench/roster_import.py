"""Time a OneRoster 1.2 CSV import of 50,000 enrollments (the target: under a minute on
PostgreSQL, without holding the files in memory).

    LMS_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/lms_bench_roster \\
        .venv/bin/python -m bench.roster_import
    .venv/bin/python -m bench.roster_import --students 500 --classes 50   # quick, SQLite

The database named in LMS_BENCH_DATABASE_URL is dropped and recreated (PostgreSQL), or a
SQLite file in a temp dir is used when the variable is unset. The script migrates it, writes
a roster zip (orgs, a session, courses, users and their roles, classes, and `--students` x
`--per-student` student enrollments plus one teacher enrollment per class), checks it as the
upload route does, and runs the import in this process the way the Celery task runs it.
Invitation emails are queued to an in-memory broker (their sending is the email worker's
time, not the import's). It prints the time of the check and of the whole import, rows per
second, the enrollments' counts and the process's peak resident memory, then runs the same
import again (every row an update, and the bulk files' check for records they no longer list
walks every mapped record) to time a re-import.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import resource
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from app.modules.rostering.archive import REQUIRED_COLUMNS
from bench.common import prepare_database

ROOT = Path(__file__).resolve().parents[1]
STAMP = "2026-09-01T08:00:00.000Z"


def _csv(
    archive: zipfile.ZipFile,
    name: str,
    rows: Iterable[dict[str, str]],
    extra: tuple[str, ...] = (),
) -> int:
    """Write `name`.csv with the columns the importer requires (then `extra` ones), every
    row active and stamped, as a bulk export would be."""
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=[*REQUIRED_COLUMNS[name], *extra], lineterminator="\r\n"
    )
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({"status": "active", "dateLastModified": STAMP, **row})
        count += 1
    archive.writestr(f"{name}.csv", buffer.getvalue())
    return count


def write_roster(
    path: Path, *, students: int, teachers: int, classes: int, per_student: int
) -> dict[str, int]:
    counts: dict[str, int] = {}
    people = [(f"t-{n}", "teacher") for n in range(teachers)] + [
        (f"s-{n}", "student") for n in range(students)
    ]

    def enrollments() -> Iterator[dict[str, str]]:
        for n in range(classes):
            yield {
                "sourcedId": f"e-t-{n}",
                "classSourcedId": f"class-{n}",
                "schoolSourcedId": "org-1",
                "userSourcedId": f"t-{n % teachers}",
                "role": "teacher",
                "primary": "true",
            }
        for s in range(students):
            for k in range(per_student):
                yield {
                    "sourcedId": f"e-{s}-{k}",
                    "classSourcedId": f"class-{(s * per_student + k) % classes}",
                    "schoolSourcedId": "org-1",
                    "userSourcedId": f"s-{s}",
                    "role": "student",
                    "primary": "false",
                }

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        manifest = "propertyName,value\r\nmanifest.version,1.0\r\noneroster.version,1.2\r\n"
        manifest += "".join(f"file.{name},bulk\r\n" for name in REQUIRED_COLUMNS)
        archive.writestr("manifest.csv", manifest)
        counts["orgs"] = _csv(
            archive, "orgs", [{"sourcedId": "org-1", "name": "Bench High", "type": "school"}]
        )
        counts["academicSessions"] = _csv(
            archive,
            "academicSessions",
            [
                {
                    "sourcedId": "term-1",
                    "title": "Fall",
                    "type": "term",
                    "startDate": "2026-09-01",
                    "endDate": "2026-12-20",
                    "schoolYear": "2027",
                }
            ],
        )
        counts["courses"] = _csv(
            archive,
            "courses",
            (
                {"sourcedId": f"course-{n}", "title": f"Subject {n}", "orgSourcedId": "org-1"}
                for n in range(50)
            ),
        )
        counts["users"] = _csv(
            archive,
            "users",
            (
                {
                    "sourcedId": sid,
                    "enabledUser": "true",
                    "username": sid,
                    "givenName": "Given",
                    "familyName": f"Family {sid}",
                    "email": f"{sid}@bench.example",
                    "password": "",
                }
                for sid, _ in people
            ),
            extra=("email", "password"),
        )
        counts["roles"] = _csv(
            archive,
            "roles",
            (
                {
                    "sourcedId": f"role-{sid}",
                    "userSourcedId": sid,
                    "roleType": "primary",
                    "role": role,
                    "orgSourcedId": "org-1",
                }
                for sid, role in people
            ),
            extra=("orgSourcedId",),
        )
        counts["classes"] = _csv(
            archive,
            "classes",
            (
                {
                    "sourcedId": f"class-{n}",
                    "title": f"Class {n}",
                    "courseSourcedId": f"course-{n % 50}",
                    "schoolSourcedId": "org-1",
                    "termSourcedIds": "term-1",
                }
                for n in range(classes)
            ),
        )
        counts["enrollments"] = _csv(archive, "enrollments", enrollments(), extra=("primary",))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=10_000)
    parser.add_argument("--per-student", type=int, default=5)
    parser.add_argument("--teachers", type=int, default=200)
    parser.add_argument("--classes", type=int, default=1_000)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="lms-bench-roster-"))
    url = prepare_database(
        os.environ.get("LMS_BENCH_DATABASE_URL"), scratch, sqlite_name="roster.db"
    )
    os.environ.update(
        {
            "DATABASE_URL": url,
            "ENVIRONMENT": "development",
            "SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            "VAR_DIR": str(scratch / "var"),
            "UPLOAD_DIR": str(scratch / "var" / "uploads"),
            "CERTIFICATES_DIR": str(scratch / "var" / "certificates"),
            "LOG_LEVEL": "WARNING",
            "TASKS_FORCE_INLINE": "false",
            "CELERY_BROKER_URL": "memory://",
            "ROSTER_MAX_UPLOAD_MB": "500",
        }
    )
    os.environ.pop("REDIS_URL", None)
    from alembic import command

    from app.cli.database import alembic_config

    config = alembic_config(url)
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")

    from app.core.database import session_scope
    from app.modules.rostering import service
    from app.modules.rostering.models import RosterImport
    from app.modules.users.models import User

    zip_path = scratch / "roster.zip"
    started = time.perf_counter()
    counts = write_roster(
        zip_path,
        students=args.students,
        teachers=args.teachers,
        classes=args.classes,
        per_student=args.per_student,
    )
    print(f"database: {url.split('@')[-1]}")
    print(
        f"roster written in {time.perf_counter() - started:.1f} s: "
        + ", ".join(f"{n} {name}" for name, n in counts.items())
        + f"; zip {zip_path.stat().st_size / 1e6:.1f} MB"
    )
    with session_scope() as db:
        admin = User(email="admin@bench.example", full_name="Bench Admin", role="admin")
        db.add(admin)
    for label in ("import", "re-import"):
        started = time.perf_counter()
        with session_scope() as db, zip_path.open("rb") as source:
            record = service.start_import(db, admin=admin, source=source, dry_run=False)
            import_id = record.id
        checked = time.perf_counter() - started
        started = time.perf_counter()
        service.execute_import(import_id)
        elapsed = time.perf_counter() - started
        with session_scope() as db:
            done = db.get(RosterImport, import_id)
            assert done is not None
            summary, status, errors, rows = (
                done.summary,
                done.status,
                done.error_count,
                done.rows_done,
            )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        enrollments = summary.get("enrollments", {})
        print(
            f"{label}: {status}, {rows} rows ({errors} refused) in {elapsed:.1f} s "
            f"({rows / elapsed:,.0f} rows/s); upload check {checked:.2f} s; "
            f"enrollments {enrollments}; peak RSS {peak:.0f} MB"
        )
    print(f"load average: {os.getloadavg()}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
