"""Queries for calendar events: one SELECT per event source, all of one shape, unioned.

An event source is a function of the viewer's id returning SELECTs of the columns in
`EVENT_COLUMNS`. `SOURCES` is the list of them: a new kind of dated thing (a section's
release date, say) is one more function in that list.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, and_, delete, exists, literal, or_, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from app.core.latework import effective_due_sql, effective_lock_sql
from app.modules.assignments.models import Assignment, AssignmentExtension, Submission
from app.modules.calendar.models import CalendarFeedToken, DueReminder
from app.modules.courses.access import Capability, managed_course_ids
from app.modules.courses.models import (
    ITEM_TARGET_COLUMNS,
    Course,
    CourseSection,
    ItemKind,
    SectionItem,
    target_table,
)
from app.modules.courses.release import (
    later_of,
    learner_start,
    release_date,
    shown_to_students,
)
from app.modules.enrollments.models import Enrollment, EnrollmentStatus
from app.modules.quizzes.models import AttemptStatus, Quiz, QuizAttempt, QuizExtension
from app.modules.users.models import User

EVENT_COLUMNS = (
    "kind",
    "item_id",
    "course_id",
    "course_title",
    "course_slug",
    "title",
    "starts_at",
)

Source = Callable[[uuid.UUID], list[Select[Any]]]


def taught_courses(user_id: uuid.UUID) -> Select[Any]:
    return managed_course_ids(user_id, Capability.READ)


def enrolled_courses(user_id: uuid.UUID) -> Select[Any]:
    """Courses the user studies (active or completed), not those they also teach."""
    return select(Enrollment.course_id).where(
        Enrollment.student_id == user_id,
        Enrollment.status.in_([EnrollmentStatus.ACTIVE.value, EnrollmentStatus.COMPLETED.value]),
        Enrollment.course_id.not_in(taught_courses(user_id)),
    )


@dataclass(frozen=True)
class DatedKind:
    """A table with late-work columns, its per-student extension table, and what counts as
    the student having handed the item in."""

    name: str
    model: Any
    extension: Any
    key: str  # the extension table's column pointing at the item
    handed_in: Callable[[Any, Any], Any]  # (item id column, student id column) -> condition


def _assignment_handed_in(item_id: Any, student_id: Any) -> Any:
    return exists().where(Submission.assignment_id == item_id, Submission.student_id == student_id)


def _quiz_handed_in(item_id: Any, student_id: Any) -> Any:
    return exists().where(
        QuizAttempt.quiz_id == item_id,
        QuizAttempt.user_id == student_id,
        QuizAttempt.status != AttemptStatus.IN_PROGRESS.value,
    )


ASSIGNMENTS = DatedKind(
    "assignment", Assignment, AssignmentExtension, "assignment_id", _assignment_handed_in
)
QUIZZES = DatedKind("quiz", Quiz, QuizExtension, "quiz_id", _quiz_handed_in)
DATED_KINDS = (ASSIGNMENTS, QUIZZES)


def _row(kind: str, item: Any, title: Any, starts_at: Any) -> Select[Any]:
    return select(
        literal(kind, String).label("kind"),
        item.id.label("item_id"),
        Course.id.label("course_id"),
        Course.title.label("course_title"),
        Course.slug.label("course_slug"),
        title.label("title"),
        starts_at.label("starts_at"),
    )


def _dated_source(dated: DatedKind, which: str) -> Source:
    """Due (`which="due"`) or lock dates of one dated kind: the course's dates for its
    instructor; for a student, published items with their extension applied (the rule of
    `latework.effective_deadlines`, as SQL)."""
    model, kind = dated.model, f"{dated.name}_{which}"

    def source(user_id: uuid.UUID) -> list[Select[Any]]:
        extension = aliased(dated.extension)
        if which == "due":
            own_date: Any = effective_due_sql(model.due_at, extension.due_at)
            base_date: Any = model.due_at
        else:
            own_date = effective_lock_sql(model.due_at, model.lock_at, extension.due_at)
            base_date = model.lock_at
        taught = (
            _row(kind, model, model.title, base_date)
            .join(Course, Course.id == model.course_id)
            .where(model.course_id.in_(taught_courses(user_id)), base_date.is_not(None))
        )
        studied = (
            _row(kind, model, model.title, own_date)
            .join(Course, Course.id == model.course_id)
            .outerjoin(
                extension,
                and_(getattr(extension, dated.key) == model.id, extension.student_id == user_id),
            )
            .where(
                model.course_id.in_(enrolled_courses(user_id)),
                shown_to_students(ItemKind(dated.name), model.id),
                base_date.is_not(None),
            )
        )
        return [taught, studied]

    return source


def course_releases(user_id: uuid.UUID) -> list[Select[Any]]:
    """When each of the viewer's courses was published."""
    mine = taught_courses(user_id).union(enrolled_courses(user_id))
    return [
        _row("course_release", Course, Course.title, Course.published_at).where(
            Course.id.in_(mine), Course.published_at.is_not(None)
        )
    ]


def _item_row(kind: ItemKind, item: Any, section: Any, starts_at: Any) -> Select[Any]:
    """An event row of a section item, named and identified by its lesson, quiz, assignment
    or LTI link."""
    target = target_table(kind)
    column, _reference = ITEM_TARGET_COLUMNS[kind]
    return (
        _row(f"{kind.value}_release", target.c, target.c.title, starts_at)
        .select_from(item)
        .join(target, target.c.id == getattr(item, column))
        .join(section, section.id == item.section_id)
        .join(Course, Course.id == item.course_id)
    )


def content_releases(user_id: uuid.UUID) -> list[Select[Any]]:
    """When sections open, and items with a date of their own: in the courses the viewer
    teaches, their `available_from`; in the courses they study, the date each opens for them
    (`courses.release.release_date`, their cohort's or enrollment's start applied; an item
    opens once its section has), for what a student may see."""
    section = aliased(CourseSection)
    taught, studied = taught_courses(user_id), enrolled_courses(user_id)
    learner = literal(user_id, type_=SectionItem.id.type)
    section_opens = release_date(section, learner_start(section.course_id, learner))
    parts = [
        _row("section_release", section, section.title, section.available_from)
        .join(Course, Course.id == section.course_id)
        .where(section.course_id.in_(taught), section.available_from.is_not(None)),
        _row("section_release", section, section.title, section_opens)
        .join(Course, Course.id == section.course_id)
        .where(
            section.course_id.in_(studied),
            section.is_published.is_(True),
            section_opens.is_not(None),
        ),
    ]
    for kind in ItemKind:
        item, target = aliased(SectionItem), target_table(kind)
        own_opens = release_date(item, learner_start(item.course_id, learner))
        parts += [
            _item_row(kind, item, section, item.available_from).where(
                item.course_id.in_(taught), item.available_from.is_not(None)
            ),
            _item_row(kind, item, section, later_of(own_opens, section_opens)).where(
                item.course_id.in_(studied),
                or_(item.available_from.is_not(None), item.release_after_days.is_not(None)),
                section.is_published.is_(True),
                shown_to_students(kind, target.c.id),
            ),
        ]
    return parts


SOURCES: list[Source] = [
    _dated_source(ASSIGNMENTS, "due"),
    _dated_source(ASSIGNMENTS, "lock"),
    _dated_source(QUIZZES, "due"),
    _dated_source(QUIZZES, "lock"),
    course_releases,
    content_releases,
]


def events_between(user_id: uuid.UUID, start: datetime, end: datetime) -> Select[Any]:
    """The viewer's events with `start <= starts_at < end`, in time order."""
    events = union_all(*(part for source in SOURCES for part in source(user_id))).subquery()
    return (
        select(*(events.c[name] for name in EVENT_COLUMNS))
        .where(events.c.starts_at >= start, events.c.starts_at < end)
        .order_by(events.c.starts_at, events.c.kind, events.c.item_id)
    )


def due_soon(dated: DatedKind, start: datetime, end: datetime) -> Select[Any]:
    """(item, student) pairs of one dated kind whose due date (the student's extension
    applied) falls in `start < due <= end`, for mailable students of an active enrollment
    who have not handed the item in and were not reminded of it yet."""
    model = dated.model
    extension = aliased(dated.extension)
    due = effective_due_sql(model.due_at, extension.due_at)
    reminded = exists().where(
        DueReminder.kind == dated.name,
        DueReminder.item_id == model.id,
        DueReminder.student_id == User.id,
    )
    return (
        select(
            model.id.label("item_id"),
            model.title.label("title"),
            Course.title.label("course_title"),
            Course.slug.label("course_slug"),
            User.id.label("student_id"),
            User.email.label("email"),
            User.full_name.label("full_name"),
            due.label("due_at"),
            # The recipient as the notify path reads it.
            User.id.label("id"),
            User.email_opt_out.label("email_opt_out"),
        )
        .select_from(model)
        .join(Course, Course.id == model.course_id)
        .join(
            Enrollment,
            and_(
                Enrollment.course_id == model.course_id,
                Enrollment.status == EnrollmentStatus.ACTIVE.value,
            ),
        )
        .join(User, User.id == Enrollment.student_id)
        .outerjoin(
            extension,
            and_(getattr(extension, dated.key) == model.id, extension.student_id == User.id),
        )
        .where(
            shown_to_students(ItemKind(dated.name), model.id),
            due > start,
            due <= end,
            User.is_active.is_(True),
            User.email_opt_out.is_(False),
            ~dated.handed_in(model.id, User.id),
            ~reminded,
        )
        .order_by(due, model.id, User.id)
    )


def feed_owner(db: Session, token_hash: str) -> User | None:
    """The active user whose feed token hashes to `token_hash`."""
    return db.scalars(
        select(User)
        .join(CalendarFeedToken, CalendarFeedToken.user_id == User.id)
        .where(CalendarFeedToken.token_hash == token_hash, User.is_active.is_(True))
    ).first()


def feed_token_of(db: Session, user_id: uuid.UUID) -> CalendarFeedToken | None:
    return db.scalars(select(CalendarFeedToken).where(CalendarFeedToken.user_id == user_id)).first()


def delete_feed_token(db: Session, user_id: uuid.UUID) -> None:
    db.execute(delete(CalendarFeedToken).where(CalendarFeedToken.user_id == user_id))


def claim_reminder(db: Session, kind: str, row: Any) -> bool:
    """Claim the (kind, item, student) reminder of a `due_soon` row; False when another run
    already has it."""
    try:
        with db.begin_nested():
            db.add(
                DueReminder(
                    kind=kind, item_id=row.item_id, student_id=row.student_id, due_at=row.due_at
                )
            )
            db.flush()
    except IntegrityError:
        return False
    return True
