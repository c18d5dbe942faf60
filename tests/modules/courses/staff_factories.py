"""A course with its whole cast: owner, co-instructor, teaching assistants bound to cohorts,
students in cohorts, and the people who must see nothing (direct inserts, no HTTP)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.core.database import session_scope
from app.modules.courses.models import Cohort, CohortMember, CohortStaff, CourseStaff
from app.modules.users.models import User
from tests.modules.courses.factories import SeededCourse, create_course, create_enrollment

ACTORS = (
    "owner",
    "instructor",
    "ta_in",
    "ta_out",
    "student",
    "outsider",
    "other_instructor",
    "admin",
    "anonymous",
)


@dataclass
class Cast:
    course: SeededCourse
    other_course: SeededCourse
    cohort_a: uuid.UUID
    cohort_b: uuid.UUID
    users: dict[str, User]
    # Enrolled in the course: student (cohort A), student_b (cohort B), loose (no cohort).
    student_b: User
    loose: User
    enrollment_ids: dict[uuid.UUID, uuid.UUID]

    def headers(self, actor: str, bearer: Callable[[User], dict[str, str]]) -> dict[str, str]:
        return {} if actor == "anonymous" else bearer(self.users[actor])


def add_staff(
    course_id: uuid.UUID, user: User, role: str, cohorts: tuple[uuid.UUID, ...] = ()
) -> None:
    with session_scope() as session:
        session.add(CourseStaff(course_id=course_id, user_id=user.id, role=role))
        session.flush()
        session.add_all(
            CohortStaff(cohort_id=cohort_id, user_id=user.id, course_id=course_id)
            for cohort_id in cohorts
        )


def add_cohort(course_id: uuid.UUID, name: str, members: tuple[User, ...] = ()) -> uuid.UUID:
    with session_scope() as session:
        cohort = Cohort(course_id=course_id, name=name)
        session.add(cohort)
        session.flush()
        session.add_all(
            CohortMember(cohort_id=cohort.id, student_id=member.id, course_id=course_id)
            for member in members
        )
        return cohort.id


def create_cast(make_user: Callable[..., Any]) -> Cast:
    owner = make_user(role="instructor", email="owner@example.com", full_name="Olive Owner")
    users = {
        "owner": owner,
        "instructor": make_user(role="instructor", email="co@example.com"),
        "ta_in": make_user(role="instructor", email="ta.in@example.com"),
        "ta_out": make_user(role="instructor", email="ta.out@example.com"),
        "student": make_user(role="student", email="ann@example.com", full_name="Ann A"),
        "outsider": make_user(role="student", email="outsider@example.com"),
        "other_instructor": make_user(role="instructor", email="other@example.com"),
        "admin": make_user(role="admin", email="root@example.com"),
    }
    student_b = make_user(role="student", email="bob@example.com", full_name="Bob B")
    loose = make_user(role="student", email="lou@example.com", full_name="Lou L")
    course = create_course(owner, title="Staffed course")
    other_course = create_course(users["other_instructor"], title="Another course")
    enrollment_ids = {
        person.id: create_enrollment(person, course)
        for person in (users["student"], student_b, loose)
    }
    create_enrollment(users["outsider"], other_course)
    cohort_a = add_cohort(course.id, "Cohort A", (users["student"],))
    cohort_b = add_cohort(course.id, "Cohort B", (student_b,))
    add_staff(course.id, users["instructor"], "instructor")
    add_staff(course.id, users["ta_in"], "teaching_assistant", (cohort_a,))
    add_staff(course.id, users["ta_out"], "teaching_assistant", (cohort_b,))
    return Cast(
        course=course,
        other_course=other_course,
        cohort_a=cohort_a,
        cohort_b=cohort_b,
        users=users,
        student_b=student_b,
        loose=loose,
        enrollment_ids=enrollment_ids,
    )
