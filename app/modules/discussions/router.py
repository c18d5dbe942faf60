"""Course discussions: `/api/v1/courses/{course_id}/discussions/...`.

Enrolled students, the course's instructor and admins read and write; managers moderate
(`PATCH` a thread to pin, lock or mark the answer; `PATCH` a post to hide it). Bodies are
Markdown, answered as written and as sanitized HTML (`body_html`).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, status

from app.core.dependencies import DbSession
from app.core.markdown import render_markdown
from app.core.pagination import Page, Pagination
from app.core.routing import APIRouter
from app.modules.discussions import service
from app.modules.discussions.dependencies import PostingUser
from app.modules.discussions.models import DiscussionPost, DiscussionThread, ThreadKind
from app.modules.discussions.schemas import (
    Following,
    PostCreate,
    PostRead,
    PostUpdate,
    ThreadCreate,
    ThreadModeration,
    ThreadRead,
)
from app.modules.users.dependencies import CurrentUser

router = APIRouter(tags=["discussions"])

THREADS = "/courses/{course_id}/discussions"
THREAD = THREADS + "/{thread_id}"
POSTS = THREAD + "/posts"
POST = POSTS + "/{post_id}"


def _thread(thread: DiscussionThread) -> ThreadRead:
    return ThreadRead(
        id=thread.id,
        course_id=thread.course_id,
        author_id=thread.author_id,
        kind=ThreadKind(thread.kind),
        title=thread.title,
        item_type=thread.item_type,
        item_id=thread.item_id,
        is_pinned=thread.is_pinned,
        is_locked=thread.is_locked,
        answer_post_id=thread.answer_post_id,
        answered=thread.kind == ThreadKind.QUESTION.value and thread.answer_post_id is not None,
        last_post_at=thread.last_post_at,
        created_at=thread.created_at,
    )


def _post(post: DiscussionPost, thread: DiscussionThread) -> PostRead:
    return PostRead(
        id=post.id,
        thread_id=post.thread_id,
        author_id=post.author_id,
        body=post.body,
        body_html=render_markdown(post.body),
        is_hidden=post.is_hidden,
        is_answer=thread.answer_post_id == post.id,
        edited_at=post.edited_at,
        created_at=post.created_at,
    )


@router.get(THREADS, response_model=Page[ThreadRead])
def list_threads(
    course_id: uuid.UUID,
    db: DbSession,
    user: CurrentUser,
    params: Pagination,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="Search thread titles and post bodies"),
    ] = None,
) -> Page[ThreadRead]:
    """The course's threads, pinned first, then by latest post; `q` searches."""
    items, total = service.list_threads(db, course_id=course_id, user=user, q=q, params=params)
    return Page[ThreadRead].build([_thread(item) for item in items], total, params)


@router.post(THREADS, response_model=ThreadRead, status_code=status.HTTP_201_CREATED)
def create_thread(
    course_id: uuid.UUID, data: ThreadCreate, db: DbSession, user: PostingUser
) -> ThreadRead:
    """Start a thread (its body is the first post); its author follows it."""
    return _thread(service.create_thread(db, course_id=course_id, user=user, data=data))


@router.get(THREAD, response_model=ThreadRead)
def get_thread(
    course_id: uuid.UUID, thread_id: uuid.UUID, db: DbSession, user: CurrentUser
) -> ThreadRead:
    """One thread of the course."""
    return _thread(service.get_thread(db, course_id=course_id, thread_id=thread_id, user=user))


@router.patch(THREAD, response_model=ThreadRead)
def moderate_thread(
    course_id: uuid.UUID,
    thread_id: uuid.UUID,
    data: ThreadModeration,
    db: DbSession,
    user: CurrentUser,
) -> ThreadRead:
    """Pin, lock or mark the answer of a thread (the course's managers)."""
    thread = service.moderate_thread(
        db, course_id=course_id, thread_id=thread_id, user=user, data=data
    )
    return _thread(thread)


@router.put(THREAD + "/follow", response_model=Following)
def follow_thread(
    course_id: uuid.UUID, thread_id: uuid.UUID, db: DbSession, user: CurrentUser
) -> Following:
    """Follow a thread: be notified of its new posts."""
    following = service.set_following(
        db, course_id=course_id, thread_id=thread_id, user=user, follow=True
    )
    return Following(following=following)


@router.delete(THREAD + "/follow", response_model=Following)
def unfollow_thread(
    course_id: uuid.UUID, thread_id: uuid.UUID, db: DbSession, user: CurrentUser
) -> Following:
    """Stop following a thread (posting in it again follows it again)."""
    following = service.set_following(
        db, course_id=course_id, thread_id=thread_id, user=user, follow=False
    )
    return Following(following=following)


@router.get(POSTS, response_model=Page[PostRead])
def list_posts(
    course_id: uuid.UUID, thread_id: uuid.UUID, db: DbSession, user: CurrentUser, params: Pagination
) -> Page[PostRead]:
    """A thread's posts, oldest first (hidden ones for moderators only)."""
    items, total, thread = service.list_posts(
        db, course_id=course_id, thread_id=thread_id, user=user, params=params
    )
    return Page[PostRead].build([_post(item, thread) for item in items], total, params)


@router.post(POSTS, response_model=PostRead, status_code=status.HTTP_201_CREATED)
def create_post(
    course_id: uuid.UUID, thread_id: uuid.UUID, data: PostCreate, db: DbSession, user: PostingUser
) -> PostRead:
    """Reply in a thread (not when locked); followers and `@mentioned` members are notified."""
    post, thread = service.create_post(
        db, course_id=course_id, thread_id=thread_id, user=user, data=data
    )
    return _post(post, thread)


@router.patch(POST, response_model=PostRead)
def update_post(
    course_id: uuid.UUID,
    thread_id: uuid.UUID,
    post_id: uuid.UUID,
    data: PostUpdate,
    db: DbSession,
    user: CurrentUser,
) -> PostRead:
    """Edit one's own post (`body`), or hide/unhide a post (`is_hidden`, moderators)."""
    post, thread = service.update_post(
        db, course_id=course_id, thread_id=thread_id, post_id=post_id, user=user, data=data
    )
    return _post(post, thread)


@router.delete(POST, status_code=status.HTTP_204_NO_CONTENT)
def delete_post(
    course_id: uuid.UUID, thread_id: uuid.UUID, post_id: uuid.UUID, db: DbSession, user: CurrentUser
) -> None:
    """Delete one's own post (moderators: any post)."""
    service.delete_post(db, course_id=course_id, thread_id=thread_id, post_id=post_id, user=user)
