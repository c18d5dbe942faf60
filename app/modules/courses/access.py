"""Who may read or manage a course and its content: the one place the rule is written.

The guards (`manages`, `get_owned_course`, `get_visible_course`, `course_access`,
`may_read_content`) answer for one course; `managed_course_ids` is the same rule as a SQL
filter for queries over many. Every module asks here rather than comparing
`Course.instructor_id` itself.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.core.errors import NotFound, PermissionDenied
from app.core.permissions import Role
from app.modules.courses import repository
from app.modules.courses.models import Course
from app.modules.users.models import User


def _is_admin(user: User | None) -> bool:
    return user is not None and user.role == Role.ADMIN.value


def is_public(course: Course) -> bool:
    """In the catalogue: published and not archived."""
    return course.is_published and course.archived_at is None


def manages(course: Course, user: User | None) -> bool:
    """The guard: whether `user` manages `course` (its instructor, or an admin)."""
    return user is not None and (course.instructor_id == user.id or _is_admin(user))


def managed_course_ids(user_id: uuid.UUID) -> Select[uuid.UUID]:
    """The SQL filter: the ids of the courses `user_id` teaches (what `manages` answers for a
    non-admin), for `Course.id.in_(...)` in list and aggregate queries."""
    return select(Course.id).where(Course.instructor_id == user_id)


def get_owned_course(
    db: Session, *, course_id: uuid.UUID, user: User, for_update: bool = False
) -> Course:
    """The course, for its instructor or an admin only (row-locked with `for_update`)."""
    course = repository.get_course(db, course_id, for_update=for_update)
    if course is None:
        raise NotFound("Course not found", code="course_not_found")
    if not manages(course, user):
        raise PermissionDenied("Only the course's instructor or an admin can do this")
    return course


def get_visible_course(db: Session, *, course_id: uuid.UUID, user: User | None) -> Course:
    """Published courses for anyone; drafts and archived courses for the owner and admins."""
    course = repository.get_course(db, course_id)
    if course is None or not (is_public(course) or manages(course, user)):
        # Drafts answer 404, not 403, so their existence does not leak.
        raise NotFound("Course not found", code="course_not_found")
    return course


def manages_course(db: Session, *, course_id: uuid.UUID, user: User) -> bool:
    """Whether `user` is the course's instructor or an admin (False for no such course)."""
    course = repository.get_course(db, course_id)
    return course is not None and manages(course, user)


@dataclass(frozen=True)
class CourseAccess:
    """What a viewer may read of a course's items: its lessons, quizzes and assignments."""

    course: Course
    manager: bool  # the instructor or an admin: drafts too, and every item
    enrolled: bool  # an active or completed enrollment: every published item

    def may_read(self, *, preview: bool) -> bool:
        """Whether the viewer may read an item's content (a preview is open to visitors)."""
        return self.manager or self.enrolled or preview

    def require(self, *, preview: bool) -> None:
        if not self.may_read(preview=preview):
            raise PermissionDenied("Enroll in the course to read this", code="enrollment_required")


def course_access(db: Session, *, course_id: uuid.UUID, user: User | None) -> CourseAccess:
    """The one rule for reading a course's items (lessons, quizzes, assignments alike).

    The instructor and admins read everything; an enrolled student reads the published
    items, also once the course has left the catalogue; anyone else sees a catalogue
    course's outline and its previews only (`CourseAccess.require` answers 403 for the
    rest), and nothing of a course outside the catalogue (404, so drafts do not leak).
    """
    course = repository.get_course(db, course_id)
    if course is None:
        raise NotFound("Course not found", code="course_not_found")
    if manages(course, user):
        return CourseAccess(course=course, manager=True, enrolled=False)
    enrolled = user is not None and repository.is_enrolled(
        db, student_id=user.id, course_id=course.id
    )
    if not (enrolled or is_public(course)):
        raise NotFound("Course not found", code="course_not_found")
    return CourseAccess(course=course, manager=False, enrolled=enrolled)


# A quiz or assignment attached to a published preview lesson is a preview too.


def readable_item_lessons(db: Session, access: CourseAccess) -> list[uuid.UUID] | None:
    """For listing a course's quizzes or assignments: None when the viewer may read them all,
    else the preview lessons whose items they may read."""
    if access.may_read(preview=False):
        return None
    return repository.preview_lesson_ids(db, access.course.id)


def require_item_access(db: Session, access: CourseAccess, *, lesson_id: uuid.UUID | None) -> None:
    """PermissionDenied unless the viewer may read a quiz or assignment attached to
    `lesson_id` (None: attached to no lesson)."""
    readable = readable_item_lessons(db, access)
    access.require(preview=readable is None or (lesson_id is not None and lesson_id in readable))


def may_read_content(db: Session, *, course_id: uuid.UUID, user: User) -> bool:
    """Whether `user` may read the course's content and materials: a student enrolled in it
    (active or completed; a dropped one loses access), its instructor or an admin."""
    if repository.is_enrolled(db, student_id=user.id, course_id=course_id):
        return True
    return manages_course(db, course_id=course_id, user=user)
