"""Seed a benchmark dataset for the learning core with bulk inserts.

~1,000 published courses (5 lessons each, in one published section whose items carry
release rules that are met: a past `available_from` on the section, `release_after_days=0`
on every item), 50 instructors, 2,000 students and ~10,000 enrollments, written with
multi-row INSERTs in a handful of transactions (seconds, not minutes). Returns what the load
driver needs to build realistic requests.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, insert

from app.core.database import utcnow
from app.core.security import hash_password
from app.modules.courses.models import Course, CourseSection, Lesson, SectionItem
from app.modules.enrollments.models import Enrollment
from app.modules.users.models import User

CATEGORIES = ["programming", "design", "business", "data", "languages", "music"]
LEVELS = ["beginner", "intermediate", "advanced"]
WORDS = [
    "python",
    "rust",
    "design",
    "data",
    "cloud",
    "music",
    "spanish",
    "finance",
    "product",
    "security",
    "web",
    "mobile",
]


@dataclass
class LearningDataset:
    course_ids: list[uuid.UUID] = field(default_factory=list)
    student_ids: list[uuid.UUID] = field(default_factory=list)
    # (enrollment_id, student_id, lesson_ids of its course)
    enrollments: list[tuple[uuid.UUID, uuid.UUID, list[uuid.UUID]]] = field(default_factory=list)


def _chunks(rows: list[dict[str, Any]], size: int = 2000) -> list[list[dict[str, Any]]]:
    return [rows[start : start + size] for start in range(0, len(rows), size)]


def seed(
    engine: Engine,
    *,
    courses: int = 1000,
    lessons_per_course: int = 5,
    instructors: int = 50,
    students: int = 2000,
    enrollments_per_student: int = 5,
    seed_value: int = 7,
) -> LearningDataset:
    rng = random.Random(seed_value)
    now = utcnow()
    password_hash = hash_password("Bench-Password-1")  # argon2 is slow: hash once, reuse
    dataset = LearningDataset()

    def user(role: str, number: int) -> dict[str, Any]:
        return {
            "id": uuid.uuid4(),
            "email": f"{role}{number}@bench.example.com",
            "password_hash": password_hash,
            "full_name": f"{role.title()} {number}",
            "role": role,
            "is_active": True,
            "mfa_enabled": False,
            "email_opt_out": True,
            "token_version": 0,
            "created_at": now,
            "updated_at": now,
        }

    instructor_rows = [user("instructor", n) for n in range(instructors)]
    student_rows = [user("student", n) for n in range(students)]
    dataset.student_ids = [row["id"] for row in student_rows]

    course_rows: list[dict[str, Any]] = []
    lesson_rows: list[dict[str, Any]] = []
    section_rows: list[dict[str, Any]] = []
    item_rows: list[dict[str, Any]] = []
    lessons_of: dict[uuid.UUID, list[uuid.UUID]] = {}
    for number in range(courses):
        course_id = uuid.uuid4()
        created = now - timedelta(minutes=number)
        title = f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} {number}"
        course_rows.append(
            {
                "id": course_id,
                "title": title,
                "slug": f"bench-course-{number}",
                "description": f"A benchmark course about {title.lower()}.",
                "instructor_id": rng.choice(instructor_rows)["id"],
                "category": rng.choice(CATEGORIES),
                "difficulty_level": rng.choice(LEVELS),
                "price": Decimal("0.00") if number % 4 else Decimal("19.99"),
                "currency": "USD",
                "is_published": True,
                "published_at": created,
                "created_at": created,
                "updated_at": created,
            }
        )
        section_id = uuid.uuid4()
        section_rows.append(
            {
                "id": section_id,
                "course_id": course_id,
                "title": "Course content",
                "position": 0,
                "is_published": True,
                "available_from": created - timedelta(days=1),
                "created_at": created,
                "updated_at": created,
            }
        )
        lessons_of[course_id] = []
        for index in range(lessons_per_course):
            lesson_id = uuid.uuid4()
            lessons_of[course_id].append(lesson_id)
            item_rows.append(
                {
                    "id": uuid.uuid4(),
                    "section_id": section_id,
                    "course_id": course_id,
                    "kind": "lesson",
                    "lesson_id": lesson_id,
                    "position": index,
                    "is_required": True,
                    "release_after_days": 0,
                    "created_at": created,
                    "updated_at": created,
                }
            )
            lesson_rows.append(
                {
                    "id": lesson_id,
                    "course_id": course_id,
                    "title": f"Lesson {index + 1}",
                    "slug": f"lesson-{index + 1}",
                    "lesson_type": "video",
                    "content": "Transcript " * 20,
                    "video_url": f"https://videos.example.com/{lesson_id}.mp4",
                    "duration_minutes": rng.randint(5, 30),
                    "order_index": index,
                    "is_preview": index == 0,
                    "is_published": True,
                    "created_at": created,
                    "updated_at": created,
                }
            )
    dataset.course_ids = [row["id"] for row in course_rows]

    enrollment_rows: list[dict[str, Any]] = []
    for student_id in dataset.student_ids:
        for course_id in rng.sample(dataset.course_ids, enrollments_per_student):
            enrollment_id = uuid.uuid4()
            enrollment_rows.append(
                {
                    "id": enrollment_id,
                    "student_id": student_id,
                    "course_id": course_id,
                    "status": "active",
                    "enrolled_at": now,
                    "progress_percentage": Decimal("0"),
                    "completed_lessons_count": 0,
                    "total_lessons_count": lessons_per_course,
                    "total_time_spent_seconds": 0,
                    "rating": rng.choice([None, 3, 4, 5]),
                    "created_at": now,
                    "updated_at": now,
                }
            )
            dataset.enrollments.append((enrollment_id, student_id, lessons_of[course_id]))

    with engine.begin() as connection:
        for model, rows in (
            (User, instructor_rows + student_rows),
            (Course, course_rows),
            (Lesson, lesson_rows),
            (CourseSection, section_rows),
            (SectionItem, item_rows),
            (Enrollment, enrollment_rows),
        ):
            for chunk in _chunks(rows):
                connection.execute(insert(model), chunk)
    return dataset
