"""Course announcements: `/api/v1/courses/{course_id}/announcements/...`.

Managers (the course's instructor, admins) write and see every announcement, also scheduled
ones; enrolled students read the published ones addressed to the whole course or to their
cohort. Bodies are Markdown, answered as written (`body`) and as sanitized HTML (`body_html`).
"""

from __future__ import annotations

import uuid

from fastapi import status

from app.core.dependencies import DbSession
from app.core.markdown import render_markdown
from app.core.pagination import Page, Pagination
from app.core.routing import APIRouter
from app.modules.announcements import service
from app.modules.announcements.models import Announcement
from app.modules.announcements.schemas import (
    AnnouncementCreate,
    AnnouncementRead,
    AnnouncementUpdate,
)
from app.modules.users.dependencies import CurrentUser

router = APIRouter(tags=["announcements"])

ANNOUNCEMENTS = "/courses/{course_id}/announcements"
ANNOUNCEMENT = ANNOUNCEMENTS + "/{announcement_id}"


def _read(announcement: Announcement) -> AnnouncementRead:
    return AnnouncementRead.model_validate(
        {
            **{
                name: getattr(announcement, name)
                for name in AnnouncementRead.model_fields
                if name != "body_html"
            },
            "body_html": render_markdown(announcement.body),
        }
    )


@router.post(ANNOUNCEMENTS, response_model=AnnouncementRead, status_code=status.HTTP_201_CREATED)
def create_announcement(
    course_id: uuid.UUID, data: AnnouncementCreate, db: DbSession, user: CurrentUser
) -> AnnouncementRead:
    """Write an announcement (now, or at `publish_at`); its students are notified on publishing."""
    return _read(service.create(db, course_id=course_id, user=user, data=data))


@router.get(ANNOUNCEMENTS, response_model=Page[AnnouncementRead])
def list_announcements(
    course_id: uuid.UUID, db: DbSession, user: CurrentUser, params: Pagination
) -> Page[AnnouncementRead]:
    """The course's announcements the caller may read, newest first."""
    items, total = service.list_announcements(db, course_id=course_id, user=user, params=params)
    return Page[AnnouncementRead].build([_read(item) for item in items], total, params)


@router.get(ANNOUNCEMENT, response_model=AnnouncementRead)
def get_announcement(
    course_id: uuid.UUID, announcement_id: uuid.UUID, db: DbSession, user: CurrentUser
) -> AnnouncementRead:
    """One announcement the caller may read."""
    return _read(
        service.get_announcement(
            db, course_id=course_id, announcement_id=announcement_id, user=user
        )
    )


@router.patch(ANNOUNCEMENT, response_model=AnnouncementRead)
def update_announcement(
    course_id: uuid.UUID,
    announcement_id: uuid.UUID,
    data: AnnouncementUpdate,
    db: DbSession,
    user: CurrentUser,
) -> AnnouncementRead:
    """Correct the title or body (any time), or the audience and schedule (before publishing)."""
    return _read(
        service.update(
            db, course_id=course_id, announcement_id=announcement_id, user=user, data=data
        )
    )


@router.delete(ANNOUNCEMENT, status_code=status.HTTP_204_NO_CONTENT)
def delete_announcement(
    course_id: uuid.UUID, announcement_id: uuid.UUID, db: DbSession, user: CurrentUser
) -> None:
    """Delete an announcement (inbox entries already delivered stay)."""
    service.delete(db, course_id=course_id, announcement_id=announcement_id, user=user)
