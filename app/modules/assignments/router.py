"""Assignment routes under `/assignments`, plus the gradebook
(`/courses/{course_id}/gradebook`) and a student's grades (`/enrollments/{id}/grades`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import Depends, Query, Response, status
from fastapi.responses import StreamingResponse

from app.core.dependencies import DbSession
from app.core.latework import ExtensionIn, ExtensionRead
from app.core.pagination import Page, Pagination
from app.core.permissions import Permission
from app.core.routing import APIRouter
from app.modules.assignments import gradebook, service
from app.modules.assignments.models import SubmissionStatus
from app.modules.assignments.schemas import (
    AssignmentCreate,
    AssignmentRead,
    AssignmentUpdate,
    EnrollmentGrades,
    Gradebook,
    GradeIn,
    ReturnIn,
    SubmissionCreate,
    SubmissionRead,
)
from app.modules.users.dependencies import CurrentUser, require_permissions
from app.modules.users.models import User

router = APIRouter(tags=["assignments"])

AssignmentManager = Annotated[User, Depends(require_permissions(Permission.MANAGE_ASSIGNMENTS))]
Grader = Annotated[User, Depends(require_permissions(Permission.GRADE))]
Submitter = Annotated[User, Depends(require_permissions(Permission.SUBMIT_ASSIGNMENT))]


@router.post("/assignments", response_model=AssignmentRead, status_code=status.HTTP_201_CREATED)
def create_assignment(
    data: AssignmentCreate, db: DbSession, user: AssignmentManager
) -> AssignmentRead:
    """Create an assignment in a course the caller teaches."""
    return service.create_assignment(db, user=user, data=data)


@router.get("/assignments", response_model=Page[AssignmentRead])
def list_assignments(
    course_id: Annotated[uuid.UUID, Query(description="The course to list")],
    db: DbSession,
    user: CurrentUser,
    params: Pagination,
) -> Page[AssignmentRead]:
    """List a course's assignments (drafts too for its instructor and admins)."""
    return service.list_assignments(db, course_id=course_id, user=user, params=params)


@router.get("/assignments/submissions/mine", response_model=Page[SubmissionRead])
def my_submissions(
    db: DbSession,
    user: CurrentUser,
    params: Pagination,
    course_id: Annotated[uuid.UUID | None, Query(description="Only this course")] = None,
) -> Page[SubmissionRead]:
    """List the caller's own submissions, newest first."""
    return service.my_submissions(db, user=user, course_id=course_id, params=params)


@router.get("/assignments/submissions/{submission_id}", response_model=SubmissionRead)
def get_submission(submission_id: uuid.UUID, db: DbSession, user: CurrentUser) -> SubmissionRead:
    """Get a submission (its student, or the course's instructor and admins)."""
    return service.get_submission(db, submission_id=submission_id, user=user)


@router.post("/assignments/submissions/{submission_id}/grade", response_model=SubmissionRead)
def grade_submission(
    submission_id: uuid.UUID, data: GradeIn, db: DbSession, user: Grader
) -> SubmissionRead:
    """Grade a submission with feedback; the late penalty is applied and the student notified."""
    return service.grade_submission(db, submission_id=submission_id, user=user, data=data)


@router.post("/assignments/submissions/{submission_id}/return", response_model=SubmissionRead)
def return_submission(
    submission_id: uuid.UUID, data: ReturnIn, db: DbSession, user: Grader
) -> SubmissionRead:
    """Return a submission to its student for another try."""
    return service.return_submission(db, submission_id=submission_id, user=user, data=data)


@router.get("/assignments/{assignment_id}", response_model=AssignmentRead)
def get_assignment(assignment_id: uuid.UUID, db: DbSession, user: CurrentUser) -> AssignmentRead:
    """Get an assignment."""
    return service.get_assignment(db, assignment_id=assignment_id, user=user)


@router.patch("/assignments/{assignment_id}", response_model=AssignmentRead)
def update_assignment(
    assignment_id: uuid.UUID, data: AssignmentUpdate, db: DbSession, user: AssignmentManager
) -> AssignmentRead:
    """Change an assignment (publish it with is_published)."""
    return service.update_assignment(db, assignment_id=assignment_id, user=user, data=data)


@router.delete("/assignments/{assignment_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_assignment(assignment_id: uuid.UUID, db: DbSession, user: AssignmentManager) -> Response:
    """Delete an assignment nobody has submitted to."""
    service.delete_assignment(db, assignment_id=assignment_id, user=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/assignments/{assignment_id}/submissions",
    response_model=SubmissionRead,
    status_code=status.HTTP_201_CREATED,
)
def submit(
    assignment_id: uuid.UUID,
    data: SubmissionCreate,
    db: DbSession,
    user: Submitter,
    response: Response,
) -> SubmissionRead:
    """Submit work (201), or replace an ungraded submission (200)."""
    submission, created = service.submit(db, assignment_id=assignment_id, user=user, data=data)
    if not created:
        response.status_code = status.HTTP_200_OK
    return submission


@router.post(
    "/assignments/{assignment_id}/extensions",
    response_model=ExtensionRead,
    status_code=status.HTTP_201_CREATED,
)
def grant_extension(
    assignment_id: uuid.UUID,
    data: ExtensionIn,
    db: DbSession,
    user: AssignmentManager,
    response: Response,
) -> ExtensionRead:
    """Give one enrolled student a later due date (201), or move their extension (200)."""
    extension, created = service.grant_extension(
        db, assignment_id=assignment_id, user=user, data=data
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return extension


@router.delete(
    "/assignments/{assignment_id}/extensions/{student_id}",
    status_code=status.HTTP_204_NO_CONTENT,
)
def withdraw_extension(
    assignment_id: uuid.UUID, student_id: uuid.UUID, db: DbSession, user: AssignmentManager
) -> Response:
    """Withdraw a student's extension: the assignment's own dates apply to them again."""
    service.withdraw_extension(db, assignment_id=assignment_id, user=user, student_id=student_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/assignments/{assignment_id}/submissions", response_model=Page[SubmissionRead])
def list_submissions(
    assignment_id: uuid.UUID,
    db: DbSession,
    user: Grader,
    params: Pagination,
    status_filter: Annotated[SubmissionStatus | None, Query(alias="status")] = None,
) -> Page[SubmissionRead]:
    """List an assignment's submissions (the course's instructor and admins)."""
    return service.list_submissions(
        db, assignment_id=assignment_id, user=user, status=status_filter, params=params
    )


# --- grades --------------------------------------------------------------------------------


@router.get(
    "/courses/{course_id}/gradebook",
    response_model=Gradebook,
    tags=["gradebook"],
    responses={200: {"content": {"text/csv": {}}}},
)
def course_gradebook(
    course_id: uuid.UUID,
    db: DbSession,
    user: Grader,
    params: Pagination,
    format: Annotated[
        Literal["json", "csv"], Query(description="json (paged) or csv (all rows)")
    ] = "json",
    cohort_id: Annotated[
        uuid.UUID | None, Query(description="Only the students of this cohort")
    ] = None,
) -> Gradebook | StreamingResponse:
    """A course's gradebook: a row per student, a column per graded quiz and assignment.

    A teaching assistant assigned to cohorts sees the students of those cohorts only.
    """
    if format == "csv":
        rows = gradebook.gradebook_csv(db, course_id=course_id, user=user, cohort_id=cohort_id)
        return StreamingResponse(
            rows,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="gradebook-{course_id}.csv"'},
        )
    return gradebook.gradebook(
        db, course_id=course_id, user=user, params=params, cohort_id=cohort_id
    )


@router.get(
    "/enrollments/{enrollment_id}/grades", response_model=EnrollmentGrades, tags=["gradebook"]
)
def enrollment_grades(
    enrollment_id: uuid.UUID, db: DbSession, user: CurrentUser
) -> EnrollmentGrades:
    """A student's grades in one course, with the course grade."""
    return gradebook.enrollment_grades(db, enrollment_id=enrollment_id, user=user)
