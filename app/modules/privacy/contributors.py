"""What a data export holds: one contributor per JSON file, each returning that file's rows
for one person. A module with personal data adds its file here with one line."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from app.modules.assignments.models import Submission
from app.modules.calendar.models import DueReminder
from app.modules.certificates.models import Certificate
from app.modules.courses.models import Course, Enrollment
from app.modules.discussions.models import DiscussionPost, DiscussionThread
from app.modules.enrollments.models import LessonProgress
from app.modules.files.models import UploadedFile
from app.modules.lti.models import LtiLineItem, LtiScore
from app.modules.notifications.models import Notification, NotificationSend
from app.modules.payments.models import Payment
from app.modules.quizzes.models import QuizAttempt
from app.modules.users.models import User

Rows = list[dict[str, Any]]


def columns(row: Any, *, without: Collection[str] = ()) -> dict[str, Any]:
    """A row's mapped columns by attribute name, leaving out `without`."""
    mapper = inspect(type(row))
    return {
        attr.key: getattr(row, attr.key) for attr in mapper.column_attrs if attr.key not in without
    }


def _all(db: Session, statement: Any, *, without: Collection[str] = ()) -> Rows:
    return [columns(row, without=without) for row in db.scalars(statement)]


def profile(db: Session, user_id: uuid.UUID) -> Rows:
    # Secrets are never exported, not even to their owner.
    secret = ("password_hash", "mfa_secret_ciphertext", "mfa_last_used_step", "token_version")
    return _all(db, select(User).where(User.id == user_id), without=secret)


def enrollments(db: Session, user_id: uuid.UUID) -> Rows:
    rows = db.execute(
        select(Enrollment, Course.title)
        .join(Course, Course.id == Enrollment.course_id)
        .where(Enrollment.student_id == user_id)
        .order_by(Enrollment.enrolled_at)
    )
    return [{**columns(e), "course_title": title} for e, title in rows]


def progress(db: Session, user_id: uuid.UUID) -> Rows:
    return _all(
        db,
        select(LessonProgress)
        .join(Enrollment, Enrollment.id == LessonProgress.enrollment_id)
        .where(Enrollment.student_id == user_id)
        .order_by(LessonProgress.created_at),
    )


def quiz_attempts(db: Session, user_id: uuid.UUID) -> Rows:
    # The grading detail may hold the correct answers; the student's answers and scores do not.
    return _all(
        db,
        select(QuizAttempt).where(QuizAttempt.user_id == user_id).order_by(QuizAttempt.started_at),
        without=("results", "question_order", "option_order"),
    )


def submissions(db: Session, user_id: uuid.UUID) -> Rows:
    return _all(
        db,
        select(Submission)
        .where(Submission.student_id == user_id)
        .order_by(Submission.submitted_at),
    )


def grades(db: Session, user_id: uuid.UUID) -> Rows:
    """Every grade in one list: graded submissions, graded quiz attempts, and the scores
    LTI tools published (AGS), under their gradebook column."""
    graded_work = db.execute(
        select(
            Submission.assignment_id,
            Submission.grade,
            Submission.final_grade,
            Submission.feedback,
            Submission.graded_at,
        ).where(Submission.student_id == user_id, Submission.graded_at.is_not(None))
    )
    rows: Rows = [
        {
            "kind": "assignment",
            "item_id": item,
            "score": grade,
            "final_score": final,
            "feedback": feedback,
            "graded_at": at,
        }
        for item, grade, final, feedback, at in graded_work
    ]
    attempts = db.execute(
        select(
            QuizAttempt.quiz_id,
            QuizAttempt.score,
            QuizAttempt.final_percentage,
            QuizAttempt.is_passed,
            QuizAttempt.graded_at,
        ).where(QuizAttempt.user_id == user_id, QuizAttempt.graded_at.is_not(None))
    )
    rows.extend(
        {
            "kind": "quiz",
            "item_id": item,
            "score": score,
            "final_percentage": final,
            "passed": passed,
            "graded_at": at,
        }
        for item, score, final, passed, at in attempts
    )
    tool_scores = db.execute(
        select(
            LtiLineItem.course_id,
            LtiLineItem.label,
            LtiScore.score_given,
            LtiScore.score_maximum,
            LtiScore.activity_progress,
            LtiScore.grading_progress,
            LtiScore.comment,
            LtiScore.timestamp,
        )
        .join(LtiLineItem, LtiLineItem.id == LtiScore.line_item_id)
        .where(LtiScore.user_id == user_id)
        .order_by(LtiScore.timestamp)
    )
    rows.extend(
        {
            "kind": "lti",
            "course_id": course,
            "column": label,
            "score": given,
            "maximum": maximum,
            "activity_progress": activity,
            "grading_progress": grading,
            "comment": comment,
            "graded_at": at,
        }
        for course, label, given, maximum, activity, grading, comment, at in tool_scores
    )
    return rows


def certificates(db: Session, user_id: uuid.UUID) -> Rows:
    return _all(
        db,
        select(Certificate)
        .where(Certificate.student_id == user_id)
        .order_by(Certificate.issued_at),
        without=("pdf_path",),
    )


def payments(db: Session, user_id: uuid.UUID) -> Rows:
    # No card data: gateways' metadata, payment method and checkout links stay out.
    return _all(
        db,
        select(Payment).where(Payment.user_id == user_id).order_by(Payment.created_at),
        without=("metadata_", "payment_method", "checkout_url", "gateway_reference"),
    )


def notifications(db: Session, user_id: uuid.UUID) -> Rows:
    sent = _all(db, select(NotificationSend).where(NotificationSend.user_id == user_id))
    reminders = _all(db, select(DueReminder).where(DueReminder.student_id == user_id))
    return [{"type": "email", **row} for row in sent] + [
        {"type": "due_reminder", **row} for row in reminders
    ]


def files(db: Session, user_id: uuid.UUID) -> Rows:
    """The person's uploads (their contents are in the export's `files/` folder)."""
    return _all(
        db,
        select(UploadedFile)
        .where(UploadedFile.uploader_id == user_id)
        .order_by(UploadedFile.created_at),
        without=("storage_path", "stored_filename"),
    )


def inbox(db: Session, user_id: uuid.UUID) -> Rows:
    return _all(
        db,
        select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.created_at, Notification.id),
    )


def discussions(db: Session, user_id: uuid.UUID) -> Rows:
    """The threads the person opened and the posts they wrote."""
    threads = _all(
        db,
        select(DiscussionThread)
        .where(DiscussionThread.author_id == user_id)
        .order_by(DiscussionThread.created_at),
    )
    posts = _all(
        db,
        select(DiscussionPost)
        .where(DiscussionPost.author_id == user_id)
        .order_by(DiscussionPost.created_at),
    )
    return [{"type": "thread", **row} for row in threads] + [
        {"type": "post", **row} for row in posts
    ]


@dataclass(frozen=True)
class Contributor:
    filename: str
    describes: str
    rows: Callable[[Session, uuid.UUID], Rows]


CONTRIBUTORS: list[Contributor] = [
    Contributor("profile.json", "your account and profile", profile),
    Contributor("enrollments.json", "the courses you enrolled in, reviews included", enrollments),
    Contributor("progress.json", "your progress through each lesson", progress),
    Contributor("quiz_attempts.json", "your quiz attempts and answers", quiz_attempts),
    Contributor("submissions.json", "your assignment submissions", submissions),
    Contributor("grades.json", "every grade you received", grades),
    Contributor("certificates.json", "the certificates issued to you", certificates),
    Contributor("payments.json", "your payments (amounts, dates; no card data)", payments),
    Contributor("notifications.json", "the emails and reminders sent to you", notifications),
    Contributor("files.json", "the files you uploaded", files),
    Contributor("inbox.json", "your in-app notifications", inbox),
    Contributor("discussions.json", "the discussion threads and posts you wrote", discussions),
]
