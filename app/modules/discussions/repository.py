"""Queries of the discussions module."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    delete,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.modules.courses.access import Capability, course_staff_ids
from app.modules.courses.models import ENROLLED_STATUSES, Enrollment, ItemKind
from app.modules.courses.release import shown_to_students
from app.modules.discussions.models import (
    SEARCH_CONFIG,
    DiscussionFollower,
    DiscussionPost,
    DiscussionThread,
    ItemType,
    search_vector,
)
from app.modules.users.models import User


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _about_shown_item() -> ColumnElement[bool]:
    """SQL: the thread is about no item, or about one a student may see (a thread about a
    draft, or about an item of an unpublished section, is for the course's managers only)."""
    return or_(
        DiscussionThread.item_id.is_(None),
        *(
            and_(
                DiscussionThread.item_type == kind.value,
                shown_to_students(ItemKind(kind.value), DiscussionThread.item_id),
            )
            for kind in ItemType
        ),
    )


def thread_shown_to_students(db: Session, thread_id: uuid.UUID) -> bool:
    return bool(db.scalar(select(_about_shown_item()).where(DiscussionThread.id == thread_id)))


def item_shown_to_students(db: Session, item_type: ItemType, item_id: uuid.UUID) -> bool:
    target = literal(item_id, type_=DiscussionThread.item_id.type)
    return bool(db.scalar(select(shown_to_students(ItemKind(item_type.value), target))))


def threads_query(
    db: Session, course_id: uuid.UUID, *, q: str | None, moderator: bool
) -> Select[DiscussionThread]:
    """A course's threads, pinned first, then by latest post; with `q`, those whose title or
    a post the viewer may see matches (PostgreSQL full-text search on the GIN-indexed
    expressions, a LIKE elsewhere)."""
    statement = select(DiscussionThread).where(DiscussionThread.course_id == course_id)
    if not moderator:
        statement = statement.where(_about_shown_item())
    if q:
        post_visible = [DiscussionPost.thread_id == DiscussionThread.id]
        if not moderator:
            post_visible.append(DiscussionPost.is_hidden.is_(False))
        if db.get_bind().dialect.name == "postgresql":
            query = func.plainto_tsquery(literal_column(f"'{SEARCH_CONFIG}'"), q)
            title_match = search_vector(DiscussionThread.title).op("@@")(query)
            body_match = search_vector(DiscussionPost.body).op("@@")(query)
        else:
            title_match = DiscussionThread.title.ilike(_like(q), escape="\\")
            body_match = DiscussionPost.body.ilike(_like(q), escape="\\")
        statement = statement.where(or_(title_match, exists().where(*post_visible, body_match)))
    return statement.order_by(
        DiscussionThread.is_pinned.desc(),
        DiscussionThread.last_post_at.desc(),
        DiscussionThread.id.desc(),
    )


def posts_query(thread_id: uuid.UUID, *, moderator: bool) -> Select[DiscussionPost]:
    statement = select(DiscussionPost).where(DiscussionPost.thread_id == thread_id)
    if not moderator:
        statement = statement.where(DiscussionPost.is_hidden.is_(False))
    return statement.order_by(DiscussionPost.created_at, DiscussionPost.id)


def follow(db: Session, thread_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Follow (idempotent, also under concurrent requests)."""
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    db.execute(
        insert(DiscussionFollower)
        .values(thread_id=thread_id, user_id=user_id)
        .on_conflict_do_nothing(index_elements=["thread_id", "user_id"])
    )


def unfollow(db: Session, thread_id: uuid.UUID, user_id: uuid.UUID) -> None:
    db.execute(
        delete(DiscussionFollower).where(
            DiscussionFollower.thread_id == thread_id, DiscussionFollower.user_id == user_id
        )
    )


def is_following(db: Session, thread_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    return bool(
        db.scalar(
            select(
                exists().where(
                    DiscussionFollower.thread_id == thread_id,
                    DiscussionFollower.user_id == user_id,
                )
            )
        )
    )


def _member(course_id: uuid.UUID, *, students: bool) -> ColumnElement[bool]:
    """SQL: the user takes part in the course's discussions: one of its staff (who read them,
    `Capability.READ`), or one of its enrolled students when `students`."""
    staff = User.id.in_(course_staff_ids(course_id, Capability.READ))
    if not students:
        return staff
    enrolled = select(Enrollment.student_id).where(
        Enrollment.course_id == course_id, Enrollment.status.in_(ENROLLED_STATUSES)
    )
    return or_(staff, User.id.in_(enrolled))


def followers(
    db: Session,
    thread_id: uuid.UUID,
    course_id: uuid.UUID,
    *,
    besides: Collection[uuid.UUID],
    students: bool,
) -> Sequence[User]:
    """The thread's active followers still in the course (its students too, when `students`),
    except `besides`."""
    return db.scalars(
        select(User)
        .join(DiscussionFollower, DiscussionFollower.user_id == User.id)
        .where(
            DiscussionFollower.thread_id == thread_id,
            User.is_active.is_(True),
            User.id.not_in(besides),
            _member(course_id, students=students),
        )
        .order_by(User.id)
    ).all()


def members_by_handle(
    db: Session, course_id: uuid.UUID, handles: Collection[str], *, students: bool
) -> Sequence[User]:
    """The active course members (its students too, when `students`) whose handle (full name
    without spaces, any case) is one of `handles`."""
    if not handles:
        return []
    return db.scalars(
        select(User)
        .where(
            func.lower(func.replace(User.full_name, " ", "")).in_([h.lower() for h in handles]),
            User.is_active.is_(True),
            _member(course_id, students=students),
        )
        .order_by(User.id)
    ).all()
