"""Progress: completing a lesson (and with it the course), the heartbeat of a lesson being
watched or read, and recounting a course's enrollments when its counted lessons change.

Completion counts only the course's required, published lessons outside unpublished sections
(`release.visible_to_students`, `release.counts_for_completion`).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import NoReturn

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.core.database import session_scope, utcnow
from app.core.errors import BusinessRuleViolation, NotFound
from app.core.events import emit
from app.modules.courses import locks
from app.modules.courses import service as course_service
from app.modules.courses.models import Course, ItemKind, LessonType
from app.modules.enrollments import progress_repository, repository, service
from app.modules.enrollments.models import Enrollment, EnrollmentStatus
from app.modules.enrollments.schemas import LessonProgressRead, ProgressHeartbeat
from app.modules.notifications.service import queue_email
from app.modules.users.dependencies import load_principal_user
from app.modules.users.models import User
from app.modules.users.principal import Principal

COURSE_COMPLETED = "course.completed"
_HUNDRED = Decimal("100")


def _refresh_counts(db: Session, enrollment: Enrollment) -> None:
    enrollment.total_lessons_count = repository.published_lesson_total(db, enrollment.course_id)
    enrollment.completed_lessons_count = repository.completed_lesson_total(db, enrollment.id)
    enrollment.progress_percentage = service.percentage(
        enrollment.completed_lessons_count, enrollment.total_lessons_count
    )


def complete_lesson(
    db: Session, *, enrollment_id: uuid.UUID, lesson_id: uuid.UUID, via_quiz: bool = False
) -> Enrollment:
    """Mark a lesson completed and recalculate the enrollment in the same transaction.

    Idempotent. Reaching 100% completes the enrollment and emits `course.completed` once: the
    enrollment row is locked, so concurrent completions serialize and only one sees the
    transition. Quiz lessons complete only through a passed quiz (`via_quiz=True`).
    """
    enrollment = repository.get(db, enrollment_id, for_update=True)
    if enrollment is None:
        raise NotFound("Enrollment not found", code="enrollment_not_found")
    if enrollment.status == EnrollmentStatus.DROPPED.value:
        raise BusinessRuleViolation(
            "A dropped enrollment cannot make progress", code="enrollment_dropped"
        )
    lesson = course_service.get_lesson(db, lesson_id=lesson_id)
    if lesson.course_id != enrollment.course_id or not lesson.is_published:
        raise NotFound("Lesson not found in this course", code="lesson_not_found")
    if lesson.lesson_type == LessonType.QUIZ.value and not via_quiz:
        raise BusinessRuleViolation(
            "A quiz lesson is completed by passing its quiz", code="quiz_lesson_requires_quiz"
        )
    now = utcnow()
    progress_repository.upsert_progress(
        db,
        enrollment_id=enrollment.id,
        lesson_id=lesson.id,
        position_seconds=0,
        delta_seconds=0,
        completion_percentage=_HUNDRED,
        now=now,
        complete=True,
    )
    _refresh_counts(db, enrollment)
    enrollment.started_at = enrollment.started_at or now
    enrollment.last_accessed_at = now
    finished = enrollment.total_lessons_count > 0 and (
        enrollment.completed_lessons_count >= enrollment.total_lessons_count
    )
    if finished and enrollment.status == EnrollmentStatus.ACTIVE.value:
        enrollment.status = EnrollmentStatus.COMPLETED.value
        enrollment.completed_at = now
        _announce_completion(db, enrollment)
    db.flush()
    return enrollment


def _announce_completion(db: Session, enrollment: Enrollment) -> None:
    # Certificates subscribe to this event; it is sent only if the transaction commits.
    emit(db, COURSE_COMPLETED, service.event_payload(enrollment))
    student = db.get(User, enrollment.student_id)
    course = db.get(Course, enrollment.course_id)
    if student is not None and course is not None:
        queue_email(
            db,
            to=student.email,
            template="course_completed",
            context={
                "full_name": student.full_name,
                "course_title": course.title,
                "course_url": service.course_url(course),
            },
            opted_out=student.email_opt_out,
        )


def complete_lesson_for_student(
    db: Session, *, enrollment_id: uuid.UUID, lesson_id: uuid.UUID, user: User
) -> Enrollment:
    service.require_own(service.load_enrollment(db, enrollment_id), user)
    locks.require_open(db, user=user, kind=ItemKind.LESSON, target_id=lesson_id)
    return complete_lesson(db, enrollment_id=enrollment_id, lesson_id=lesson_id)


async def record_heartbeat(
    *,
    enrollment_id: uuid.UUID,
    lesson_id: uuid.UUID,
    principal: Principal,
    data: ProgressHeartbeat,
) -> LessonProgressRead:
    """The hot path: one statement (PostgreSQL) that also checks the student is active and
    the token current, so the user is not loaded. Reads happen only to explain a refusal."""
    row = await progress_repository.record_heartbeat(
        enrollment_id=enrollment_id,
        lesson_id=lesson_id,
        principal=principal,
        position_seconds=data.position_seconds,
        delta_seconds=data.time_spent_delta_seconds,
        completion_percentage=Decimal(str(data.completion_percentage)).quantize(Decimal("0.01")),
        now=utcnow(),
    )
    if row is None:
        await run_in_threadpool(
            _refuse_heartbeat, enrollment_id=enrollment_id, lesson_id=lesson_id, principal=principal
        )
    return LessonProgressRead.model_validate(row)


def _refuse_heartbeat(
    *, enrollment_id: uuid.UUID, lesson_id: uuid.UUID, principal: Principal
) -> NoReturn:
    with session_scope() as db:
        user = load_principal_user(db, principal)
        _explain_heartbeat_refusal(db, enrollment_id=enrollment_id, lesson_id=lesson_id, user=user)


def _explain_heartbeat_refusal(
    db: Session, *, enrollment_id: uuid.UUID, lesson_id: uuid.UUID, user: User
) -> NoReturn:
    enrollment = service.load_enrollment(db, enrollment_id)
    service.require_own(enrollment, user)
    if enrollment.status == EnrollmentStatus.DROPPED.value:
        raise BusinessRuleViolation(
            "A dropped enrollment cannot make progress", code="enrollment_dropped"
        )
    # The statement also refuses a locked lesson: say why, with the unlock date.
    locks.require_open(db, user=user, kind=ItemKind.LESSON, target_id=lesson_id)
    raise NotFound("Lesson not found in this course", code="lesson_not_found")


def recalculate_course_progress(db: Session, *, course_id: uuid.UUID) -> None:
    """Refresh every enrollment's totals after the course's published lessons changed."""
    repository.recalculate_course(db, course_id)
