"""Erasing a person: every module's personal data about them removed or anonymized, what the
law requires kept (payments' amounts and dates, certificates and their revocation status),
their sessions ended and the account closed for good.

Each eraser handles one kind of record and says how many it changed; a module with personal
data of its own adds its eraser to `ERASERS` with one line. Files go from storage only after
the transaction commits, so a failed erasure loses nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from app.core.database import after_commit
from app.core.storage import Area, get_storage
from app.modules.assignments.models import Submission
from app.modules.auth import service as auth_service
from app.modules.auth.models import MFARecoveryCode, OneTimeToken, RefreshToken
from app.modules.calendar.models import CalendarFeedToken
from app.modules.certificates.models import Certificate
from app.modules.courses.models import Course, Enrollment
from app.modules.discussions.models import DiscussionFollower, DiscussionPost, DiscussionThread
from app.modules.files.models import UploadedFile
from app.modules.lti.models import LtiScore, LtiSubject
from app.modules.notifications.models import Notification, NotificationPreference
from app.modules.payments.models import Payment, PaymentEvent
from app.modules.privacy.models import DataExport
from app.modules.quizzes.models import QuizAttempt
from app.modules.rostering.models import RosterSource, SourceKind
from app.modules.users.models import User
from app.modules.webhooks.models import WebhookDelivery

DELETED_NAME = "deleted user"


def erased_address(user_id: uuid.UUID) -> str:
    """The address an erased account keeps: unique, and undeliverable by definition (RFC 2606)."""
    return f"deleted-{user_id.hex}@erased.invalid"


@dataclass
class Subject:
    """The person being erased, with the identifying strings they had before."""

    user: User
    email: str
    full_name: str
    # (area, key) of stored objects to remove once the erasure commits.
    objects: list[tuple[Area, str]] = field(default_factory=list)


def _changed(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _files(db: Session, subject: Subject) -> int:
    keys = list(
        db.scalars(
            select(UploadedFile.storage_path).where(UploadedFile.uploader_id == subject.user.id)
        )
    )
    subject.objects.extend(("uploads", key) for key in keys)
    db.execute(delete(UploadedFile).where(UploadedFile.uploader_id == subject.user.id))
    return len(keys)


def _submissions(db: Session, subject: Subject) -> int:
    return _changed(
        db.execute(
            update(Submission)
            .where(Submission.student_id == subject.user.id)
            .values(content=None, feedback=None, file_ids=[])
        )
    )


def _quiz_attempts(db: Session, subject: Subject) -> int:
    # Free-text answers are the person's writing; scores stay for the course's statistics.
    return _changed(
        db.execute(
            update(QuizAttempt)
            .where(QuizAttempt.user_id == subject.user.id)
            .values(answers={}, results=None)
        )
    )


def _lti(db: Session, subject: Subject) -> int:
    # The ids tools know the person by stop meaning anyone (a tool can no longer score or
    # look them up); a tool's comment is about them, its score stays like a quiz's.
    forgotten = db.execute(delete(LtiSubject).where(LtiSubject.user_id == subject.user.id))
    comments = db.execute(
        update(LtiScore)
        .where(LtiScore.user_id == subject.user.id, LtiScore.comment.is_not(None))
        .values(comment=None)
    )
    return _changed(forgotten) + _changed(comments)


def _reviews(db: Session, subject: Subject) -> int:
    return _changed(
        db.execute(
            update(Enrollment)
            .where(Enrollment.student_id == subject.user.id, Enrollment.review.is_not(None))
            .values(review=None)
        )
    )


def _certificates(db: Session, subject: Subject) -> int:
    """Issued certificates stay (number, dates, revocation status) under the placeholder
    name; their PDFs, which print the name, are removed."""
    keys = list(
        db.scalars(select(Certificate.pdf_path).where(Certificate.student_id == subject.user.id))
    )
    subject.objects.extend(("certificates", key) for key in keys)
    db.execute(
        update(Certificate)
        .where(Certificate.student_id == subject.user.id)
        .values(student_name=DELETED_NAME)
    )
    # Certificates of courses the person taught name them as instructor.
    taught = select(Course.id).where(Course.instructor_id == subject.user.id)
    db.execute(
        update(Certificate)
        .where(Certificate.course_id.in_(taught), Certificate.instructor_name == subject.full_name)
        .values(instructor_name=DELETED_NAME)
    )
    return len(keys)


def _payments(db: Session, subject: Subject) -> int:
    """Amounts, currencies, statuses and dates stay (bookkeeping law); what a gateway said
    about the payer goes."""
    mine = select(Payment.id).where(Payment.user_id == subject.user.id)
    db.execute(
        update(PaymentEvent)
        .where(PaymentEvent.payment_id.in_(mine))
        .values(payload=None, note=None)
    )
    return _changed(
        db.execute(
            update(Payment)
            .where(Payment.user_id == subject.user.id)
            .values(metadata_=None, checkout_url=None, payment_method=None, failure_reason=None)
        )
    )


def _webhook_bodies(db: Session, subject: Subject) -> int:
    """Event payloads already queued or sent to endpoints, where they named the person."""
    needles = [s for s in (subject.email, subject.full_name) if s]
    rows = db.scalars(
        select(WebhookDelivery).where(
            or_(*(WebhookDelivery.body.contains(n, autoescape=True) for n in needles))
        )
    ).all()
    for delivery in rows:
        for needle in needles:
            delivery.body = delivery.body.replace(needle, DELETED_NAME)
    return len(rows)


def _credentials(db: Session, subject: Subject) -> int:
    """Every way back in: sessions (refresh tokens, and access tokens through the account's
    token version), mailed links, recovery codes and the calendar feed."""
    auth_service.end_all_sessions(db, subject.user)
    user_id = subject.user.id
    removed = 0
    for model in (RefreshToken, OneTimeToken, MFARecoveryCode, CalendarFeedToken):
        removed += _changed(db.execute(delete(model).where(model.user_id == user_id)))
    return removed


def _discussions(db: Session, subject: Subject) -> int:
    """Threads and posts stay for the course, with no author (shown as a deleted user)."""
    user_id = subject.user.id
    changed = 0
    for model in (DiscussionThread, DiscussionPost):
        changed += _changed(
            db.execute(update(model).where(model.author_id == user_id).values(author_id=None))
        )
    changed += _changed(
        db.execute(delete(DiscussionFollower).where(DiscussionFollower.user_id == user_id))
    )
    return changed


def _inbox(db: Session, subject: Subject) -> int:
    """The person's own notifications and preferences go; others' notifications that named
    them (a reply, a mention) name a deleted user instead."""
    user_id = subject.user.id
    removed = 0
    for model in (Notification, NotificationPreference):
        removed += _changed(db.execute(delete(model).where(model.user_id == user_id)))
    needles = [s for s in (subject.email, subject.full_name) if s]
    naming = db.scalars(
        select(Notification).where(
            or_(
                *(Notification.title.contains(n, autoescape=True) for n in needles),
                *(Notification.body.contains(n, autoescape=True) for n in needles),
            )
        )
    ).all()
    for notification in naming:
        for needle in needles:
            notification.title = notification.title.replace(needle, DELETED_NAME)
            notification.body = notification.body.replace(needle, DELETED_NAME)
    return removed + len(naming)


def _roster_links(db: Session, subject: Subject) -> int:
    return _changed(
        db.execute(
            delete(RosterSource).where(
                RosterSource.kind == SourceKind.USER.value, RosterSource.local_id == subject.user.id
            )
        )
    )


def _exports(db: Session, subject: Subject) -> int:
    exports = db.scalars(select(DataExport).where(DataExport.user_id == subject.user.id)).all()
    subject.objects.extend(("uploads", e.storage_key) for e in exports if e.storage_key)
    db.execute(delete(DataExport).where(DataExport.user_id == subject.user.id))
    return len(exports)


def _profile(db: Session, subject: Subject) -> int:
    user = subject.user
    user.email = erased_address(user.id)
    user.full_name = DELETED_NAME
    user.bio = None
    user.avatar_url = None
    user.password_hash = None
    user.mfa_enabled = False
    user.mfa_secret = None
    user.mfa_last_used_step = None
    user.email_opt_out = True
    user.is_active = False
    user.email_verified_at = None
    user.last_login_at = None
    return 1


Eraser = Callable[[Session, Subject], int]

# The profile goes last: the erasers before it find the person's records by their old name.
ERASERS: list[tuple[str, Eraser]] = [
    ("files", _files),
    ("submissions", _submissions),
    ("quiz_attempts", _quiz_attempts),
    ("lti", _lti),
    ("reviews", _reviews),
    ("certificates", _certificates),
    ("payments", _payments),
    ("webhook_deliveries", _webhook_bodies),
    ("credentials", _credentials),
    ("discussions", _discussions),
    ("inbox", _inbox),
    ("roster_links", _roster_links),
    ("exports", _exports),
    ("profile", _profile),
]


def _remove_objects(objects: list[tuple[Area, str]]) -> None:
    for area, key in objects:
        get_storage(area).delete(key)


def erase(db: Session, user: User) -> dict[str, int]:
    """Run every eraser on `user`; stored files are removed after the commit."""
    subject = Subject(user=user, email=user.email, full_name=user.full_name)
    summary = {name: eraser(db, subject) for name, eraser in ERASERS}
    db.flush()
    objects = list(subject.objects)
    after_commit(db, lambda: _remove_objects(objects))
    return summary
