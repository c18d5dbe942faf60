"""`lms seed-bench`: a large, realistic reporting dataset written with bulk inserts.

With the defaults (20,000 students, 200 courses of 20 lessons, 5 enrollments per student)
it writes 100,000 enrollments and about 1,000,000 lesson-progress rows, plus quizzes and
graded attempts, ratings, completed payments and certificates: the size at which
`bench/analytics_load.py` times the analytics endpoints. Rows go in as multi-row INSERTs
in chunks, never one ORM object at a time. Every account shares one password hash
(`bench-password`), and the admin is `bench-admin@bench.local`.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

BENCH_PASSWORD = "bench-password"  # noqa: S105 - the documented password of throwaway data
ADMIN_EMAIL = "bench-admin@bench.local"
CHUNK_ROWS = 5000


def register(subparsers: Any) -> None:
    seed = subparsers.add_parser("seed-bench")
    seed.add_argument("--students", type=int, default=20_000, help="number of students")
    seed.add_argument("--courses", type=int, default=200, help="number of courses")
    seed.add_argument("--instructors", type=int, default=None, help="default: courses / 4")
    seed.add_argument("--lessons-per-course", type=int, default=20)
    seed.add_argument(
        "--enrollments-per-student",
        type=int,
        default=5,
        help="each student enrolls in this many distinct courses (at most --courses)",
    )
    seed.add_argument("--seed", type=int, default=7, help="random seed (same data every run)")
    seed.set_defaults(handler=seed_bench_command)


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK_ROWS):
        yield rows[start : start + CHUNK_ROWS]


class _Writer:
    """Buffers rows per table and flushes them as multi-row INSERTs."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.counts: dict[str, int] = {}

    def write(self, table: Any, rows: list[dict[str, Any]]) -> None:
        from sqlalchemy import insert

        for chunk in _chunks(rows):
            self.connection.execute(insert(table), chunk)
        self.counts[table.name] = self.counts.get(table.name, 0) + len(rows)


def seed_bench(
    *,
    students: int,
    courses: int,
    instructors: int | None = None,
    lessons_per_course: int = 20,
    enrollments_per_student: int = 5,
    seed: int = 7,
) -> dict[str, Any]:
    from sqlalchemy import select

    from app.core.database import get_engine, utcnow
    from app.core.registry import load_models
    from app.core.security import hash_password
    from app.modules.certificates import signing
    from app.modules.certificates.models import Certificate
    from app.modules.courses.models import Course, CourseRole, CourseStaff, Lesson
    from app.modules.enrollments.models import Enrollment, LessonProgress
    from app.modules.payments.models import Payment
    from app.modules.quizzes.models import Quiz, QuizAttempt
    from app.modules.users.models import User

    load_models()
    rng = random.Random(seed)
    now = utcnow()
    instructors = instructors or max(1, courses // 4)
    per_student = min(enrollments_per_student, courses)
    password_hash = hash_password(BENCH_PASSWORD)

    def moment(max_days: int) -> datetime:
        return now - timedelta(seconds=rng.randint(0, max_days * 86400))

    def user(email: str, name: str, role: str) -> dict[str, Any]:
        created = moment(400)
        return {
            "id": uuid.uuid4(),
            "email": email,
            "password_hash": password_hash,
            "full_name": name,
            "role": role,
            "is_active": True,
            "mfa_enabled": False,
            "email_opt_out": False,
            "token_version": 0,
            "last_login_at": moment(60) if rng.random() < 0.7 else None,
            "created_at": created,
            "updated_at": created,
        }

    admin = user(ADMIN_EMAIL, "Bench Admin", "admin")
    teachers = [
        user(f"bench-instructor-{i}@bench.local", f"Instructor {i}", "instructor")
        for i in range(instructors)
    ]
    learners = [
        user(f"bench-student-{i}@bench.local", f"Student {i}", "student") for i in range(students)
    ]
    names = {row["id"]: row["full_name"] for row in [*teachers, *learners]}

    course_rows: list[dict[str, Any]] = []
    lesson_rows: list[dict[str, Any]] = []
    quiz_rows: list[dict[str, Any]] = []
    lessons_of: dict[uuid.UUID, list[uuid.UUID]] = {}
    graded_quiz_of: dict[uuid.UUID, uuid.UUID] = {}
    for index in range(courses):
        course_id = uuid.uuid4()
        created = moment(400)
        price = Decimal(rng.choice(["0.00", "19.99", "49.00", "99.00"]))
        course_rows.append(
            {
                "id": course_id,
                "title": f"Bench course {index}",
                "slug": f"bench-course-{index}-{course_id.hex[:6]}",
                "instructor_id": teachers[index % instructors]["id"],
                "price": price,
                "currency": "USD",
                "is_published": rng.random() < 0.9,
                "published_at": created,
                "created_at": created,
                "updated_at": created,
            }
        )
        lessons_of[course_id] = []
        for order in range(lessons_per_course):
            lesson_id = uuid.uuid4()
            lessons_of[course_id].append(lesson_id)
            lesson_rows.append(
                {
                    "id": lesson_id,
                    "course_id": course_id,
                    "title": f"Lesson {order + 1}",
                    "slug": f"lesson-{order + 1}",
                    "lesson_type": "video",
                    "duration_minutes": 10,
                    "order_index": order,
                    "is_preview": order == 0,
                    "is_published": True,
                    "created_at": created,
                    "updated_at": created,
                }
            )
        for kind in ("graded", "practice"):
            quiz_id = uuid.uuid4()
            if kind == "graded":
                graded_quiz_of[course_id] = quiz_id
            quiz_rows.append(
                {
                    "id": quiz_id,
                    "course_id": course_id,
                    "title": f"{kind.title()} quiz",
                    "quiz_type": kind,
                    "passing_score": Decimal("70.00"),
                    "is_published": True,
                    "created_at": created,
                    "updated_at": created,
                }
            )

    def enroll(batch: list[dict[str, Any]], writer: _Writer) -> None:
        enrollment_rows: list[dict[str, Any]] = []
        progress_rows: list[dict[str, Any]] = []
        attempt_rows: list[dict[str, Any]] = []
        payment_rows: list[dict[str, Any]] = []
        certificate_rows: list[dict[str, Any]] = []
        for learner in batch:
            for course in rng.sample(course_rows, per_student):
                course_id = course["id"]
                lessons = lessons_of[course_id]
                enrolled = moment(365)
                done = rng.randint(0, len(lessons))
                completed = done == len(lessons)
                dropped = not completed and rng.random() < 0.1
                enrollment_id = uuid.uuid4()
                spent = 0
                last_at = enrolled
                for position, lesson_id in enumerate(lessons[: done + (0 if completed else 1)]):
                    seconds = rng.randint(60, 900)
                    spent += seconds
                    at = enrolled + timedelta(hours=6 * (position + 1))
                    last_at = min(at, now)
                    finished = position < done
                    progress_rows.append(
                        {
                            "id": uuid.uuid4(),
                            "enrollment_id": enrollment_id,
                            "lesson_id": lesson_id,
                            "status": "completed" if finished else "in_progress",
                            "started_at": last_at,
                            "completed_at": last_at if finished else None,
                            "time_spent_seconds": seconds,
                            "last_position_seconds": seconds,
                            "completion_percentage": Decimal(100 if finished else 40),
                            "attempts_count": 1,
                            "created_at": last_at,
                            "updated_at": last_at,
                        }
                    )
                status = "completed" if completed else ("dropped" if dropped else "active")
                enrollment_rows.append(
                    {
                        "id": enrollment_id,
                        "student_id": learner["id"],
                        "course_id": course_id,
                        "status": status,
                        "enrolled_at": enrolled,
                        "started_at": enrolled if done else None,
                        "completed_at": last_at if completed else None,
                        "dropped_at": last_at if dropped else None,
                        "last_accessed_at": last_at,
                        "certificate_issued_at": last_at if completed else None,
                        "progress_percentage": Decimal(done * 100) / len(lessons) if lessons else 0,
                        "completed_lessons_count": done,
                        "total_lessons_count": len(lessons),
                        "total_time_spent_seconds": spent,
                        "rating": rng.randint(1, 5) if rng.random() < 0.3 else None,
                        "created_at": enrolled,
                        "updated_at": last_at,
                    }
                )
                if done >= len(lessons) // 2:
                    score = Decimal(rng.randint(30, 100))
                    attempt_rows.append(
                        {
                            "id": uuid.uuid4(),
                            "quiz_id": graded_quiz_of[course_id],
                            "enrollment_id": enrollment_id,
                            "user_id": learner["id"],
                            "attempt_number": 1,
                            "status": "graded",
                            "started_at": last_at,
                            "submitted_at": last_at,
                            "graded_at": last_at,
                            "score": score,
                            "max_score": Decimal(100),
                            "percentage": score,
                            "is_passed": score >= 70,
                            "time_taken_seconds": rng.randint(60, 1200),
                            "answers": {},
                            "question_order": [],
                            "option_order": {},
                            "created_at": last_at,
                            "updated_at": last_at,
                        }
                    )
                if course["price"] > 0:
                    payment_rows.append(
                        {
                            "id": uuid.uuid4(),
                            "user_id": learner["id"],
                            "course_id": course_id,
                            "enrollment_id": enrollment_id,
                            "amount": course["price"],
                            "currency": "USD",
                            "gateway": "sandbox",
                            "status": "completed",
                            "completed_at": enrolled,
                            "created_at": enrolled,
                            "updated_at": enrolled,
                        }
                    )
                if completed:
                    certificate = Certificate(
                        id=uuid.uuid4(),
                        enrollment_id=enrollment_id,
                        student_id=learner["id"],
                        course_id=course_id,
                        certificate_number=f"BENCH-{enrollment_id.hex[:12].upper()}",
                        student_name=learner["full_name"],
                        course_title=course["title"],
                        instructor_name=names[course["instructor_id"]],
                        completion_date=last_at,
                        issued_at=last_at,
                        # Benchmark rows have no PDF file; the path is never served.
                        pdf_path=f"bench/{enrollment_id.hex}.pdf",
                        pdf_sha256="0" * 64,
                        is_revoked=False,
                    )
                    certificate.signature = signing.sign(certificate)
                    certificate_rows.append(
                        {
                            column.key: getattr(certificate, column.key)
                            for column in Certificate.__table__.columns
                            if column.key not in ("revoked_at", "revoked_reason", "revoked_by_id")
                        }
                        | {"created_at": last_at, "updated_at": last_at}
                    )
        writer.write(Enrollment.__table__, enrollment_rows)
        writer.write(LessonProgress.__table__, progress_rows)
        writer.write(QuizAttempt.__table__, attempt_rows)
        writer.write(Payment.__table__, payment_rows)
        writer.write(Certificate.__table__, certificate_rows)

    engine = get_engine()
    with engine.begin() as connection:
        if connection.execute(select(User.id).where(User.email == ADMIN_EMAIL)).first():
            raise SystemExit(f"{ADMIN_EMAIL} already exists: the database is already seeded")
        writer = _Writer(connection)
        writer.write(User.__table__, [admin, *teachers, *learners])
        writer.write(Course.__table__, course_rows)
        # Every course's creator is its owner on the staff, as creating one over the API does.
        writer.write(
            CourseStaff.__table__,
            [
                {
                    "course_id": row["id"],
                    "user_id": row["instructor_id"],
                    "role": CourseRole.OWNER.value,
                    "added_at": row["created_at"],
                }
                for row in course_rows
            ],
        )
        writer.write(Lesson.__table__, lesson_rows)
        writer.write(Quiz.__table__, quiz_rows)
        # Students in batches: memory stays bounded however large the dataset.
        for start in range(0, len(learners), 1000):
            enroll(learners[start : start + 1000], writer)
    if engine.dialect.name == "postgresql":
        # Statistics and visibility maps as autovacuum would leave them on a live system, so
        # the planner sees the new sizes and index-only scans work at once.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    return {"rows": writer.counts, "admin_email": ADMIN_EMAIL}


def seed_bench_command(args: argparse.Namespace) -> int:
    from app.cli.database import require_schema
    from app.core.config import get_settings

    if get_settings().is_production:
        print("Refusing to seed benchmark data into a production database.", file=sys.stderr)
        return 2
    require_schema()
    started = time.perf_counter()
    summary = seed_bench(
        students=args.students,
        courses=args.courses,
        instructors=args.instructors,
        lessons_per_course=args.lessons_per_course,
        enrollments_per_student=args.enrollments_per_student,
        seed=args.seed,
    )
    summary["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(summary, indent=2))
    return 0
