"""`/api/v1/courses/{course_id}/lti-links/...` (resource links, their launch), the launch of
a section item of kind `lti` `/api/v1/courses/{course_id}/items/{item_id}/launch` and the deep
linking launch `/api/v1/courses/{course_id}/lti/tools/{tool_id}/deep-link`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Request, Response, status

from app.core.dependencies import DbSession
from app.core.errors import problem
from app.core.pagination import Page, Pagination
from app.core.routing import APIRouter
from app.modules.lti import html, launch, links
from app.modules.lti.schemas import LinkCreate, LinkRead, LinkUpdate, LoginInitiation
from app.modules.users.dependencies import CurrentUser

router = APIRouter(prefix="/courses", tags=["lti"])
_LAUNCH_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "content": {"text/html": {}},
        "description": "JSON login initiation, or with Accept: text/html a page posting it",
    }
}
_LOCKED = problem(403, "Not enrolled, or the item is locked (`item_locked`, with `reasons`)")


def _initiate(request: Request, initiation: LoginInitiation) -> Response | LoginInitiation:
    if "text/html" in request.headers.get("accept", ""):
        return html.auto_submit_form(initiation.url, initiation.params)
    return initiation


@router.post("/{course_id}/lti-links", response_model=LinkRead, status_code=status.HTTP_201_CREATED)
def create_link(
    course_id: uuid.UUID, data: LinkCreate, db: DbSession, user: CurrentUser
) -> LinkRead:
    """Add an LTI item to a course section (course managers), optionally with a line item."""
    return links.add_link(db, course_id=course_id, user=user, data=data)


@router.get("/{course_id}/lti-links", response_model=Page[LinkRead])
def list_links(
    course_id: uuid.UUID, db: DbSession, user: CurrentUser, params: Pagination
) -> Page[LinkRead]:
    """The course's LTI links, oldest first (course managers)."""
    items, total = links.list_links(db, course_id=course_id, user=user, params=params)
    return Page[LinkRead].build(items, total, params)


@router.get("/{course_id}/lti-links/{link_id}", response_model=LinkRead)
def get_link(
    course_id: uuid.UUID, link_id: uuid.UUID, db: DbSession, user: CurrentUser
) -> LinkRead:
    """One LTI link of the course (course managers)."""
    return links.get_link(db, course_id=course_id, link_id=link_id, user=user)


@router.patch("/{course_id}/lti-links/{link_id}", response_model=LinkRead)
def update_link(
    course_id: uuid.UUID, link_id: uuid.UUID, data: LinkUpdate, db: DbSession, user: CurrentUser
) -> LinkRead:
    """Change an LTI link's title, launch URL or custom parameters."""
    return links.update_link(db, course_id=course_id, link_id=link_id, user=user, data=data)


@router.delete("/{course_id}/lti-links/{link_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_link(course_id: uuid.UUID, link_id: uuid.UUID, db: DbSession, user: CurrentUser) -> None:
    """Remove an LTI link with its line item and scores."""
    links.delete_link(db, course_id=course_id, link_id=link_id, user=user)


@router.get(
    "/{course_id}/lti-links/{link_id}/launch",
    response_model=LoginInitiation,
    responses={**_LAUNCH_RESPONSES, **_LOCKED},
)
def launch_link(
    course_id: uuid.UUID, link_id: uuid.UUID, request: Request, db: DbSession, user: CurrentUser
) -> Response | LoginInitiation:
    """Open an LTI link: the third-party initiated login to send the browser to."""
    initiation = launch.start_launch(db, course_id=course_id, link_id=link_id, user=user)
    return _initiate(request, initiation)


@router.get(
    "/{course_id}/items/{item_id}/launch",
    response_model=LoginInitiation,
    responses={**_LAUNCH_RESPONSES, **_LOCKED},
)
def launch_item(
    course_id: uuid.UUID, item_id: uuid.UUID, request: Request, db: DbSession, user: CurrentUser
) -> Response | LoginInitiation:
    """Open a section item of kind `lti`: the login initiation to send the browser to."""
    initiation = launch.start_item_launch(db, course_id=course_id, item_id=item_id, user=user)
    return _initiate(request, initiation)


@router.get(
    "/{course_id}/lti/tools/{tool_id}/deep-link",
    response_model=LoginInitiation,
    responses=_LAUNCH_RESPONSES,
)
def deep_link(
    course_id: uuid.UUID,
    tool_id: uuid.UUID,
    request: Request,
    db: DbSession,
    user: CurrentUser,
    deployment_id: Annotated[str | None, Query(max_length=64)] = None,
    section_id: Annotated[
        uuid.UUID | None, Query(description="Where the chosen links go (default: last section)")
    ] = None,
) -> Response | LoginInitiation:
    """Choose content from a tool (Deep Linking): the login initiation (course managers)."""
    initiation = launch.start_deep_linking(
        db,
        course_id=course_id,
        tool_id=tool_id,
        user=user,
        deployment_id=deployment_id,
        section_id=section_id,
    )
    return _initiate(request, initiation)
