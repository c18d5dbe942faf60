"""Issuing, reading, revoking and verifying certificates.

A certificate is issued once per enrollment, when the enrollment is completed and every
graded quiz of the course is passed: automatically on `course.completed`, or on request.
The unique enrollment_id makes issuing idempotent even under retries and races.
"""

from __future__ import annotations

import hashlib
import io
import logging
import secrets
import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.database import utcnow
from app.core.errors import Conflict, NotFound, PermissionDenied
from app.core.events import emit
from app.core.permissions import Role
from app.core.storage import get_storage
from app.modules.certificates import credential, repository, signing
from app.modules.certificates.models import Certificate
from app.modules.certificates.pdf import CertificateContent, render_certificate
from app.modules.certificates.schemas import VerificationResult
from app.modules.courses.models import Course
from app.modules.enrollments.models import Enrollment
from app.modules.users.models import User

logger = logging.getLogger("app.certificates")

CERTIFICATE_ISSUED = "certificate.issued"
CERTIFICATE_REVOKED = "certificate.revoked"

# Crockford base32 without I, L, O, U: nothing to misread when typed from paper.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class CertificateNotFound(NotFound):
    code = "certificate_not_found"
    title = "Certificate not found"


class NotEligible(Conflict):
    code = "not_eligible"
    title = "Not eligible for a certificate"


def _new_number(year: int) -> str:
    body = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"LMS-{year}-{body[:4]}-{body[4:]}"


def verify_url(number: str) -> str:
    settings = get_settings()
    return (
        f"{settings.PUBLIC_BASE_URL.rstrip('/')}{settings.API_V1_PREFIX}"
        f"/certificates/verify/{number}"
    )


def _manages_course(db: Session, course_id: uuid.UUID, user: User, capability: str) -> bool:
    """The course's instructor or an admin (the one rule, kept by the courses module)."""
    from app.modules.courses.access import Capability, manages_course

    return manages_course(db, course_id=course_id, user=user, capability=Capability(capability))


def ineligibility_reason(db: Session, enrollment: Enrollment) -> str | None:
    """Why the enrollment cannot have a certificate yet, or None when it can."""
    from app.modules.quizzes.service import graded_quizzes_passed

    if enrollment.status != "completed" or enrollment.completed_at is None:
        return "The course is not completed yet: every lesson must be completed"
    if not graded_quizzes_passed(db, enrollment_id=enrollment.id, course_id=enrollment.course_id):
        return "Every graded quiz of the course must be passed first"
    return None


def _issue(db: Session, enrollment: Enrollment) -> tuple[Certificate, bool]:
    """Create the certificate (PDF, row, event, email); returns (certificate, created)."""
    student = db.get(User, enrollment.student_id)
    course = db.get(Course, enrollment.course_id)
    if student is None or course is None:
        raise NotFound("Enrollment not found", code="enrollment_not_found")
    instructor = db.get(User, course.instructor_id)
    settings = get_settings()
    issued_at = utcnow()
    completion_date = enrollment.completed_at or issued_at
    number = _new_number(issued_at.year)
    pdf = render_certificate(
        CertificateContent(
            student_name=student.full_name,
            course_title=course.title,
            instructor_name=instructor.full_name if instructor else "",
            completion_date=completion_date,
            certificate_number=number,
            verify_url=verify_url(number),
            issuer=settings.PROJECT_NAME,
        )
    )
    key = f"{issued_at.year}/{number}.pdf"
    storage = get_storage("certificates")
    storage.save(key, io.BytesIO(pdf), content_type="application/pdf")
    certificate = Certificate(
        enrollment_id=enrollment.id,
        student_id=student.id,
        course_id=course.id,
        certificate_number=number,
        student_name=student.full_name,
        course_title=course.title,
        instructor_name=instructor.full_name if instructor else "",
        completion_date=completion_date,
        issued_at=issued_at,
        pdf_path=key,
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        is_revoked=False,
    )
    certificate.signature = signing.sign(certificate)
    try:
        # A savepoint: losing a race to a concurrent issue must not abort the caller's
        # transaction, only this insert.
        with db.begin_nested():
            db.add(certificate)
            db.flush()
            credential.issue(db, certificate, email=student.email, description=course.description)
    except IntegrityError:
        storage.delete(key)
        existing = repository.get_by_enrollment(db, enrollment.id)
        if existing is None:
            raise
        return existing, False
    enrollment.certificate_issued_at = issued_at
    emit(
        db,
        CERTIFICATE_ISSUED,
        {
            "certificate_id": str(certificate.id),
            "certificate_number": number,
            "enrollment_id": str(enrollment.id),
            "student_id": str(student.id),
            "course_id": str(course.id),
            "issued_at": issued_at.isoformat(),
        },
    )
    from app.modules.notifications.inbox import Message, notify
    from app.modules.notifications.models import NotificationCategory

    notify(
        db,
        student,
        NotificationCategory.GRADES,
        Message(
            title=f"Your certificate for {course.title}",
            body=f"Certificate {number} was issued.",
            url=verify_url(number),
            template="certificate_issued",
            context={
                "student_name": student.full_name,
                "course_title": course.title,
                "certificate_number": number,
                "verify_url": verify_url(number),
            },
        ),
    )
    return certificate, True


def issue_on_completion(db: Session, *, enrollment_id: uuid.UUID) -> Certificate | None:
    """Issue the certificate of a just-completed enrollment; None when not eligible.

    Safe to run any number of times: an existing certificate is returned as it is.
    """
    existing = repository.get_by_enrollment(db, enrollment_id)
    if existing is not None:
        return existing
    enrollment = db.get(Enrollment, enrollment_id)
    if enrollment is None:
        logger.warning("course.completed for unknown enrollment %s", enrollment_id)
        return None
    reason = ineligibility_reason(db, enrollment)
    if reason is not None:
        logger.info("no certificate for enrollment %s: %s", enrollment_id, reason)
        return None
    return _issue(db, enrollment)[0]


def generate_for_enrollment(
    db: Session, *, enrollment_id: uuid.UUID, user: User
) -> tuple[Certificate, bool]:
    """Issue on request (the enrolled student, the course's owner, or an admin)."""
    enrollment = db.get(Enrollment, enrollment_id)
    if enrollment is None or not (
        enrollment.student_id == user.id
        or _manages_course(db, enrollment.course_id, user, "enrollments")
    ):
        raise NotFound("Enrollment not found", code="enrollment_not_found")
    existing = repository.get_by_enrollment(db, enrollment_id)
    if existing is not None:
        return existing, False
    reason = ineligibility_reason(db, enrollment)
    if reason is not None:
        raise NotEligible(reason)
    return _issue(db, enrollment)


def get_for_viewer(db: Session, *, certificate_id: uuid.UUID, user: User) -> Certificate:
    """The certificate for its student, the course's owner or an admin; 404 for others."""
    certificate = repository.get(db, certificate_id)
    if certificate is None or not (
        certificate.student_id == user.id
        or _manages_course(db, certificate.course_id, user, "read")
    ):
        raise CertificateNotFound("Certificate not found")
    return certificate


def credential_for_viewer(db: Session, *, certificate_id: uuid.UUID, user: User) -> str:
    """The certificate's signed credential (compact vc+jwt), for its student or an admin;
    a course's instructor may read the certificate but not hold the learner's credential."""
    certificate = get_for_viewer(db, certificate_id=certificate_id, user=user)
    if certificate.student_id != user.id and user.role != Role.ADMIN.value:
        raise PermissionDenied("Only the learner or an admin may fetch the credential")
    return credential.ensure(db, certificate)


def open_pdf(certificate: Certificate) -> Iterator[bytes]:
    return get_storage("certificates").open(certificate.pdf_path)


def revoke(db: Session, *, certificate_id: uuid.UUID, user: User, reason: str) -> Certificate:
    certificate = get_for_viewer(db, certificate_id=certificate_id, user=user)
    if not _manages_course(db, certificate.course_id, user, "enrollments"):
        raise PermissionDenied("Only an admin or the course's instructor can revoke")
    if certificate.is_revoked:
        raise Conflict("The certificate is already revoked", code="already_revoked")
    certificate.is_revoked = True
    certificate.revoked_at = utcnow()
    certificate.revoked_reason = reason
    certificate.revoked_by_id = user.id
    # Revocation is part of the signed statement, so it cannot be quietly undone.
    certificate.signature = signing.sign(certificate)
    credential.revoke(db, certificate)
    db.flush()
    emit(
        db,
        CERTIFICATE_REVOKED,
        {
            "certificate_id": str(certificate.id),
            "certificate_number": certificate.certificate_number,
            "student_id": str(certificate.student_id),
            "course_id": str(certificate.course_id),
            "revoked_at": certificate.revoked_at.isoformat(),
        },
    )
    return certificate


def verify(db: Session, *, number: str) -> VerificationResult:
    certificate = repository.get_by_number(db, number.strip().upper())
    if certificate is None:
        raise CertificateNotFound("No certificate has this number")
    if not signing.signature_is_valid(certificate):
        logger.warning("certificate %s fails its signature check", certificate.certificate_number)
        # A forged row states nothing we vouch for: none of its contents is echoed.
        return VerificationResult(
            certificate_number=certificate.certificate_number,
            valid=False,
            status="tampered",
            student_name=None,
            course_title=None,
            instructor_name=None,
            completion_date=None,
            issued_at=None,
            revoked_at=None,
            pdf_sha256=None,
        )
    fields: dict[str, Any] = {
        "certificate_number": certificate.certificate_number,
        "student_name": certificate.student_name,
        "course_title": certificate.course_title,
        "instructor_name": certificate.instructor_name,
        "completion_date": certificate.completion_date,
        "issued_at": certificate.issued_at,
        "revoked_at": certificate.revoked_at,
        "pdf_sha256": certificate.pdf_sha256,
    }
    if certificate.is_revoked:
        return VerificationResult(valid=False, status="revoked", **fields)
    return VerificationResult(valid=True, status="valid", **fields)
