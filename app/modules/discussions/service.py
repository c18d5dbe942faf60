"""Course discussions: threads (optionally about a lesson, quiz or assignment of the course)
and their posts, read and written by the course's enrolled students, its instructor and
admins. Managers moderate: pin, lock (no new posts), hide a post (then only moderators see
it), mark the answer of a question thread.

Who hears of a new post: the thread's followers (its author, everyone who replied, and who
followed it explicitly) get a `discussion_replies` notification, except for their own post;
course members mentioned as `@handle` get a `mentions` notification instead. A handle is the
member's full name without spaces, in any case (`@AdaLovelace`); a handle matching nobody in
the course is ignored.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.database import utcnow
from app.core.errors import BusinessRuleViolation, Conflict, NotFound, PermissionDenied
from app.core.pagination import PageParams, paginate
from app.modules.assignments.models import Assignment
from app.modules.courses.access import course_access
from app.modules.courses.models import Lesson
from app.modules.discussions import repository
from app.modules.discussions.models import (
    DiscussionPost,
    DiscussionThread,
    ItemType,
)
from app.modules.discussions.schemas import (
    PostCreate,
    PostUpdate,
    ThreadCreate,
    ThreadModeration,
)
from app.modules.notifications.inbox import Message, notify_many
from app.modules.notifications.models import NotificationCategory
from app.modules.quizzes.models import Quiz
from app.modules.users.models import User

MENTION = re.compile(r"(?<![\w@])@([\w.\-]{2,100})")
_ITEMS: dict[ItemType, type[Lesson] | type[Quiz] | type[Assignment]] = {
    ItemType.LESSON: Lesson,
    ItemType.QUIZ: Quiz,
    ItemType.ASSIGNMENT: Assignment,
}


class ThreadNotFound(NotFound):
    code = "thread_not_found"


class PostNotFound(NotFound):
    code = "post_not_found"


@dataclass(frozen=True)
class Viewer:
    user: User
    moderator: bool  # the course's instructor or an admin


def viewer(db: Session, *, course_id: uuid.UUID, user: User) -> Viewer:
    """The caller as a reader and writer of the course's discussions: enrolled students and
    managers only (others: 403; a course outside the catalogue: 404)."""
    access = course_access(db, course_id=course_id, user=user)
    if not (access.manager or access.enrolled):
        raise PermissionDenied("Enroll in the course to join its discussions",
                               code="enrollment_required")  # fmt: skip
    return Viewer(user=user, moderator=access.manager)


def _check_body(body: str) -> None:
    limit = get_settings().DISCUSSION_POST_MAX_CHARS
    if len(body) > limit:
        raise BusinessRuleViolation(f"A post is at most {limit} characters",
                                    code="post_too_long")  # fmt: skip


def _thread(
    db: Session, course_id: uuid.UUID, thread_id: uuid.UUID, who: Viewer
) -> DiscussionThread:
    thread = db.get(DiscussionThread, thread_id)
    if (
        thread is None
        or thread.course_id != course_id
        or (
            not who.moderator
            and thread.item_id is not None
            and not repository.thread_shown_to_students(db, thread.id)
        )
    ):
        raise ThreadNotFound("Thread not found")
    return thread


def _post(db: Session, thread: DiscussionThread, post_id: uuid.UUID, who: Viewer) -> DiscussionPost:
    post = db.get(DiscussionPost, post_id)
    if post is None or post.thread_id != thread.id or (post.is_hidden and not who.moderator):
        raise PostNotFound("Post not found")
    return post


def _link(thread: DiscussionThread) -> str:
    base = get_settings().FRONTEND_URL.rstrip("/")
    return f"{base}/courses/{thread.course_id}/discussions/{thread.id}"


def _announce(db: Session, thread: DiscussionThread, post: DiscussionPost, author: User) -> None:
    """Mentions first (a mentioned follower gets the mention only), then the followers; only
    the course's staff hear of a thread about an item students cannot see."""
    students = thread.item_id is None or repository.thread_shown_to_students(db, thread.id)
    handles = set(MENTION.findall(post.body))
    mentioned = [
        user
        for user in repository.members_by_handle(db, thread.course_id, handles, students=students)
        if user.id != author.id
    ]
    excerpt = post.body[:280]
    notify_many(
        db,
        mentioned,
        NotificationCategory.MENTIONS,
        Message(title=f"{author.full_name} mentioned you in {thread.title}", body=excerpt,
                url=_link(thread)),
    )  # fmt: skip
    skip = {author.id, *(user.id for user in mentioned)}
    notify_many(
        db,
        repository.followers(db, thread.id, thread.course_id, besides=skip, students=students),
        NotificationCategory.DISCUSSION_REPLIES,
        Message(title=f"{author.full_name} replied in {thread.title}", body=excerpt,
                url=_link(thread)),
    )  # fmt: skip


# --- threads ---------------------------------------------------------------------------------


def create_thread(
    db: Session, *, course_id: uuid.UUID, user: User, data: ThreadCreate
) -> DiscussionThread:
    who = viewer(db, course_id=course_id, user=user)
    _check_body(data.body)
    if data.item_type is not None and data.item_id is not None:
        model = _ITEMS[data.item_type]
        item_course = db.scalar(select(model.course_id).where(model.id == data.item_id))
        # A student cannot tell a draft or an item of an unpublished section from none.
        if item_course != course_id or (
            not who.moderator
            and not repository.item_shown_to_students(db, data.item_type, data.item_id)
        ):
            raise BusinessRuleViolation(f"No such {data.item_type.value} in this course",
                                        code="invalid_item")  # fmt: skip
    now = utcnow()
    thread = DiscussionThread(
        course_id=course_id,
        author_id=user.id,
        kind=data.kind.value,
        title=data.title,
        item_type=data.item_type.value if data.item_type else None,
        item_id=data.item_id,
        last_post_at=now,
    )
    db.add(thread)
    db.flush()
    post = DiscussionPost(thread_id=thread.id, author_id=user.id, body=data.body)
    db.add(post)
    db.flush()
    repository.follow(db, thread.id, user.id)
    _announce(db, thread, post, user)
    return thread


def list_threads(
    db: Session, *, course_id: uuid.UUID, user: User, q: str | None, params: PageParams
) -> tuple[list[DiscussionThread], int]:
    who = viewer(db, course_id=course_id, user=user)
    statement = repository.threads_query(db, course_id, q=q, moderator=who.moderator)
    return paginate(db, statement, params)


def get_thread(
    db: Session, *, course_id: uuid.UUID, thread_id: uuid.UUID, user: User
) -> DiscussionThread:
    who = viewer(db, course_id=course_id, user=user)
    return _thread(db, course_id, thread_id, who)


def moderate_thread(
    db: Session, *, course_id: uuid.UUID, thread_id: uuid.UUID, user: User, data: ThreadModeration
) -> DiscussionThread:
    who = viewer(db, course_id=course_id, user=user)
    if not who.moderator:
        raise PermissionDenied("Only the course's instructor or an admin moderates")
    thread = _thread(db, course_id, thread_id, who)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("answer_post_id") is not None:
        answer = db.get(DiscussionPost, changes["answer_post_id"])
        if answer is None or answer.thread_id != thread.id or answer.is_hidden:
            raise BusinessRuleViolation("The answer must be a visible post of this thread",
                                        code="invalid_answer")  # fmt: skip
    for name, value in changes.items():
        setattr(thread, name, value)
    db.flush()
    return thread


def set_following(
    db: Session, *, course_id: uuid.UUID, thread_id: uuid.UUID, user: User, follow: bool
) -> bool:
    who = viewer(db, course_id=course_id, user=user)
    thread = _thread(db, course_id, thread_id, who)
    if follow:
        repository.follow(db, thread.id, user.id)
    else:
        repository.unfollow(db, thread.id, user.id)
    return follow


# --- posts -----------------------------------------------------------------------------------


def list_posts(
    db: Session, *, course_id: uuid.UUID, thread_id: uuid.UUID, user: User, params: PageParams
) -> tuple[list[DiscussionPost], int, DiscussionThread]:
    who = viewer(db, course_id=course_id, user=user)
    thread = _thread(db, course_id, thread_id, who)
    items, total = paginate(db, repository.posts_query(thread.id, moderator=who.moderator), params)
    return items, total, thread


def create_post(
    db: Session, *, course_id: uuid.UUID, thread_id: uuid.UUID, user: User, data: PostCreate
) -> tuple[DiscussionPost, DiscussionThread]:
    who = viewer(db, course_id=course_id, user=user)
    thread = _thread(db, course_id, thread_id, who)
    if thread.is_locked:
        raise Conflict("The thread is locked", code="thread_locked")
    _check_body(data.body)
    post = DiscussionPost(thread_id=thread.id, author_id=user.id, body=data.body)
    db.add(post)
    thread.last_post_at = utcnow()
    db.flush()
    _announce(db, thread, post, user)
    repository.follow(db, thread.id, user.id)
    return post, thread


def update_post(
    db: Session,
    *,
    course_id: uuid.UUID,
    thread_id: uuid.UUID,
    post_id: uuid.UUID,
    user: User,
    data: PostUpdate,
) -> tuple[DiscussionPost, DiscussionThread]:
    who = viewer(db, course_id=course_id, user=user)
    thread = _thread(db, course_id, thread_id, who)
    post = _post(db, thread, post_id, who)
    changes = data.model_dump(exclude_unset=True)
    if "body" in changes:
        if post.author_id != user.id:
            raise PermissionDenied("Only its author edits a post")
        if thread.is_locked:
            raise Conflict("The thread is locked", code="thread_locked")
        _check_body(changes["body"])
        post.body = changes["body"]
        post.edited_at = utcnow()
    if "is_hidden" in changes:
        if not who.moderator:
            raise PermissionDenied("Only the course's instructor or an admin hides posts")
        post.is_hidden = changes["is_hidden"]
        if post.is_hidden and thread.answer_post_id == post.id:
            thread.answer_post_id = None
    db.flush()
    return post, thread


def delete_post(
    db: Session, *, course_id: uuid.UUID, thread_id: uuid.UUID, post_id: uuid.UUID, user: User
) -> None:
    """The author deletes their post; managers any post."""
    who = viewer(db, course_id=course_id, user=user)
    thread = _thread(db, course_id, thread_id, who)
    post = _post(db, thread, post_id, who)
    if post.author_id != user.id and not who.moderator:
        raise PermissionDenied("Only its author or a moderator deletes a post")
    if thread.answer_post_id == post.id:
        thread.answer_post_id = None
    db.delete(post)
    db.flush()
