"""HTTP routes for `/courses/{course_id}/sections/...` and `/courses/{course_id}/outline`."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Response, status

from app.core.dependencies import DbSession
from app.core.errors import problem
from app.core.routing import JSON_MEDIA_TYPE, APIRouter
from app.modules.courses import outline, sections
from app.modules.courses.sections_schemas import (
    Outline,
    SectionCreate,
    SectionItems,
    SectionOrder,
    SectionRead,
    SectionUpdate,
)
from app.modules.users.dependencies import CurrentUser, OptionalUser

router = APIRouter(prefix="/courses/{course_id}", tags=["sections"])

_CHANGE = problem(
    422,
    "A release window ending before it starts, a prerequisite outside the course "
    "(`prerequisite_not_in_course`) or a prerequisite cycle (`prerequisite_cycle`, naming "
    "the items)",
)


@router.get("/sections", response_model=list[SectionRead])
def list_sections(db: DbSession, user: OptionalUser, course_id: uuid.UUID) -> Any:
    """The course's sections and their items in order (drafts for its managers only)."""
    return sections.list_sections(db, course_id=course_id, user=user)


@router.post(
    "/sections",
    response_model=SectionRead,
    status_code=status.HTTP_201_CREATED,
    responses=_CHANGE,
)
def create_section(
    db: DbSession, user: CurrentUser, course_id: uuid.UUID, data: SectionCreate
) -> Any:
    """Add a section at the end of a course you own."""
    return sections.create_section(db, course_id=course_id, user=user, data=data)


@router.put(
    "/sections/order",
    response_model=list[SectionRead],
    responses=problem(422, "Not every section of the course exactly once"),
)
def reorder_sections(
    db: DbSession, user: CurrentUser, course_id: uuid.UUID, data: SectionOrder
) -> Any:
    """Reorder all sections of a course at once (the full list of section ids, in order)."""
    return sections.reorder_sections(
        db, course_id=course_id, user=user, section_ids=data.section_ids
    )


@router.get("/sections/{section_id}", response_model=SectionRead)
def get_section(
    db: DbSession, user: OptionalUser, course_id: uuid.UUID, section_id: uuid.UUID
) -> Any:
    """One section with its items."""
    return sections.get_section(db, course_id=course_id, section_id=section_id, user=user)


@router.patch("/sections/{section_id}", response_model=SectionRead, responses=_CHANGE)
def update_section(
    db: DbSession,
    user: CurrentUser,
    course_id: uuid.UUID,
    section_id: uuid.UUID,
    data: SectionUpdate,
) -> Any:
    """Edit a section: title, publication, release dates and prerequisites."""
    return sections.update_section(
        db, course_id=course_id, section_id=section_id, user=user, data=data
    )


@router.delete(
    "/sections/{section_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem(409, "The section still has items (`section_not_empty`)"),
)
def delete_section(
    db: DbSession, user: CurrentUser, course_id: uuid.UUID, section_id: uuid.UUID
) -> Response:
    """Delete an empty section; the remaining sections close the gap."""
    sections.delete_section(db, course_id=course_id, section_id=section_id, user=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/sections/{section_id}/items",
    response_model=SectionRead,
    responses=problem(
        422,
        "An item listed twice, not of this course (`item_not_in_course`), an item of the "
        "section left out (`item_left_out`), a prerequisite outside the course or a "
        "prerequisite cycle (`prerequisite_cycle`)",
    ),
)
def set_section_items(
    db: DbSession,
    user: CurrentUser,
    course_id: uuid.UUID,
    section_id: uuid.UUID,
    data: SectionItems,
) -> Any:
    """Set a section's items in order, with their release rules (moves items from other
    sections)."""
    return sections.set_items(
        db, course_id=course_id, section_id=section_id, user=user, items=data.items
    )


@router.get(
    "/outline",
    response_model=Outline,
    response_model_exclude_none=True,
    responses=problem(403, "Not enrolled in the course (`not_enrolled`)"),
)
def get_outline(db: DbSession, user: CurrentUser, course_id: uuid.UUID) -> Response:
    """Your outline: items in order with their state, progress and the next item (for the
    course's managers: how many students completed each item)."""
    answer = outline.get_outline(db, course_id=course_id, user=user)
    # Serialized once here: FastAPI would dump the model, validate the dump again and
    # serialize that (three passes over hundreds of items).
    return Response(answer.model_dump_json(exclude_none=True), media_type=JSON_MEDIA_TYPE)
