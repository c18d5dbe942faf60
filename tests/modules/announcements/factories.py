"""A course with students in two cohorts, an outsider and a second instructor."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from app.core.database import session_scope
from app.modules.courses.models import Cohort, CohortMember
from app.modules.users.models import User
from tests.modules.courses.factories import SeededCourse, create_course, create_enrollment


@dataclass
class Classroom:
    course: SeededCourse
    other_course: SeededCourse
    cohort_a: uuid.UUID
    cohort_b: uuid.UUID
    author: User  # the course's instructor
    student_a: User  # in cohort A
    student_b: User  # in cohort B
    student_plain: User  # enrolled, in no cohort
    outsider: User  # a student of another course
    other_instructor: User
    admin: User


def create_cohort(course: SeededCourse, name: str, members: list[User]) -> uuid.UUID:
    with session_scope() as db:
        cohort = Cohort(course_id=course.id, name=name)
        db.add(cohort)
        db.flush()
        for member in members:
            db.add(CohortMember(cohort_id=cohort.id, student_id=member.id, course_id=course.id))
        return cohort.id


def create_classroom(make_user: Any) -> Classroom:
    author = make_user(role="instructor", full_name="Ada Lovelace")
    other_instructor = make_user(role="instructor")
    admin = make_user(role="admin")
    student_a = make_user(full_name="Alan Turing")
    student_b = make_user(full_name="Grace Hopper")
    student_plain = make_user(full_name="Linus Torvalds")
    outsider = make_user(full_name="Outside Person")
    course = create_course(author, title="Algebra")
    other_course = create_course(other_instructor, title="Biology")
    for student in (student_a, student_b, student_plain):
        create_enrollment(student, course)
    create_enrollment(outsider, other_course)
    cohort_a = create_cohort(course, "A", [student_a])
    cohort_b = create_cohort(course, "B", [student_b])
    return Classroom(
        course, other_course, cohort_a, cohort_b, author, student_a, student_b, student_plain,
        outsider, other_instructor, admin,
    )  # fmt: skip
