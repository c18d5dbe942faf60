"""Assignments, submissions and grading.

Rules:
- The course's instructor and admins create, change, grade and return; students enrolled in
  the course (active or completed) see published assignments and submit.
- One submission per student and assignment. Resubmitting replaces its content and is allowed
  while it is not graded.
- Due dates follow the shared late-work model (`app.core.latework`), with the student's
  extension applied: nothing is accepted from `lock_at` on; after `due_at` the `refuse`
  policy refuses (unless the instructor returned the submission for another try), the
  others accept it as late. The penalty is frozen on the submission and taken off the grade
  the instructor gives (`final_grade = grade * (1 - penalty/100)`).
- The course's instructor grants per-student extensions to enrolled students.
- A grade lies within 0..max_points. Grading queues a (transactional) email to the student
  and emits `assignment.graded`.
- Students see only their own submissions; anyone else's answers 404.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.database import utcnow
from app.core.errors import BusinessRuleViolation, Conflict, NotFound, PermissionDenied
from app.core.events import emit
from app.core.latework import (
    Deadlines,
    ExtensionIn,
    ExtensionRead,
    apply_changes,
    apply_penalty,
    assess,
    check_deadlines,
    remove_extension,
    save_extension,
    student_deadlines,
)
from app.core.pagination import Page, PageParams, paginate
from app.modules.assignments import repository
from app.modules.assignments.models import (
    Assignment,
    AssignmentExtension,
    Submission,
    SubmissionStatus,
)
from app.modules.assignments.schemas import (
    AssignmentCreate,
    AssignmentRead,
    AssignmentUpdate,
    GradeIn,
    ReturnIn,
    SubmissionCreate,
    SubmissionRead,
)
from app.modules.courses import access as courses_access
from app.modules.courses import locks, sections
from app.modules.courses import service as courses_service
from app.modules.courses.models import Course, ItemKind
from app.modules.enrollments import service as enrollments_service
from app.modules.files import service as files_service
from app.modules.notifications.inbox import Message, notify
from app.modules.notifications.models import NotificationCategory
from app.modules.users.models import User


class AssignmentNotFound(NotFound):
    code = "assignment_not_found"


class SubmissionNotFound(NotFound):
    code = "submission_not_found"


# --- assignments ---------------------------------------------------------------------------


def _owned_assignment(db: Session, assignment_id: uuid.UUID, user: User) -> Assignment:
    assignment = repository.get_assignment(db, assignment_id)
    if assignment is None:
        raise AssignmentNotFound("Assignment not found")
    courses_access.get_owned_course(
        db, course_id=assignment.course_id, user=user, capability=courses_access.Capability.CONTENT
    )
    return assignment


def _check_lesson(db: Session, course_id: uuid.UUID, lesson_id: uuid.UUID | None) -> None:
    if lesson_id is not None:
        lesson = courses_service.get_lesson(db, lesson_id=lesson_id)
        if lesson.course_id != course_id:
            raise BusinessRuleViolation(
                "The lesson belongs to another course", code="lesson_not_in_course"
            )


def create_assignment(db: Session, *, user: User, data: AssignmentCreate) -> AssignmentRead:
    # Locking the course serializes concurrent inserts into its sections.
    courses_access.get_owned_course(
        db,
        course_id=data.course_id,
        user=user,
        capability=courses_access.Capability.CONTENT,
        for_update=True,
    )
    _check_lesson(db, data.course_id, data.lesson_id)
    check_deadlines(data.due_at, data.lock_at)
    assignment = Assignment(**data.model_dump(exclude={"section_id"}))
    db.add(assignment)
    db.flush()
    sections.place_item(
        db,
        course_id=data.course_id,
        kind=ItemKind.ASSIGNMENT,
        target_id=assignment.id,
        section_id=data.section_id,
    )
    return AssignmentRead.model_validate(assignment)


def list_assignments(
    db: Session, *, course_id: uuid.UUID, user: User, params: PageParams
) -> Page[AssignmentRead]:
    access = courses_access.course_access(db, course_id=course_id, user=user)
    # A visitor (not enrolled) lists the assignments of preview lessons only, as for lessons.
    statement = repository.assignments_of_course(
        course_id,
        published_only=not access.manager,
        lesson_ids=courses_access.readable_item_lessons(db, access),
    )
    rows, total = paginate(db, statement, params)
    # A locked assignment is listed (the outline shows it too) without its instructions.
    locked = (
        locks.locked_targets(db, course_id=course_id, student_id=user.id, kind=ItemKind.ASSIGNMENT)
        if access.enrolled
        else set()
    )
    reads = [AssignmentRead.model_validate(row) for row in rows]
    return Page[AssignmentRead].build(
        [read.model_copy(update={"instructions": None}) if read.id in locked else read
         for read in reads],
        total,
        params,
    )  # fmt: skip


def get_assignment(db: Session, *, assignment_id: uuid.UUID, user: User) -> AssignmentRead:
    assignment = repository.get_assignment(db, assignment_id)
    if assignment is None:
        raise AssignmentNotFound("Assignment not found")
    try:
        access = courses_access.course_access(db, course_id=assignment.course_id, user=user)
    except NotFound as exc:
        raise AssignmentNotFound("Assignment not found") from exc
    if not assignment.is_published and not access.manager:
        raise AssignmentNotFound("Assignment not found")
    courses_access.require_item_access(db, access, lesson_id=assignment.lesson_id)
    locks.require_open(db, user=user, kind=ItemKind.ASSIGNMENT, target_id=assignment.id)
    return AssignmentRead.model_validate(assignment)


def update_assignment(
    db: Session, *, assignment_id: uuid.UUID, user: User, data: AssignmentUpdate
) -> AssignmentRead:
    assignment = _owned_assignment(db, assignment_id, user)
    changes = data.model_dump(exclude_unset=True)
    if "lesson_id" in changes:
        _check_lesson(db, assignment.course_id, changes["lesson_id"])
    if "max_points" in changes:
        highest = repository.highest_grade(db, assignment.id)
        if highest is not None and highest > changes["max_points"]:
            raise BusinessRuleViolation(
                f"A submission is already graded {highest}; max_points cannot go below it",
                code="max_points_below_grades",
            )
    apply_changes(assignment, changes)
    db.flush()
    return AssignmentRead.model_validate(assignment)


def delete_assignment(db: Session, *, assignment_id: uuid.UUID, user: User) -> None:
    assignment = _owned_assignment(db, assignment_id, user)
    if repository.has_submissions(db, assignment.id):
        raise Conflict(
            "Students have submitted to this assignment; unpublish it instead",
            code="assignment_has_submissions",
        )
    db.delete(assignment)
    db.flush()


# --- due dates -----------------------------------------------------------------------------


def _deadlines_of(db: Session, assignment: Assignment, student_id: uuid.UUID) -> Deadlines:
    return student_deadlines(
        db, assignment, AssignmentExtension, item_column="assignment_id", student_id=student_id
    )


def grant_extension(
    db: Session, *, assignment_id: uuid.UUID, user: User, data: ExtensionIn
) -> tuple[ExtensionRead, bool]:
    """Give one enrolled student a later due date; the flag says whether it is new."""
    assignment = _owned_assignment(db, assignment_id, user)
    enrollments_service.require_student_enrollment(
        db, student_id=data.student_id, course_id=assignment.course_id
    )
    return save_extension(
        db,
        assignment,
        AssignmentExtension,
        item_column="assignment_id",
        data=data,
        granted_by_id=user.id,
    )


def withdraw_extension(
    db: Session, *, assignment_id: uuid.UUID, user: User, student_id: uuid.UUID
) -> None:
    assignment = _owned_assignment(db, assignment_id, user)
    remove_extension(
        db, assignment, AssignmentExtension, item_column="assignment_id", student_id=student_id
    )


# --- submissions -------------------------------------------------------------------------


def _check_files(
    db: Session, assignment: Assignment, user: User, file_ids: list[uuid.UUID]
) -> list[str]:
    allowed = set(assignment.allowed_file_types or [])
    if file_ids and not allowed:
        raise BusinessRuleViolation(
            "This assignment takes text only, no files", code="files_not_allowed"
        )
    for file_id in file_ids:
        # Only the student's own uploads can be attached (NotFound otherwise).
        record = files_service.get_owned_file(db, file_id=file_id, user=user)
        if record.extension.lower().lstrip(".") not in allowed:
            raise BusinessRuleViolation(
                f"{record.original_filename}: allowed file types are " + ", ".join(sorted(allowed)),
                code="file_type_not_allowed",
            )
    return [str(file_id) for file_id in file_ids]


def submit(
    db: Session, *, assignment_id: uuid.UUID, user: User, data: SubmissionCreate
) -> tuple[SubmissionRead, bool]:
    """Submit or resubmit; the flag says whether a new submission was created."""
    assignment = repository.get_assignment(db, assignment_id)
    if assignment is None or not assignment.is_published:
        raise AssignmentNotFound("Assignment not found")
    enrollment = enrollments_service.get_student_enrollment(
        db, student_id=user.id, course_id=assignment.course_id
    )
    if enrollment is None:
        raise PermissionDenied("Enroll in the course to submit", code="not_enrolled")
    locks.require_open(db, user=user, kind=ItemKind.ASSIGNMENT, target_id=assignment.id)
    existing = repository.submission_of(db, assignment.id, enrollment.id)
    if existing is not None and existing.status == SubmissionStatus.GRADED.value:
        raise Conflict("The submission is already graded", code="submission_graded")
    now = utcnow()
    returned = existing is not None and existing.status == SubmissionStatus.RETURNED.value
    late = assess(
        assignment, _deadlines_of(db, assignment, user.id), now=now, refuse_exempt=returned
    )
    values: dict[str, Any] = {
        "content": data.content,
        "file_ids": _check_files(db, assignment, user, data.file_ids),
        "submitted_at": now,
        "is_late": late.is_late,
        "late_penalty_percent": late.penalty_percent,
        "status": SubmissionStatus.SUBMITTED.value,
    }
    if existing is not None:
        if not repository.resubmit(
            db, existing.id, {**values, "grade": None, "final_grade": None, "updated_at": now}
        ):
            raise Conflict("The submission is already graded", code="submission_graded")
        return SubmissionRead.model_validate(repository.reload_submission(db, existing.id)), False
    submission = Submission(
        assignment_id=assignment.id, enrollment_id=enrollment.id, student_id=user.id, **values
    )
    try:
        with db.begin_nested():
            db.add(submission)
            db.flush()
    except IntegrityError as exc:
        # The unique (assignment, enrollment) pair settled a concurrent double submit.
        raise Conflict(
            "A submission was created at the same time; resubmit to replace it",
            code="submission_conflict",
        ) from exc
    return SubmissionRead.model_validate(submission), True


def _visible_submission(db: Session, submission_id: uuid.UUID, user: User) -> Submission:
    submission = repository.get_submission(db, submission_id)
    if submission is None:
        raise SubmissionNotFound("Submission not found")
    if submission.student_id == user.id:
        return submission
    assignment = repository.get_assignment(db, submission.assignment_id)
    if assignment is None or not courses_access.grades_student(
        db, course_id=assignment.course_id, user=user, student_id=submission.student_id
    ):
        # Someone else's submission answers 404 so its existence does not leak.
        raise SubmissionNotFound("Submission not found")
    return submission


def get_submission(db: Session, *, submission_id: uuid.UUID, user: User) -> SubmissionRead:
    return SubmissionRead.model_validate(_visible_submission(db, submission_id, user))


def list_submissions(
    db: Session,
    *,
    assignment_id: uuid.UUID,
    user: User,
    status: SubmissionStatus | None,
    params: PageParams,
) -> Page[SubmissionRead]:
    assignment = repository.get_assignment(db, assignment_id)
    if assignment is None:
        raise AssignmentNotFound("Assignment not found")
    scope = courses_access.grading_scope(db, course_id=assignment.course_id, user=user)
    statement = repository.submissions_of_assignment(
        assignment.id, status.value if status else None, students=scope.student_ids()
    )
    rows, total = paginate(db, statement, params)
    return Page[SubmissionRead].build(
        [SubmissionRead.model_validate(row) for row in rows], total, params
    )


def my_submissions(
    db: Session, *, user: User, course_id: uuid.UUID | None, params: PageParams
) -> Page[SubmissionRead]:
    rows, total = paginate(db, repository.submissions_of_student(user.id, course_id), params)
    return Page[SubmissionRead].build(
        [SubmissionRead.model_validate(row) for row in rows], total, params
    )


def _submission_for_grader(
    db: Session, submission_id: uuid.UUID, user: User
) -> tuple[Submission, Assignment, Course]:
    submission = repository.get_submission(db, submission_id)
    assignment = repository.get_assignment(db, submission.assignment_id) if submission else None
    if submission is None or assignment is None:
        raise SubmissionNotFound("Submission not found")
    course = courses_access.require_grading(
        db, course_id=assignment.course_id, user=user, student_id=submission.student_id
    )
    return submission, assignment, course


def grade_submission(
    db: Session, *, submission_id: uuid.UUID, user: User, data: GradeIn
) -> SubmissionRead:
    submission, assignment, course = _submission_for_grader(db, submission_id, user)
    if data.grade > assignment.max_points:
        raise BusinessRuleViolation(
            f"The grade must be between 0 and {assignment.max_points}", code="grade_out_of_range"
        )
    submission.grade = data.grade
    submission.final_grade = apply_penalty(data.grade, submission.late_penalty_percent)
    submission.feedback = data.feedback
    submission.status = SubmissionStatus.GRADED.value
    submission.graded_at = utcnow()
    submission.graded_by_id = user.id
    db.flush()
    emit(
        db,
        "assignment.graded",
        {
            "submission_id": str(submission.id),
            "assignment_id": str(assignment.id),
            "student_id": str(submission.student_id),
            "grade": str(submission.final_grade),
        },
    )
    student = db.get(User, submission.student_id)
    if student is not None:
        notify(
            db,
            student,
            NotificationCategory.GRADES,
            Message(
                title=f"{assignment.title} was graded: {submission.final_grade}"
                f" / {assignment.max_points}",
                body=f"Your submission in {course.title} was graded.",
                template="assignment_graded",
                context={
                    "assignment_title": assignment.title,
                    "course_title": course.title,
                    "grade": str(submission.grade),
                    "final_grade": str(submission.final_grade),
                    "max_points": str(assignment.max_points),
                    "is_late": submission.is_late,
                    "late_penalty_percent": str(submission.late_penalty_percent),
                    "feedback": submission.feedback or "",
                },
            ),
        )
    return SubmissionRead.model_validate(submission)


def return_submission(
    db: Session, *, submission_id: uuid.UUID, user: User, data: ReturnIn
) -> SubmissionRead:
    """Send a submission back for another try (even past the due date); clears its grade."""
    submission, _assignment, _course = _submission_for_grader(db, submission_id, user)
    submission.status = SubmissionStatus.RETURNED.value
    submission.feedback = data.feedback
    submission.grade = None
    submission.final_grade = None
    submission.graded_at = None
    submission.graded_by_id = None
    db.flush()
    return SubmissionRead.model_validate(submission)


def grader_may_read_attachment(
    db: Session, *, file_id: uuid.UUID, uploader_id: uuid.UUID, user: User
) -> bool:
    """Whether `user` grades a submission of the uploader that carries this file."""
    wanted = str(file_id)
    return any(
        wanted in ids
        for ids in repository.attachment_lists_for_grader(db, student_id=uploader_id, grader=user)
    )
