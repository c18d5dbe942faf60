"""HTTP routes for a course's staff (`/courses/{id}/staff`) and cohorts
(`/courses/{id}/cohorts`)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Response, status

from app.core.dependencies import DbSession
from app.core.pagination import Page, Pagination
from app.core.routing import APIRouter
from app.modules.courses import staff as service
from app.modules.courses.staff_schemas import (
    CohortCreate,
    CohortMemberRead,
    CohortMembersSet,
    CohortRead,
    CohortUpdate,
    StaffMember,
    StaffUpdate,
)
from app.modules.users.dependencies import CurrentUser

# The prefix holds no path parameter: `APIRouter.matches` skips by the literal prefix.
staff = APIRouter(prefix="/courses", tags=["course staff"])
cohorts = APIRouter(prefix="/courses", tags=["cohorts"])


@staff.get("/{course_id}/staff", response_model=Page[StaffMember])
def list_staff(db: DbSession, user: CurrentUser, course_id: uuid.UUID, params: Pagination) -> Any:
    """The course's owner, instructors and teaching assistants (for its staff and admins)."""
    return service.list_staff(db, course_id=course_id, user=user, params=params)


@staff.get("/{course_id}/staff/{user_id}", response_model=StaffMember)
def get_staff(db: DbSession, user: CurrentUser, course_id: uuid.UUID, user_id: uuid.UUID) -> Any:
    """One staff member with their role and cohorts (the owner and admins)."""
    return service.get_staff_member(db, course_id=course_id, user_id=user_id, user=user)


@staff.put("/{course_id}/staff/{user_id}", response_model=StaffMember)
def put_staff(
    db: DbSession, user: CurrentUser, course_id: uuid.UUID, user_id: uuid.UUID, data: StaffUpdate
) -> Any:
    """Make an instructor account an instructor or teaching assistant of the course.

    Only the owner and admins. `cohort_ids` limits a teaching assistant to grading those
    cohorts. The owner's own role cannot be changed here (422 `owner_role_fixed`).
    """
    return service.set_staff_member(db, course_id=course_id, user_id=user_id, user=user, data=data)


@staff.delete("/{course_id}/staff/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_staff(
    db: DbSession, user: CurrentUser, course_id: uuid.UUID, user_id: uuid.UUID
) -> Response:
    """Remove an instructor or teaching assistant from the course (never the owner)."""
    service.remove_staff_member(db, course_id=course_id, user_id=user_id, user=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@cohorts.get("/{course_id}/cohorts", response_model=Page[CohortRead])
def list_cohorts(db: DbSession, user: CurrentUser, course_id: uuid.UUID, params: Pagination) -> Any:
    """The course's cohorts with their member counts (for its staff and admins)."""
    return service.list_cohorts(db, course_id=course_id, user=user, params=params)


@cohorts.post(
    "/{course_id}/cohorts", response_model=CohortRead, status_code=status.HTTP_201_CREATED
)
def create_cohort(
    db: DbSession, user: CurrentUser, course_id: uuid.UUID, data: CohortCreate
) -> Any:
    """Create a cohort (the owner, instructors and admins)."""
    return service.create_cohort(db, course_id=course_id, user=user, data=data)


@cohorts.get("/{course_id}/cohorts/{cohort_id}", response_model=CohortRead)
def get_cohort(db: DbSession, user: CurrentUser, course_id: uuid.UUID, cohort_id: uuid.UUID) -> Any:
    """One cohort of the course."""
    return service.get_cohort(db, course_id=course_id, cohort_id=cohort_id, user=user)


@cohorts.patch("/{course_id}/cohorts/{cohort_id}", response_model=CohortRead)
def update_cohort(
    db: DbSession,
    user: CurrentUser,
    course_id: uuid.UUID,
    cohort_id: uuid.UUID,
    data: CohortUpdate,
) -> Any:
    """Rename a cohort or change its dates."""
    return service.update_cohort(db, course_id=course_id, cohort_id=cohort_id, user=user, data=data)


@cohorts.delete("/{course_id}/cohorts/{cohort_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_cohort(
    db: DbSession, user: CurrentUser, course_id: uuid.UUID, cohort_id: uuid.UUID
) -> Response:
    """Delete a cohort; its students stay enrolled, in no cohort."""
    service.delete_cohort(db, course_id=course_id, cohort_id=cohort_id, user=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@cohorts.get("/{course_id}/cohorts/{cohort_id}/members", response_model=Page[CohortMemberRead])
def list_members(
    db: DbSession,
    user: CurrentUser,
    course_id: uuid.UUID,
    cohort_id: uuid.UUID,
    params: Pagination,
) -> Any:
    """A cohort's students (for those who grade it, and the course's managers)."""
    return service.list_members(
        db, course_id=course_id, cohort_id=cohort_id, user=user, params=params
    )


@cohorts.put("/{course_id}/cohorts/{cohort_id}/members", response_model=CohortRead)
def set_members(
    db: DbSession,
    user: CurrentUser,
    course_id: uuid.UUID,
    cohort_id: uuid.UUID,
    data: CohortMembersSet,
) -> Any:
    """Set a cohort's members (up to 1,000 enrolled students, all or nothing).

    Students in another cohort of the course move to this one; an id that is not enrolled in
    the course is a 422 naming it, and nothing changes.
    """
    return service.set_members(db, course_id=course_id, cohort_id=cohort_id, user=user, data=data)


router = APIRouter()
router.include_router(staff)
router.include_router(cohorts)
