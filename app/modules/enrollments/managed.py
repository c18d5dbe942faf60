"""Enrollment managed by a course's staff: enrolling students in bulk (by account id or
email, optionally into a cohort, without payment), dropping one, and invitations for
addresses that have no account yet.

An invitation stores only its token's hash and expires after
`ENROLLMENT_INVITATION_EXPIRE_DAYS`; the mailed link carries the token. Signing up with the
token, as the invited address, enrolls the new student (into the invitation's cohort when it
still exists) in the sign-up's transaction; the token works once. The auth module asks for
this through `accept_invitations_with` (handed over in `reactions.py`).
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.database import utcnow
from app.core.errors import BadRequest, BusinessRuleViolation, NotFound
from app.core.permissions import Role
from app.core.security import hash_token, new_opaque_token
from app.modules.courses import access as courses_access
from app.modules.courses import staff as course_staff
from app.modules.courses.models import Cohort, Course
from app.modules.enrollments import managed_repository, repository
from app.modules.enrollments.models import Enrollment, EnrollmentInvitation
from app.modules.enrollments.schemas import (
    EnrollmentOutcome,
    ManagedEnrollmentCreate,
    ManagedEnrollmentReport,
    ManagedEnrollmentResult,
)
from app.modules.enrollments.service import drop, start_enrollments
from app.modules.notifications.service import queue_email
from app.modules.users.models import User


def _managed_course(db: Session, course_id: uuid.UUID, user: User) -> Course:
    return courses_access.get_owned_course(
        db, course_id=course_id, user=user, capability=courses_access.Capability.ENROLLMENTS
    )


def enroll_students(
    db: Session, *, course_id: uuid.UUID, user: User, data: ManagedEnrollmentCreate
) -> ManagedEnrollmentReport:
    """Enroll the listed students at once (no payment), reporting each row; one transaction,
    a fixed number of queries whatever the number of rows."""
    course = _managed_course(db, course_id, user)
    if course.archived_at is not None:
        raise BusinessRuleViolation(
            "An archived course accepts no enrollments", code="course_archived"
        )
    cohort = (
        course_staff.get_course_cohort(db, course_id=course.id, cohort_id=data.cohort_id)
        if data.cohort_id is not None
        else None
    )
    by_id = managed_repository.users_by_ids(
        db, {row.student_id for row in data.students if row.student_id}
    )
    by_email = managed_repository.users_by_emails(
        db, {row.email for row in data.students if row.email}
    )
    wanted: dict[uuid.UUID, User] = {}
    for row in data.students:
        found = by_id.get(row.student_id) if row.student_id else by_email.get(row.email or "")
        if found is not None and found.role == Role.STUDENT.value:
            wanted[found.id] = found
    started = start_enrollments(db, course=course, students=list(wanted.values()))
    if cohort is not None:
        course_staff.place_students(db, cohort=cohort, student_ids=list(started))
    invited = (
        _invite(
            db,
            course=course,
            cohort=cohort,
            emails=[row.email for row in data.students if row.email and row.email not in by_email],
            inviter=user,
        )
        if data.invite_unknown
        else {}
    )
    reported: set[uuid.UUID] = set()
    results: list[ManagedEnrollmentResult] = []
    for index, row in enumerate(data.students):
        found = by_id.get(row.student_id) if row.student_id else by_email.get(row.email or "")
        result = ManagedEnrollmentResult(
            index=index,
            student_id=found.id if found else row.student_id,
            email=found.email if found else row.email,
            status=EnrollmentOutcome.UNKNOWN_USER,
        )
        if found is None and row.email is not None:
            result.status = EnrollmentOutcome.UNKNOWN_EMAIL
            if data.invite_unknown:
                result.status = EnrollmentOutcome.INVITED
                result.invitation_expires_at = invited[row.email].expires_at
        elif found is not None and found.id not in started:
            result.status = EnrollmentOutcome.NOT_A_STUDENT
        elif found is not None:
            enrollment, new = started[found.id]
            # A student named twice is enrolled by the first row only.
            first = new and found.id not in reported
            reported.add(found.id)
            result.status = (
                EnrollmentOutcome.ENROLLED if first else EnrollmentOutcome.ALREADY_ENROLLED
            )
            result.enrollment_id = enrollment.id
        results.append(result)
    counts = Counter(result.status.value for result in results)
    return ManagedEnrollmentReport(
        course_id=course.id,
        cohort_id=cohort.id if cohort else None,
        counts={outcome.value: counts.get(outcome.value, 0) for outcome in EnrollmentOutcome},
        results=results,
    )


def drop_student(
    db: Session, *, course_id: uuid.UUID, student_id: uuid.UUID, user: User
) -> Enrollment:
    """Drop a student's enrollment (kept as dropped history)."""
    course = _managed_course(db, course_id, user)
    enrollment = repository.get_for_student(db, student_id, course.id, for_update=True)
    if enrollment is None:
        raise NotFound("This student has no enrollment in the course", code="enrollment_not_found")
    return drop(db, enrollment)


# --- invitations ---------------------------------------------------------------------------


def _invite(
    db: Session, *, course: Course, cohort: Cohort | None, emails: list[str], inviter: User
) -> dict[str, EnrollmentInvitation]:
    """Store an invitation per address (inserted together) and mail each its token."""
    days = get_settings().ENROLLMENT_INVITATION_EXPIRE_DAYS
    expires_at = utcnow() + timedelta(days=days)
    tokens = {email: new_opaque_token() for email in dict.fromkeys(emails)}
    invitations = {
        email: EnrollmentInvitation(
            course_id=course.id,
            cohort_id=cohort.id if cohort else None,
            email=email,
            token_hash=hash_token(token),
            invited_by_id=inviter.id,
            expires_at=expires_at,
        )
        for email, token in tokens.items()
    }
    db.add_all(invitations.values())
    db.flush()
    frontend = get_settings().FRONTEND_URL.rstrip("/")
    for email, token in tokens.items():
        queue_email(
            db,
            to=email,
            template="course_invitation",
            context={
                "course_title": course.title,
                "inviter_name": inviter.full_name,
                "signup_url": f"{frontend}/register?{urlencode({'invitation': token})}",
                "token": token,
                "expires_days": days,
            },
        )
    return invitations


def _invalid() -> BadRequest:
    return BadRequest(
        "The invitation is invalid, expired or already used", code="invitation_invalid"
    )


def accept_invitation(db: Session, *, user: User, token: str) -> None:
    """Enroll a user who signed up with an invitation's token (in the sign-up transaction):
    the token must be unused and unexpired and the account's email the invited one; it is
    consumed by a conditional UPDATE, so a replay or a concurrent second use enrolls no one."""
    invitation = managed_repository.get_invitation(db, token_hash=hash_token(token))
    if invitation is None or invitation.email != user.email:
        raise _invalid()
    if not managed_repository.consume_invitation(db, invitation.id, user_id=user.id, now=utcnow()):
        raise _invalid()
    if user.role != Role.STUDENT.value:
        raise BusinessRuleViolation(
            "A course invitation is accepted by a student account", code="invitation_for_students"
        )
    course = db.get(Course, invitation.course_id)
    if course is None or course.archived_at is not None:
        raise _invalid()
    started = start_enrollments(db, course=course, students=[user])
    cohort = db.get(Cohort, invitation.cohort_id) if invitation.cohort_id else None
    if cohort is not None:
        course_staff.place_students(db, cohort=cohort, student_ids=list(started))
