"""Latency of the learner's outline: `GET /api/v1/courses/{id}/outline`.

    .venv/bin/python -m bench.outline_load                        # SQLite in a temp dir
    LMS_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/lms_bench_outline \\
    LMS_BENCH_REDIS_URL=redis://127.0.0.1:6379/4 .venv/bin/python -m bench.outline_load

The PostgreSQL database named in the URL is dropped and recreated. The script migrates it and
seeds one course of 20 sections x 15 items (11 lessons, 2 quizzes, 2 assignments each, with
release dates, relative release days and prerequisites), `--students` students enrolled in
it of whom `--active` have progress (completed lessons and passed quizzes in the first
sections), and other courses' enrollments up to `--enrollments` rows in all, each with two
completed lessons (users, enrollments and progress with COPY on PostgreSQL, multi-row
INSERTs elsewhere). It then starts
`lms serve`, drives the outline with the driver of bench/learning_load.py for a random
active student and for the course's instructor, and prints p50/p95/p99, req/s and the
server's CPU time per request (user+system of the uvicorn processes, from /proc: much less
sensitive than latency to other work on the machine).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from bench.common import Children, free_port
from bench.learning_load import VENV_BIN, Result, _drive, _start, prepare_server

SECTIONS, ITEMS_PER_SECTION = 20, 15
KINDS = ["lesson"] * 11 + ["quiz", "assignment"] * 2
TARGET_P95_MS = 30.0


@dataclass
class Outline:
    course_id: uuid.UUID
    instructor_id: uuid.UUID
    active_students: list[uuid.UUID] = field(default_factory=list)


def _bulk(connection: Any, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """COPY on PostgreSQL (every column named by the first row), multi-row INSERTs
    elsewhere."""
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        from sqlalchemy import insert

        for start in range(0, len(rows), 2000):
            connection.execute(insert(table), rows[start : start + 2000])
        return
    columns = list(rows[0])
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[name] for name in columns])


def _users(role: str, count: int, password_hash: str, now: Any) -> list[dict[str, Any]]:
    return [
        {"id": uuid.uuid4(), "email": f"{role}{n}@outline.bench.example",
         "password_hash": password_hash, "full_name": f"{role.title()} {n}", "role": role,
         "is_active": True, "mfa_enabled": False, "email_opt_out": True, "token_version": 0,
         "created_at": now, "updated_at": now}
        for n in range(count)
    ]  # fmt: skip


def _enrollments(pairs: Iterable[tuple[uuid.UUID, uuid.UUID]], now: Any) -> list[dict[str, Any]]:
    return [
        {"id": uuid.uuid4(), "student_id": student, "course_id": course, "status": "active",
         "enrolled_at": now - timedelta(days=30), "progress_percentage": Decimal("0"),
         "completed_lessons_count": 0, "total_lessons_count": 0, "total_time_spent_seconds": 0,
         "created_at": now, "updated_at": now}
        for student, course in pairs
    ]  # fmt: skip


def seed(
    database_url: str, *, students: int, active: int, enrollments: int, seed_value: int = 11
) -> Outline:
    from sqlalchemy import insert

    from app.core.database import build_engine, utcnow
    from app.core.registry import load_models
    from app.core.security import hash_password
    from app.modules.assignments.models import Assignment
    from app.modules.courses.models import (
        ITEM_TARGET_COLUMNS,
        Course,
        CourseRole,
        CourseSection,
        CourseStaff,
        Enrollment,
        ItemKind,
        Lesson,
        ReleasePrerequisite,
        SectionItem,
    )
    from app.modules.enrollments.models import LessonProgress
    from app.modules.quizzes.models import Quiz, QuizAttempt
    from app.modules.users.models import User

    load_models()
    rng = random.Random(seed_value)
    now = utcnow()
    password_hash = hash_password("Bench-Password-1")
    instructors = _users("instructor", 20, password_hash, now)
    learners = _users("student", students, password_hash, now)
    instructor_id = instructors[0]["id"]
    # The other courses hold the rest of the enrollments, a few per student.
    others = [
        {"id": uuid.uuid4(), "title": f"Other course {n}", "slug": f"outline-other-{n}",
         "instructor_id": rng.choice(instructors)["id"], "price": Decimal("0.00"),
         "currency": "USD", "is_published": True, "published_at": now, "created_at": now,
         "updated_at": now}
        for n in range(200)
    ]  # fmt: skip
    course_id = uuid.uuid4()
    course = {
        "id": course_id, "title": "Twenty weeks", "slug": "outline-bench-course",
        "instructor_id": instructor_id, "price": Decimal("0.00"), "currency": "USD",
        "is_published": True, "published_at": now, "created_at": now, "updated_at": now,
    }  # fmt: skip

    sections, items, prerequisites = [], [], []
    targets: dict[str, list[dict[str, Any]]] = {
        kind: [] for kind in ("lesson", "quiz", "assignment")
    }
    number = 0
    for index in range(SECTIONS):
        section_id = uuid.uuid4()
        sections.append(
            {"id": section_id, "course_id": course_id, "title": f"Week {index + 1}",
             "position": index, "is_published": True, "created_at": now, "updated_at": now,
             # Weekly drip from the learner's start; the last weeks open on a date to come.
             "release_after_days": 7 * index if index % 2 else None,
             "available_from": now + timedelta(days=30) if index >= SECTIONS - 2 else None}
        )  # fmt: skip
        previous_last = items[-1]["id"] if items else None
        for position, kind in enumerate(KINDS):
            target_id = uuid.uuid4()
            number += 1
            common = {"id": target_id, "course_id": course_id, "title": f"{kind} {number}",
                      "is_published": True, "created_at": now, "updated_at": now}  # fmt: skip
            if kind == "lesson":
                targets[kind].append(
                    {**common, "slug": f"lesson-{number}", "lesson_type": "text",
                     "content": "Text " * 50, "order_index": number}
                )  # fmt: skip
            elif kind == "quiz":
                targets[kind].append({**common, "published_at": now})
            else:
                targets[kind].append(common)
            # Multi-row INSERTs need the same keys in every row.
            columns = {name: None for name, _table in ITEM_TARGET_COLUMNS.values()}
            columns[ITEM_TARGET_COLUMNS[ItemKind(kind)][0]] = target_id
            items.append(
                {"id": uuid.uuid4(), "section_id": section_id, "course_id": course_id,
                 "kind": kind, "position": position, "is_required": position != 14,
                 **columns, "created_at": now, "updated_at": now,
                 "release_after_days": position if position % 5 == 4 else None}
            )  # fmt: skip
        if previous_last is not None:
            # Each week waits for the previous week's last item; its quiz needs 80%.
            prerequisites.append(
                {"id": uuid.uuid4(), "course_id": course_id, "section_id": section_id,
                 "item_id": None, "required_item_id": previous_last,
                 "min_score_percent": None}
            )  # fmt: skip
            quiz_item = items[-4]
            prerequisites.append(
                {"id": uuid.uuid4(), "course_id": course_id, "section_id": None,
                 "item_id": items[-3]["id"], "required_item_id": quiz_item["id"],
                 "min_score_percent": Decimal("80")}
            )  # fmt: skip

    outline = Outline(course_id=course_id, instructor_id=instructor_id)
    pairs = [(row["id"], course_id) for row in learners]
    other_ids = [row["id"] for row in others]
    while len(pairs) < enrollments:
        learner = learners[len(pairs) % students]["id"]
        pairs.append((learner, other_ids[(len(pairs) // students) % len(other_ids)]))
    enrollment_rows = _enrollments(pairs, now)
    in_course = [row for row in enrollment_rows if row["course_id"] == course_id]

    progress: list[dict[str, Any]] = []
    attempts: list[dict[str, Any]] = []

    def completed(enrollment_id: uuid.UUID, lesson_id: uuid.UUID) -> dict[str, Any]:
        return {"id": uuid.uuid4(), "enrollment_id": enrollment_id, "lesson_id": lesson_id,
                "status": "completed", "started_at": now, "completed_at": now,
                "time_spent_seconds": 300, "last_position_seconds": 0,
                "completion_percentage": Decimal("100"), "attempts_count": 0,
                "created_at": now, "updated_at": now}  # fmt: skip

    # The other courses' lessons, and progress on two of them for every other enrollment:
    # the tables the outline reads hold other courses' rows too, as in a real database.
    other_lessons = {
        other["id"]: [
            {"id": uuid.uuid4(), "course_id": other["id"], "title": f"Lesson {k}",
             "slug": f"lesson-{k}", "lesson_type": "text", "content": "Text", "order_index": k,
             "is_published": True, "created_at": now, "updated_at": now}
            for k in range(5)
        ]
        for other in others
    }  # fmt: skip
    for row in enrollment_rows:
        if row["course_id"] != course_id:
            for lesson in other_lessons[row["course_id"]][:2]:
                progress.append(completed(row["id"], lesson["id"]))
    lessons_in_order = targets["lesson"]
    quizzes = targets["quiz"]
    for row in in_course[:active]:
        outline.active_students.append(row["student_id"])
        done = rng.randint(10, 120)
        progress.extend(completed(row["id"], lesson["id"]) for lesson in lessons_in_order[:done])
        for quiz in quizzes[: done // 6]:
            percent = Decimal(rng.choice([60, 85, 100]))
            attempts.append(
                {"id": uuid.uuid4(), "quiz_id": quiz["id"], "enrollment_id": row["id"],
                 "user_id": row["student_id"], "attempt_number": 1, "status": "graded",
                 "started_at": now, "submitted_at": now, "graded_at": now,
                 "score": percent, "max_score": Decimal("100"), "percentage": percent,
                 "final_percentage": percent, "is_passed": True, "is_late": False,
                 "late_penalty_percent": Decimal("0")}
            )  # fmt: skip

    engine = build_engine(database_url)
    with engine.begin() as connection:
        _bulk(connection, User.__table__, instructors + learners)
        connection.execute(insert(Course), [*others, course])
        connection.execute(
            insert(CourseStaff),
            [{"course_id": course_id, "user_id": instructor_id, "role": CourseRole.OWNER.value}],
        )
        connection.execute(insert(CourseSection), sections)
        elsewhere = [lesson for group in other_lessons.values() for lesson in group]
        connection.execute(insert(Lesson), [*targets["lesson"], *elsewhere])
        # Every course has its structure (as migration 0013 arranged existing courses).
        other_sections = {
            other: {"id": uuid.uuid4(), "course_id": other, "title": "Course content",
                    "position": 0, "is_published": True, "release_after_days": None,
                    "available_from": None, "created_at": now, "updated_at": now}
            for other in other_lessons
        }  # fmt: skip
        connection.execute(insert(CourseSection), list(other_sections.values()))
        blank = {name: None for name, _table in ITEM_TARGET_COLUMNS.values()}
        connection.execute(
            insert(SectionItem),
            [
                {**blank, "id": uuid.uuid4(), "section_id": other_sections[other]["id"],
                 "course_id": other, "kind": "lesson", "position": k, "is_required": True,
                 "lesson_id": lesson["id"], "release_after_days": None, "created_at": now,
                 "updated_at": now}
                for other, group in other_lessons.items()
                for k, lesson in enumerate(group)
            ],
        )  # fmt: skip
        connection.execute(insert(Quiz), targets["quiz"])
        connection.execute(insert(Assignment), targets["assignment"])
        connection.execute(insert(SectionItem), items)
        connection.execute(insert(ReleasePrerequisite), prerequisites)
        _bulk(connection, Enrollment.__table__, enrollment_rows)
        _bulk(connection, LessonProgress.__table__, progress)
        if attempts:
            connection.execute(insert(QuizAttempt), attempts)
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("ANALYZE")
    engine.dispose()
    return outline


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="measured time per view")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="open connections (1: the latency of one request; with 2, the kernel may hand both "
        "connections to one worker, whose requests then wait for each other)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--students", type=int, default=5000, help="enrolled in the course")
    parser.add_argument("--active", type=int, default=500, help="of them with progress")
    parser.add_argument("--enrollments", type=int, default=100_000, help="in the database")
    args = parser.parse_args(argv)
    with Children() as children:
        return _benchmark(args, children)


def _line(result: Result) -> str:
    return (
        f"{result.name:<22}{result.rps:>8.0f}{result.percentile(0.50):>9.1f}"
        f"{result.percentile(0.95):>9.1f}{result.percentile(0.99):>9.1f}{result.errors:>7}"
        f"{result.cpu_ms_per_request:>12.1f}"
    )


def _benchmark(args: argparse.Namespace, children: Children) -> int:
    database_url, redis_url, env = prepare_server("lms-bench-outline-")
    from app.core.config import get_settings
    from app.core.security import create_access_token

    started = time.perf_counter()
    outline = seed(
        database_url, students=args.students, active=args.active, enrollments=args.enrollments
    )
    print(
        f"seeded {SECTIONS}x{ITEMS_PER_SECTION} items, {args.enrollments} enrollments "
        f"({args.students} in the course, {args.active} with progress) in "
        f"{time.perf_counter() - started:.1f}s on {database_url.split(':', 1)[0]}"
    )
    tokens = [
        create_access_token(user_id=uid, role="student", token_version=0)[0]
        for uid in outline.active_students
    ]
    teacher = create_access_token(
        user_id=outline.instructor_id, role="instructor", token_version=0
    )[0]
    path = f"{get_settings().API_V1_PREFIX}/courses/{outline.course_id}/outline"

    def as_student(rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        return "GET", path, {"headers": {"Authorization": f"Bearer {rng.choice(tokens)}"}}

    def as_instructor(_rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        return "GET", path, {"headers": {"Authorization": f"Bearer {teacher}"}}

    port = free_port()
    lms = _start(
        children,
        [str(VENV_BIN / "lms"), "serve", "--host", "127.0.0.1", "--workers", str(args.workers),
         "--port", str(port)],
        env,
        f"http://127.0.0.1:{port}/api/v1/health",
    )  # fmt: skip
    load_before = os.getloadavg()[0]
    results = [
        asyncio.run(
            _drive(f"http://127.0.0.1:{port}", name, make, args.concurrency, args.seconds,
                   args.warmup, lms.pid)
        )
        for name, make in {"outline (student)": as_student,
                           "outline (instructor)": as_instructor}.items()
    ]  # fmt: skip
    print(
        f"\n{args.workers} workers, {args.concurrency} connections, {args.seconds:.0f}s per "
        f"view, database {database_url.split(':', 1)[0]}, "
        f"{'redis' if redis_url else 'in-process'} limits, {os.cpu_count()} CPUs, "
        f"load average {load_before:.2f} before / {os.getloadavg()[0]:.2f} after"
    )
    print(
        f"{'view':<22}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>7}"
        f"{'CPU ms/req':>12}"
    )
    print("-" * 76)
    for result in results:
        print(_line(result))
    # The target is the student's outline; the instructor's view is printed alongside.
    student = results[0]
    verdict = "met" if student.percentile(0.95) < TARGET_P95_MS else "missed"
    print(f"\ntarget p95 < {TARGET_P95_MS:.0f} ms for the student's outline: {verdict}")
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
