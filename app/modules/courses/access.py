"""Who may read or manage a course and its content: the one place the rule is written.

A course's staff have roles (`CourseRole`: its owner, `courses.instructor_id`; instructors;
teaching assistants) and each role a set of capabilities (`CAPABILITIES`); admins have every
capability on every course. A guard names the capability it checks:

- `READ`: drafts, every item and material of the course (all staff);
- `GRADE`: submissions, quiz attempts, the gradebook (all staff; a teaching assistant assigned
  to cohorts grades and sees only the students of those cohorts, see `grading_scope`);
- `CONTENT`: the course, its lessons, quizzes, assignments and files (owner, instructors);
- `ENROLLMENTS`: the roster, enrolling and dropping students, cohorts, course statistics and
  analytics (owner, instructors);
- `OWNERSHIP`: the course's staff, deleting or archiving the course (the owner).

The guards (`manages`, `require_course_capability`, `get_owned_course`, `get_visible_course`,
`manages_course`, `course_access`, `may_read_content`, `grading_scope`) answer for one course;
`managed_course_ids` and `graded_course_ids` are the same rules as SQL filters for queries over
many. Every module asks here rather than comparing `Course.instructor_id` itself.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, literal, or_, select
from sqlalchemy.orm import Session

from app.core.errors import NotFound, PermissionDenied
from app.core.permissions import Role
from app.modules.courses import repository
from app.modules.courses.models import (
    CohortMember,
    CohortStaff,
    Course,
    CourseRole,
    CourseStaff,
)
from app.modules.users.models import User


class Capability(StrEnum):
    READ = "read"
    GRADE = "grade"
    CONTENT = "content"
    ENROLLMENTS = "enrollments"
    OWNERSHIP = "ownership"


CAPABILITIES: dict[CourseRole, frozenset[Capability]] = {
    CourseRole.OWNER: frozenset(Capability),
    CourseRole.INSTRUCTOR: frozenset(
        {Capability.READ, Capability.GRADE, Capability.CONTENT, Capability.ENROLLMENTS}
    ),
    CourseRole.TEACHING_ASSISTANT: frozenset({Capability.READ, Capability.GRADE}),
}

_DENIED = {
    Capability.READ: "Only the course's staff or an admin can do this",
    Capability.GRADE: "Only the course's staff or an admin can do this",
    Capability.CONTENT: "Only the course's owner, its instructors or an admin can do this",
    Capability.ENROLLMENTS: "Only the course's owner, its instructors or an admin can do this",
    Capability.OWNERSHIP: "Only the course's owner or an admin can do this",
}


def _is_admin(user: User | None) -> bool:
    return user is not None and user.role == Role.ADMIN.value


def roles_with(capability: Capability) -> list[str]:
    """The course roles that carry `capability`."""
    return [role.value for role, granted in CAPABILITIES.items() if capability in granted]


def is_public(course: Course) -> bool:
    """In the catalogue: published and not archived."""
    return course.is_published and course.archived_at is None


def _role(course: Course, user: User | None, staff_role: str | None) -> CourseRole | None:
    """The user's role in the course, given their `course_staff` role there (if any)."""
    if user is None:
        return None
    if course.instructor_id == user.id:
        return CourseRole.OWNER
    return CourseRole(staff_role) if staff_role is not None else None


def _staff_role(course_id: Any, user_id: uuid.UUID) -> Select[str]:
    """The user's `course_staff` role in `course_id` (a value or a column)."""
    return select(CourseStaff.role).where(
        CourseStaff.course_id == course_id, CourseStaff.user_id == user_id
    )


def course_role(db: Session, course: Course, user: User | None) -> CourseRole | None:
    """The user's role in the course (None: not on its staff)."""
    if user is None or course.instructor_id == user.id:
        return _role(course, user, None)
    return _role(course, user, db.scalar(_staff_role(course.id, user.id)))


def _granted(user: User | None, role: CourseRole | None, capability: Capability) -> bool:
    """Whether a user with `role` in a course (None: not on its staff) has `capability`."""
    if user is None:
        return False
    return _is_admin(user) or (role is not None and capability in CAPABILITIES[role])


def manages(db: Session, course: Course, user: User | None, capability: Capability) -> bool:
    """The guard: whether `user` has `capability` on `course` (by their role, or an admin)."""
    role = None if user is None or _is_admin(user) else course_role(db, course, user)
    return _granted(user, role, capability)


def require_course_capability(
    db: Session, course: Course, user: User, capability: Capability
) -> None:
    """PermissionDenied unless `user` has `capability` on `course`."""
    if not manages(db, course, user, capability):
        raise PermissionDenied(_DENIED[capability])


def managed_course_ids(user_id: uuid.UUID, capability: Capability) -> Select[uuid.UUID]:
    """The SQL filter: the ids of the courses where `user_id` has `capability` (what `manages`
    answers for a non-admin), for `Course.id.in_(...)` in list and aggregate queries."""
    staffed = select(CourseStaff.course_id).where(
        CourseStaff.user_id == user_id, CourseStaff.role.in_(roles_with(capability))
    )
    return select(Course.id).where(or_(Course.instructor_id == user_id, Course.id.in_(staffed)))


def course_staff_ids(course_id: Any, capability: Capability) -> Select[uuid.UUID]:
    """The SQL filter: the ids of the users with `capability` on the course (its owner and
    its staff in a role that grants it; admins aside), for `User.id.in_(...)`."""
    owner = select(Course.instructor_id).where(Course.id == course_id)
    staff = select(CourseStaff.user_id).where(
        CourseStaff.course_id == course_id, CourseStaff.role.in_(roles_with(capability))
    )
    return owner.union(staff)  # type: ignore[return-value]


def _teaches_cohorts(user_id: uuid.UUID, course_id: Any) -> ColumnElement[bool]:
    """Whether `user_id` is assigned to cohorts of the course `course_id` (a column)."""
    return (
        exists()
        .where(CohortStaff.user_id == user_id, CohortStaff.course_id == course_id)
        .correlate(CourseStaff)
    )


def graded_course_ids(user_id: uuid.UUID, student_id: uuid.UUID) -> Select[uuid.UUID]:
    """The SQL filter: the courses where `user_id` may grade `student_id` (every course where
    they grade, except where they are a teaching assistant of cohorts the student is not in)."""
    in_their_cohort = (
        exists()
        .where(
            CohortStaff.user_id == user_id,
            CohortStaff.course_id == CourseStaff.course_id,
            CohortMember.cohort_id == CohortStaff.cohort_id,
            CohortMember.student_id == student_id,
        )
        .correlate(CourseStaff)
    )
    staffed = select(CourseStaff.course_id).where(
        CourseStaff.user_id == user_id,
        CourseStaff.role.in_(roles_with(Capability.GRADE)),
        or_(
            CourseStaff.role != CourseRole.TEACHING_ASSISTANT.value,
            ~_teaches_cohorts(user_id, CourseStaff.course_id),
            in_their_cohort,
        ),
    )
    return select(Course.id).where(or_(Course.instructor_id == user_id, Course.id.in_(staffed)))


def get_owned_course(
    db: Session,
    *,
    course_id: uuid.UUID,
    user: User,
    capability: Capability,
    for_update: bool = False,
) -> Course:
    """The course, for a user with `capability` on it only (row-locked with `for_update`)."""
    course = repository.get_course(db, course_id, for_update=for_update)
    if course is None:
        raise NotFound("Course not found", code="course_not_found")
    require_course_capability(db, course, user, capability)
    return course


def get_visible_course(db: Session, *, course_id: uuid.UUID, user: User | None) -> Course:
    """Published courses for anyone; drafts and archived courses for its staff and admins."""
    course = repository.get_course(db, course_id)
    if course is None or not (is_public(course) or manages(db, course, user, Capability.READ)):
        # Drafts answer 404, not 403, so their existence does not leak.
        raise NotFound("Course not found", code="course_not_found")
    return course


def manages_course(
    db: Session, *, course_id: uuid.UUID, user: User, capability: Capability
) -> bool:
    """Whether `user` has `capability` on the course (False for no such course)."""
    course = repository.get_course(db, course_id)
    return course is not None and manages(db, course, user, capability)


@dataclass(frozen=True)
class GradingScope:
    """Whose work a grader sees in one course: every student, or those of some cohorts."""

    course: Course
    cohort_ids: frozenset[uuid.UUID] | None  # None: every student of the course

    def student_ids(self) -> Select[uuid.UUID] | None:
        """The SQL filter of the students in scope (None: no filter)."""
        if self.cohort_ids is None:
            return None
        return select(CohortMember.student_id).where(
            CohortMember.cohort_id.in_(sorted(self.cohort_ids))
        )

    def includes(self, db: Session, student_id: uuid.UUID) -> bool:
        students = self.student_ids()
        if students is None:
            return True
        return bool(
            db.scalar(select(exists(students.where(CohortMember.student_id == student_id))))
        )


def grading_scope(
    db: Session, *, course_id: uuid.UUID, user: User, cohort_id: uuid.UUID | None = None
) -> GradingScope:
    """The students `user` grades in the course, narrowed to `cohort_id` when given (a cohort
    of another course answers 404; one a cohort-bound teaching assistant does not teach, 403)."""
    course = get_owned_course(db, course_id=course_id, user=user, capability=Capability.GRADE)
    assigned: frozenset[uuid.UUID] | None = None
    if not _is_admin(user) and course_role(db, course, user) is CourseRole.TEACHING_ASSISTANT:
        taught = frozenset(
            db.scalars(
                select(CohortStaff.cohort_id).where(
                    CohortStaff.course_id == course.id, CohortStaff.user_id == user.id
                )
            )
        )
        assigned = taught or None
    if cohort_id is None:
        return GradingScope(course=course, cohort_ids=assigned)
    if not repository.cohort_in_course(db, course_id=course.id, cohort_id=cohort_id):
        raise NotFound("Cohort not found", code="cohort_not_found")
    if assigned is not None and cohort_id not in assigned:
        raise PermissionDenied("You do not teach this cohort", code="cohort_not_assigned")
    return GradingScope(course=course, cohort_ids=frozenset({cohort_id}))


def require_grading(
    db: Session, *, course_id: uuid.UUID, user: User, student_id: uuid.UUID
) -> Course:
    """The course, when `user` may grade `student_id`'s work in it (PermissionDenied else)."""
    scope = grading_scope(db, course_id=course_id, user=user)
    if not scope.includes(db, student_id):
        raise PermissionDenied(
            "This student is not in a cohort you teach", code="cohort_not_assigned"
        )
    return scope.course


def grades_student(db: Session, *, course_id: uuid.UUID, user: User, student_id: uuid.UUID) -> bool:
    """Whether `user` may grade (and so read) `student_id`'s work in the course."""
    course = repository.get_course(db, course_id)
    if course is None or not manages(db, course, user, Capability.GRADE):
        return False
    return grading_scope(db, course_id=course.id, user=user).includes(db, student_id)


@dataclass(frozen=True)
class CourseAccess:
    """What a viewer may read of a course's items: its lessons, quizzes and assignments."""

    course: Course
    manager: bool  # its staff or an admin: drafts too, and every item
    enrolled: bool  # an active or completed enrollment: every published item

    def may_read(self, *, preview: bool) -> bool:
        """Whether the viewer may read an item's content (a preview is open to visitors)."""
        return self.manager or self.enrolled or preview

    def require(self, *, preview: bool) -> None:
        if not self.may_read(preview=preview):
            raise PermissionDenied("Enroll in the course to read this", code="enrollment_required")


def _viewed_course(course_id: uuid.UUID, user: User | None) -> Select[Course, Any, Any]:
    """The course with the viewer's staff role in it and whether they are enrolled in it, in
    one statement (what `course_role` and `repository.is_enrolled` answer)."""
    if user is None:
        return select(Course, literal(None), literal(False)).where(Course.id == course_id)
    staff_role = _staff_role(Course.id, user.id).scalar_subquery()
    enrolled = repository.enrolled_filter(student_id=user.id, course_id=Course.id)
    return select(Course, staff_role, exists().where(enrolled)).where(Course.id == course_id)


def course_access(db: Session, *, course_id: uuid.UUID, user: User | None) -> CourseAccess:
    """The one rule for reading a course's items (lessons, quizzes, assignments alike).

    Its staff and admins read everything; an enrolled student reads the published items, also
    once the course has left the catalogue; anyone else sees a catalogue course's outline and
    its previews only (`CourseAccess.require` answers 403 for the rest), and nothing of a
    course outside the catalogue (404, so drafts do not leak).
    """
    found = db.execute(_viewed_course(course_id, user)).one_or_none()
    if found is None:
        raise NotFound("Course not found", code="course_not_found")
    course, staff_role, enrolled = found
    if _granted(user, _role(course, user, staff_role), Capability.READ):
        return CourseAccess(course=course, manager=True, enrolled=False)
    enrolled = bool(enrolled)
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
    (active or completed; a dropped one loses access), its staff or an admin."""
    if repository.is_enrolled(db, student_id=user.id, course_id=course_id):
        return True
    return manages_course(db, course_id=course_id, user=user, capability=Capability.READ)
