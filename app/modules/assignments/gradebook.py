"""The gradebook: one row per enrolled student, one column per published graded quiz and
published assignment, and the course grade.

- A quiz cell is the student's best graded attempt (highest score after its late penalty); an
  assignment cell is the graded submission's final grade (after any late penalty). Ungraded
  items are empty.
- An LTI line item cell is the tool's fully graded score, scaled to the line item's maximum
  (AGS scores, read through `app.modules.lti.grades`).
- The course grade is the points earned over the points possible across the graded cells
  only (a "current grade": nothing counts until it is graded), as a percentage.
- Everything is computed in SQL over one UNION of graded items; the CSV export streams the
  same rows in batches from its own session, so a large course never sits in memory.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.orm import Session

from app.core.database import session_scope
from app.core.errors import NotFound
from app.core.pagination import PageParams, paginate_rows
from app.modules.assignments import gradebook_repository as repository
from app.modules.assignments.schemas import (
    EnrollmentGradeItem,
    EnrollmentGrades,
    Gradebook,
    GradebookColumn,
    GradebookRow,
    GradeCell,
)
from app.modules.courses import access as courses_access
from app.modules.courses.models import ItemKind
from app.modules.enrollments.models import Enrollment
from app.modules.lti import grades as lti_grades
from app.modules.users.models import User

CSV_BATCH = 500
TWO_PLACES = Decimal("0.01")


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def _percentage(earned: Any, possible: Any) -> Decimal | None:
    if earned is None or possible is None or _decimal(possible) == 0:
        return None
    return (_decimal(earned) * 100 / _decimal(possible)).quantize(TWO_PLACES, ROUND_HALF_UP)


def _columns(db: Session, course_id: uuid.UUID) -> list[GradebookColumn]:
    return (
        [
            GradebookColumn(
                id=row.id,
                kind="quiz",
                title=row.title,
                max_points=_decimal(row.max_points).quantize(TWO_PLACES),
            )
            for row in repository.quiz_columns(db, course_id)
        ]
        + [
            GradebookColumn(
                id=row.id,
                kind="assignment",
                title=row.title,
                due_at=row.due_at,
                max_points=row.max_points,
            )
            for row in repository.assignment_columns(db, course_id)
        ]
        + [
            GradebookColumn(
                id=row.id,
                kind="lti",
                title=row.label,
                max_points=_decimal(row.score_maximum).quantize(TWO_PLACES),
            )
            for row in lti_grades.line_item_columns(db, course_id)
        ]
    )


@dataclass(frozen=True)
class _Grades:
    cells: dict[tuple[uuid.UUID, uuid.UUID], GradeCell]
    course_grades: dict[uuid.UUID, Decimal | None]


def _grades_for(db: Session, course_id: uuid.UUID, enrollment_ids: Sequence[uuid.UUID]) -> _Grades:
    if not enrollment_ids:
        return _Grades({}, {})
    cells_rows, totals = repository.grade_cells(db, course_id, enrollment_ids)
    cells: dict[tuple[uuid.UUID, uuid.UUID], GradeCell] = {}
    for row in cells_rows:
        percentage = _percentage(row.earned, row.possible)
        if percentage is not None:
            cells[(row.enrollment_id, row.item_id)] = GradeCell(
                score=_decimal(row.earned), max_score=_decimal(row.possible), percentage=percentage
            )
    course_grades = {row.enrollment_id: _percentage(row.earned, row.possible) for row in totals}
    return _Grades(cells, course_grades)


def _rows(
    db: Session, course_id: uuid.UUID, columns: list[GradebookColumn], students: Sequence[Any]
) -> list[GradebookRow]:
    grades = _grades_for(db, course_id, [student.enrollment_id for student in students])
    return [
        GradebookRow(
            enrollment_id=student.enrollment_id,
            student_id=student.student_id,
            student_name=student.full_name,
            student_email=student.email,
            enrollment_status=student.status,
            grades=[grades.cells.get((student.enrollment_id, column.id)) for column in columns],
            course_grade=grades.course_grades.get(student.enrollment_id),
        )
        for student in students
    ]


# --- service -------------------------------------------------------------------------------


def gradebook(
    db: Session,
    *,
    course_id: uuid.UUID,
    user: User,
    params: PageParams,
    cohort_id: uuid.UUID | None = None,
) -> Gradebook:
    """The students the grader sees (`courses_access.grading_scope`), of `cohort_id` if given."""
    scope = courses_access.grading_scope(db, course_id=course_id, user=user, cohort_id=cohort_id)
    columns = _columns(db, course_id)
    students, total = paginate_rows(db, repository.students(course_id, scope.student_ids()), params)
    return Gradebook(
        course_id=course_id,
        columns=columns,
        items=_rows(db, course_id, columns, students),
        total=total,
        page=params.page,
        page_size=params.page_size,
        pages=params.pages(total),
    )


def _csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A leading =, +, - or @ makes spreadsheets evaluate the cell as a formula.
    return "'" + text if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text


def _csv_line(values: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([_csv_cell(value) for value in values])
    return buffer.getvalue()


def gradebook_csv(
    db: Session, *, course_id: uuid.UUID, user: User, cohort_id: uuid.UUID | None = None
) -> Iterator[str]:
    """Check access now; the returned iterator streams the CSV from its own session."""
    scope = courses_access.grading_scope(db, course_id=course_id, user=user, cohort_id=cohort_id)

    def stream() -> Iterator[str]:
        with session_scope() as session:
            columns = _columns(session, course_id)
            yield _csv_line(
                ["student_name", "student_email", "enrollment_status"]
                + [f"{column.title} ({column.kind}, %)" for column in columns]
                + ["course_grade (%)"]
            )
            offset = 0
            while True:
                students = repository.student_batch(
                    session, course_id, scope.student_ids(), limit=CSV_BATCH, offset=offset
                )
                if not students:
                    return
                for row in _rows(session, course_id, columns, students):
                    yield _csv_line(
                        [row.student_name, row.student_email, row.enrollment_status]
                        + [cell.percentage if cell else None for cell in row.grades]
                        + [row.course_grade]
                    )
                offset += CSV_BATCH

    return stream()


def enrollment_grades(db: Session, *, enrollment_id: uuid.UUID, user: User) -> EnrollmentGrades:
    """A student's own grades in a course (also for the course's instructor and admins).
    The student is not shown ungraded work they cannot see yet (in an unpublished section);
    what was graded stays, since it counts in their course grade."""
    enrollment = db.get(Enrollment, enrollment_id)
    if enrollment is None:
        raise NotFound("Enrollment not found", code="enrollment_not_found")
    own = enrollment.student_id == user.id
    grader = not own and courses_access.grades_student(
        db, course_id=enrollment.course_id, user=user, student_id=enrollment.student_id
    )
    if not (grader or own):
        raise NotFound("Enrollment not found", code="enrollment_not_found")
    columns = _columns(db, enrollment.course_id)
    grades = _grades_for(db, enrollment.course_id, [enrollment.id])
    if not grader:
        shown = {
            target_id
            for kind in (ItemKind.QUIZ, ItemKind.ASSIGNMENT)
            for target_id in repository.shown_to_students_of(
                db, kind, [column.id for column in columns if column.kind == kind.value]
            )
        }
        columns = [
            column
            for column in columns
            if column.kind == "lti"
            or column.id in shown
            or (enrollment.id, column.id) in grades.cells
        ]
    return EnrollmentGrades(
        enrollment_id=enrollment.id,
        course_id=enrollment.course_id,
        items=[
            EnrollmentGradeItem(
                **column.model_dump(), grade=grades.cells.get((enrollment.id, column.id))
            )
            for column in columns
        ],
        course_grade=grades.course_grades.get(enrollment.id),
    )
