"""HTTP routes for `/enrollments/...` (enrolling, progress, completion, reviews, rosters) and
`/courses/{id}/enrollments` (enrollment managed by the course's staff)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi import status as http_status
from fastapi.responses import JSONResponse

from app.core.dependencies import DbSession
from app.core.errors import problem, problem_response
from app.core.pagination import Page, Pagination
from app.core.permissions import Permission
from app.core.routing import APIRouter, model_response
from app.modules.enrollments import managed, progress, roster, service
from app.modules.enrollments.models import EnrollmentStatus
from app.modules.enrollments.schemas import (
    CourseEnrollmentStats,
    EnrollmentCreate,
    EnrollmentDetail,
    EnrollmentRead,
    LessonProgressRead,
    ManagedEnrollmentCreate,
    ManagedEnrollmentReport,
    MyCourse,
    ProgressHeartbeat,
    ReviewCreate,
    RosterEntry,
)
from app.modules.users.dependencies import CurrentPrincipal, CurrentUser, require_permissions
from app.modules.users.models import User

enrollments = APIRouter(prefix="/enrollments", tags=["enrollments"])
# The prefix holds no path parameter: `APIRouter.matches` skips by the literal prefix.
managed_enrollments = APIRouter(prefix="/courses", tags=["enrollments"])

Learner = Annotated[User, Depends(require_permissions(Permission.ENROLL))]


def _payment_required(request: Request, needed: service.PaymentRequired) -> JSONResponse:
    # Returned rather than raised, so the request's transaction commits and the pending
    # payment the checkout refers to is kept.
    return problem_response(
        request,
        status=402,
        title="Payment required",
        detail="This course must be paid for before enrolling: pay at checkout.checkout_url",
        code="payment_required",
        extra={
            "course_id": str(needed.course_id),
            "price": str(needed.price),
            "currency": needed.currency,
            "checkout": needed.checkout,
        },
    )


@enrollments.post(
    "",
    response_model=EnrollmentRead,
    status_code=http_status.HTTP_201_CREATED,
    responses={
        402: {"description": "Paid course: the body carries the checkout to pay at"},
        **problem(503, "Paid course: the payment gateway could not open a checkout"),
    },
)
def enroll(request: Request, db: DbSession, user: Learner, data: EnrollmentCreate) -> Any:
    """Enroll in a published course (free at once; paid: 402 with a checkout to pay at)."""
    result = service.enroll(db, user=user, course_id=data.course_id)
    if isinstance(result, service.PaymentRequired):
        return _payment_required(request, result)
    return result


@enrollments.get("/my-courses", response_model=Page[MyCourse])
async def my_courses(
    principal: CurrentPrincipal,
    params: Pagination,
    status: EnrollmentStatus | None = None,
) -> Any:
    """Your enrollments with course summary and progress (dropped ones only on request)."""
    return model_response(
        await service.list_my_courses(principal=principal, status=status, params=params)
    )


@enrollments.get("/courses/{course_id}", response_model=Page[RosterEntry])
def course_roster(
    db: DbSession,
    user: CurrentUser,
    course_id: uuid.UUID,
    params: Pagination,
    status: EnrollmentStatus | None = None,
) -> Any:
    """The students of a course you own."""
    return roster.course_roster(db, course_id=course_id, user=user, status=status, params=params)


@enrollments.get("/courses/{course_id}/stats", response_model=CourseEnrollmentStats)
def course_stats(db: DbSession, user: CurrentUser, course_id: uuid.UUID) -> Any:
    """Enrollment counts by status, average progress, completion rate and rating."""
    return roster.course_enrollment_stats(db, course_id=course_id, user=user)


@enrollments.get("/{enrollment_id}", response_model=EnrollmentDetail)
def get_enrollment(db: DbSession, user: CurrentUser, enrollment_id: uuid.UUID) -> Any:
    """An enrollment with per-lesson progress (the student, the instructor, admins)."""
    return service.get_enrollment_detail(db, enrollment_id=enrollment_id, user=user)


@enrollments.delete("/{enrollment_id}", status_code=http_status.HTTP_204_NO_CONTENT)
def unenroll(db: DbSession, user: CurrentUser, enrollment_id: uuid.UUID) -> Response:
    """Unenroll (the enrollment is kept as dropped history)."""
    service.drop_enrollment(db, enrollment_id=enrollment_id, user=user)
    return Response(status_code=http_status.HTTP_204_NO_CONTENT)


@enrollments.post("/{enrollment_id}/drop", response_model=EnrollmentRead)
def drop(db: DbSession, user: CurrentUser, enrollment_id: uuid.UUID) -> Any:
    """Drop an enrollment, keeping its history."""
    return service.drop_enrollment(db, enrollment_id=enrollment_id, user=user)


@enrollments.put("/{enrollment_id}/lessons/{lesson_id}/progress", response_model=LessonProgressRead)
async def progress_heartbeat(
    principal: CurrentPrincipal,
    enrollment_id: uuid.UUID,
    lesson_id: uuid.UUID,
    data: ProgressHeartbeat,
) -> Any:
    """Record watching progress; repeated or late heartbeats never lower it.

    Position, completion percentage and status only go up. Time spent grows by
    `time_spent_delta_seconds`, but by no more than the time since the enrollment was last
    accessed (a first heartbeat counts in full): a retried heartbeat adds nothing, and time
    spent cannot outrun the clock. A heartbeat never completes a lesson, even at 100%:
    `POST .../complete` does.
    """
    return model_response(
        await progress.record_heartbeat(
            enrollment_id=enrollment_id, lesson_id=lesson_id, principal=principal, data=data
        )
    )


@enrollments.post("/{enrollment_id}/lessons/{lesson_id}/complete", response_model=EnrollmentRead)
def complete_lesson(
    db: DbSession, user: CurrentUser, enrollment_id: uuid.UUID, lesson_id: uuid.UUID
) -> Any:
    """Mark a lesson completed (quiz lessons complete by passing their quiz).

    Completing the last lesson completes the enrollment, which issues the course certificate
    automatically (in a background job when Celery runs).
    """
    return progress.complete_lesson_for_student(
        db, enrollment_id=enrollment_id, lesson_id=lesson_id, user=user
    )


@enrollments.post("/{enrollment_id}/review", response_model=EnrollmentRead)
def review(db: DbSession, user: CurrentUser, enrollment_id: uuid.UUID, data: ReviewCreate) -> Any:
    """Rate and review the course (one review per enrollment; posting again edits it)."""
    return service.review_course(
        db, enrollment_id=enrollment_id, user=user, rating=data.rating, review=data.review
    )


@managed_enrollments.post("/{course_id}/enrollments", response_model=ManagedEnrollmentReport)
def enroll_students(
    db: DbSession, user: CurrentUser, course_id: uuid.UUID, data: ManagedEnrollmentCreate
) -> Any:
    """Enroll students by id or email, without payment (the course's owner, instructors, admins).

    Up to 1,000 rows in one transaction, each reported: `enrolled`, `already_enrolled`,
    `unknown_user` (no account with that id), `unknown_email`, `not_a_student`, or `invited`
    (with `invite_unknown`, an address without an account is mailed an invitation: signing
    up with its token enrolls the new student). With `cohort_id` every enrolled student is
    placed in that cohort (moved from another cohort of the course).
    """
    return managed.enroll_students(db, course_id=course_id, user=user, data=data)


@managed_enrollments.delete(
    "/{course_id}/enrollments/{student_id}", status_code=http_status.HTTP_204_NO_CONTENT
)
def drop_student(
    db: DbSession, user: CurrentUser, course_id: uuid.UUID, student_id: uuid.UUID
) -> Response:
    """Drop a student from the course (the enrollment is kept as dropped history)."""
    managed.drop_student(db, course_id=course_id, student_id=student_id, user=user)
    return Response(status_code=http_status.HTTP_204_NO_CONTENT)


router = APIRouter()
router.include_router(enrollments)
router.include_router(managed_enrollments)
