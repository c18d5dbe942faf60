"""Enrollment rules: enrolling (free now, paid through payments), reading an enrollment,
my courses, reviews and dropping. Rosters and statistics are `roster.py`; enrollment managed
by a course's staff (bulk enrolling, invitations) is `managed.py`.

Lesson completion and the progress heartbeat are `progress.py`. Other modules call
`get_student_enrollment`, `progress.complete_lesson`, `activate_paid_enrollment` and
`revoke_paid_access`. How enrolling in a paid course is settled (a subscription's grant
or a checkout) is the payments module's, which builds on this one: it hands its rule in with
`settle_paid_enrollments_with`, so this module never imports it.
"""

from __future__ import annotations

import typing
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.core.config import get_settings
from app.core.database import session_scope, utcnow
from app.core.errors import (
    BusinessRuleViolation,
    Conflict,
    NotFound,
    PermissionDenied,
)
from app.core.events import emit
from app.core.pagination import Page, PageParams
from app.core.permissions import Role
from app.modules.courses import access as courses_access
from app.modules.courses.models import Course
from app.modules.courses.schemas import CourseSummary
from app.modules.courses.sections_schemas import OutlineNext
from app.modules.enrollments import repository
from app.modules.enrollments.models import Enrollment, EnrollmentStatus
from app.modules.enrollments.schemas import (
    EnrollmentDetail,
    LessonProgressRead,
    MyCourse,
)
from app.modules.notifications.service import queue_email
from app.modules.users.dependencies import load_principal_user
from app.modules.users.models import User
from app.modules.users.principal import Principal

ENROLLMENT_CREATED = "enrollment.created"
_HUNDRED = Decimal("100")


def event_payload(enrollment: Enrollment) -> dict[str, str]:
    return {
        "enrollment_id": str(enrollment.id),
        "student_id": str(enrollment.student_id),
        "course_id": str(enrollment.course_id),
    }


def course_url(course: Course) -> str:
    return f"{get_settings().FRONTEND_URL.rstrip('/')}/courses/{course.slug}"


def percentage(completed: int, total: int) -> Decimal:
    if total <= 0:
        return Decimal("0.00")
    value = Decimal(min(completed, total)) * _HUNDRED / Decimal(total)
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# --- lookups used by other modules ---------------------------------------------------------


def get_student_enrollment(
    db: Session, *, student_id: uuid.UUID, course_id: uuid.UUID
) -> Enrollment | None:
    """The student's active or completed enrollment in the course (None if dropped/absent)."""
    enrollment = repository.get_for_student(db, student_id, course_id)
    if enrollment is None or enrollment.status == EnrollmentStatus.DROPPED.value:
        return None
    return enrollment


def require_student_enrollment(
    db: Session, *, student_id: uuid.UUID, course_id: uuid.UUID
) -> Enrollment:
    """`get_student_enrollment`, or a 422 naming the body's `student_id` as not enrolled."""
    enrollment = get_student_enrollment(db, student_id=student_id, course_id=course_id)
    if enrollment is None:
        raise BusinessRuleViolation(
            "The student is not enrolled in this course", code="student_not_enrolled"
        )
    return enrollment


def load_enrollment(db: Session, enrollment_id: uuid.UUID) -> Enrollment:
    enrollment = repository.get(db, enrollment_id)
    if enrollment is None:
        raise NotFound("Enrollment not found", code="enrollment_not_found")
    return enrollment


def require_own(enrollment: Enrollment, user: User) -> None:
    if enrollment.student_id != user.id:
        raise PermissionDenied("This enrollment belongs to another student")


# --- enrolling ---------------------------------------------------------------------------


def start_enrollments(
    db: Session, *, course: Course, students: Sequence[User]
) -> dict[uuid.UUID, tuple[Enrollment, bool]]:
    """The one way a student gets a course: create each enrollment, or reactivate the
    student's dropped one, with a fixed number of queries however many students. Answers,
    per student id, the enrollment and whether this call started it (then `enrollment.created`
    is emitted and the confirmation queued); a live enrollment is returned as is. Payment is
    the caller's business: this grants access."""
    now = utcnow()
    existing = repository.for_students(db, course.id, [student.id for student in students])
    result: dict[uuid.UUID, tuple[Enrollment, bool]] = {}
    started: list[tuple[User, Enrollment]] = []
    new: list[Enrollment] = []
    for student in students:
        enrollment = existing.get(student.id)
        if enrollment is not None and enrollment.status != EnrollmentStatus.DROPPED.value:
            result[student.id] = (enrollment, False)
            continue
        if enrollment is None:
            enrollment = Enrollment(
                student_id=student.id, course_id=course.id, enrolled_at=now, status="active"
            )
            new.append(enrollment)
            existing[student.id] = enrollment
        else:
            enrollment.status = EnrollmentStatus.ACTIVE.value
            enrollment.dropped_at = None
            enrollment.enrolled_at = now
        started.append((student, enrollment))
    if new:
        # The unique constraint is the real guard against double clicks: a concurrent insert
        # fails here inside a savepoint, and (for one student) the winner's enrollment is
        # returned.
        try:
            with db.begin_nested():
                db.add_all(new)
                db.flush()
        except IntegrityError:
            winner = repository.get_for_student(db, students[0].id, course.id)
            if len(students) != 1 or winner is None:
                raise Conflict(
                    "Enrollments of this course changed at the same time; retry the request",
                    code="enrollment_conflict",
                ) from None
            return {students[0].id: (winner, False)}
    total = repository.published_lesson_total(db, course.id)
    completed = repository.completed_lesson_totals(db, [row.id for _student, row in started])
    for student, enrollment in started:
        enrollment.total_lessons_count = total
        enrollment.completed_lessons_count = completed.get(enrollment.id, 0)
        enrollment.progress_percentage = percentage(enrollment.completed_lessons_count, total)
        emit(db, ENROLLMENT_CREATED, event_payload(enrollment))
        queue_email(
            db,
            to=student.email,
            template="enrollment_confirmation",
            context={
                "full_name": student.full_name,
                "course_title": course.title,
                "course_url": course_url(course),
            },
            opted_out=student.email_opt_out,
        )
        result[student.id] = (enrollment, True)
    db.flush()
    return result


def _start(db: Session, *, student: User, course: Course) -> tuple[Enrollment, bool]:
    return start_enrollments(db, course=course, students=[student])[student.id]


@dataclass(frozen=True)
class PaymentRequired:
    """Enrolling in a paid course waits for a payment: the checkout to pay at (JSON-ready)."""

    course_id: uuid.UUID
    price: Decimal
    currency: str
    checkout: dict[str, Any]


class SettlePaidEnrollment(typing.Protocol):
    def __call__(
        self, db: Session, *, student: User, course: Course
    ) -> Enrollment | PaymentRequired: ...


_paid_enrollments: list[SettlePaidEnrollment] = []


def settle_paid_enrollments_with(rule: SettlePaidEnrollment) -> None:
    """How enrolling in a paid course is settled (given by the payments module on import)."""
    _paid_enrollments[:] = [rule]


def require_payment(db: Session, *, student: User, course: Course) -> Enrollment | PaymentRequired:
    """Enrolling in a paid course: granted at once under an all-courses subscription,
    otherwise a pending payment with a checkout at the configured gateway (answered 402)."""
    if not _paid_enrollments:
        raise BusinessRuleViolation(
            "Paid courses cannot be bought on this installation", code="payments_unavailable"
        )
    return _paid_enrollments[0](db, student=student, course=course)


def enroll(db: Session, *, user: User, course_id: uuid.UUID) -> Enrollment | PaymentRequired:
    """Enroll the user in a published course: free courses at once, paid ones via payment."""
    course = courses_access.get_visible_course(db, course_id=course_id, user=user)
    if not course.is_published or course.archived_at is not None:
        raise BusinessRuleViolation(
            "Only published courses accept enrollments", code="course_not_published"
        )
    existing = get_student_enrollment(db, student_id=user.id, course_id=course.id)
    if existing is not None:
        raise Conflict(
            "You are already enrolled in this course",
            code="already_enrolled",
            extra={"enrollment_id": str(existing.id)},
        )
    if not course.is_free:
        return require_payment(db, student=user, course=course)
    enrollment, started = _start(db, student=user, course=course)
    if not started:
        raise Conflict(
            "You are already enrolled in this course",
            code="already_enrolled",
            extra={"enrollment_id": str(enrollment.id)},
        )
    return enrollment


def activate_paid_enrollment(
    db: Session, *, student_id: uuid.UUID, course_id: uuid.UUID
) -> Enrollment:
    """Grant access after a successful payment; idempotent when access already exists."""
    course = db.get(Course, course_id)
    if course is None:
        raise NotFound("Course not found", code="course_not_found")
    student = db.get(User, student_id)
    if student is None:
        raise NotFound("Student not found", code="user_not_found")
    existing = get_student_enrollment(db, student_id=student_id, course_id=course_id)
    if existing is not None:
        return existing
    enrollment, _started = _start(db, student=student, course=course)
    return enrollment


def revoke_paid_access(db: Session, *, pairs: Collection[tuple[uuid.UUID, uuid.UUID]]) -> None:
    """Remove access after a refund or a lapsed subscription, for each (student_id, course_id)
    of `pairs` in one statement: the enrollments are dropped, their history kept."""
    repository.drop_enrollments(db, pairs=pairs, now=utcnow())


# --- reading -----------------------------------------------------------------------------


def _course_summary(course: Course) -> CourseSummary:
    return CourseSummary.model_validate(course)


def get_enrollment_detail(db: Session, *, enrollment_id: uuid.UUID, user: User) -> EnrollmentDetail:
    """For the student, the course's instructor and admins."""
    enrollment = repository.get_with_course(db, enrollment_id)
    if enrollment is None:
        raise NotFound("Enrollment not found", code="enrollment_not_found")
    if enrollment.student_id != user.id and not courses_access.grades_student(
        db, course_id=enrollment.course_id, user=user, student_id=enrollment.student_id
    ):
        raise PermissionDenied("You cannot see this enrollment")
    lessons = [
        LessonProgressRead.model_validate(row)
        for row in repository.progress_rows(db, enrollment.id)
    ]
    return EnrollmentDetail.model_validate(
        {
            **enrollment_fields(enrollment),
            "course": _course_summary(enrollment.course),
            "lessons": lessons,
        }
    )


def enrollment_fields(enrollment: Enrollment) -> dict[str, Any]:
    return {column.key: getattr(enrollment, column.key) for column in Enrollment.__table__.c}


async def list_my_courses(
    *, principal: Principal, status: EnrollmentStatus | None, params: PageParams
) -> Page[MyCourse]:
    """One statement for a page that has rows (it also checks the student is active at the
    token's version); an empty page is told apart from a refused user by a second read."""
    listed = status.value if status else None
    rows = await repository.student_page(principal, listed, params)
    total = (
        int(rows[0]["total"])
        if rows
        else await run_in_threadpool(_count_or_refuse, principal, listed)
    )
    items = [
        MyCourse.model_validate(
            {
                **row,
                "course": {
                    "id": row["course_id"],
                    **{name: row[f"course_{name}"] for name in repository.COURSE_SUMMARY_COLUMNS},
                },
                "next_item": OutlineNext.from_row(row) if row["next_item_id"] else None,
            }
        )
        for row in rows
    ]
    return Page[MyCourse].build(items, total, params)


def _count_or_refuse(principal: Principal, status: str | None) -> int:
    """For an empty page: refuse a user who may not list, else count (past the last page no
    row carries the total)."""
    with session_scope() as db:
        load_principal_user(db, principal)
        return repository.count_for_student(db, principal.user_id, status)


# --- student actions ---------------------------------------------------------------------


def drop_enrollment(db: Session, *, enrollment_id: uuid.UUID, user: User) -> Enrollment:
    """Unenroll: the row stays as history with status dropped. Idempotent."""
    enrollment = load_enrollment(db, enrollment_id)
    if enrollment.student_id != user.id and user.role != Role.ADMIN.value:
        raise PermissionDenied("This enrollment belongs to another student")
    return drop(db, repository.get(db, enrollment_id, for_update=True) or enrollment)


def drop(db: Session, enrollment: Enrollment) -> Enrollment:
    """Drop a (locked) enrollment, keeping it as history; a completed one is kept as is (422).
    Idempotent."""
    if enrollment.status == EnrollmentStatus.COMPLETED.value:
        raise BusinessRuleViolation(
            "A completed enrollment is kept as a record and cannot be dropped",
            code="enrollment_completed",
        )
    if enrollment.status == EnrollmentStatus.ACTIVE.value:
        enrollment.status = EnrollmentStatus.DROPPED.value
        enrollment.dropped_at = utcnow()
        db.flush()
    return enrollment


def review_course(
    db: Session, *, enrollment_id: uuid.UUID, user: User, rating: int, review: str | None
) -> Enrollment:
    """One review per enrollment; posting again edits it."""
    enrollment = load_enrollment(db, enrollment_id)
    require_own(enrollment, user)
    if enrollment.status == EnrollmentStatus.DROPPED.value:
        raise BusinessRuleViolation(
            "A dropped enrollment cannot review the course", code="enrollment_dropped"
        )
    enrollment.rating = rating
    enrollment.review = review
    enrollment.reviewed_at = utcnow()
    db.flush()
    return enrollment
