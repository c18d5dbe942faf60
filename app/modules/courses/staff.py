"""A course's staff (owner, instructors, teaching assistants) and its cohorts.

The owner is the course's creator (`courses.instructor_id`) and manages the staff; the staff
routes give the instructor and teaching assistant roles only, so the owner can be neither
removed nor demoted here (transferring a course is not offered). What each role may do is
`access.CAPABILITIES`. Cohort membership requires an enrollment; a student is in at most one
cohort of a course, and putting them in another moves them.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy.orm import Session

from app.core.errors import BusinessRuleViolation, NotFound
from app.core.pagination import Page, PageParams, paginate_rows
from app.core.permissions import Role
from app.modules.courses import staff_repository as repository
from app.modules.courses.access import Capability, get_owned_course, grading_scope
from app.modules.courses.models import Cohort, CourseRole, CourseStaff
from app.modules.courses.staff_schemas import (
    AssignableRole,
    CohortCreate,
    CohortMemberRead,
    CohortMembersSet,
    CohortRead,
    CohortUpdate,
    StaffMember,
    StaffUpdate,
)
from app.modules.users.models import User


def _staff_member(row: CourseStaff, user: User, cohort_ids: list[uuid.UUID]) -> StaffMember:
    return StaffMember(
        user_id=user.id,
        full_name=user.full_name,
        email=user.email,
        role=row.role,
        cohort_ids=cohort_ids,
        added_at=row.added_at,
    )


def list_staff(
    db: Session, *, course_id: uuid.UUID, user: User, params: PageParams
) -> Page[StaffMember]:
    """The course's staff, for its staff and admins."""
    course = get_owned_course(db, course_id=course_id, user=user, capability=Capability.READ)
    rows, total = paginate_rows(db, repository.staff_of_course(course.id), params)
    taught = repository.taught_cohorts(db, course.id, [member.id for _row, member in rows])
    return Page[StaffMember].build(
        [_staff_member(row, member, taught[member.id]) for row, member in rows], total, params
    )


def _get_member(db: Session, course_id: uuid.UUID, user_id: uuid.UUID) -> StaffMember:
    row = repository.get_staff(db, course_id, user_id)
    member = db.get(User, user_id) if row is not None else None
    if row is None or member is None:
        raise NotFound("This user is not on the course's staff", code="staff_not_found")
    return _staff_member(row, member, repository.taught_cohorts(db, course_id, [user_id])[user_id])


def get_staff_member(
    db: Session, *, course_id: uuid.UUID, user_id: uuid.UUID, user: User
) -> StaffMember:
    course = get_owned_course(db, course_id=course_id, user=user, capability=Capability.OWNERSHIP)
    return _get_member(db, course.id, user_id)


def _refuse_owner(course_instructor_id: uuid.UUID, user_id: uuid.UUID) -> None:
    if course_instructor_id == user_id:
        raise BusinessRuleViolation(
            "The course's owner keeps the owner role: it cannot be removed or demoted here",
            code="owner_role_fixed",
        )


def set_staff_member(
    db: Session, *, course_id: uuid.UUID, user_id: uuid.UUID, user: User, data: StaffUpdate
) -> StaffMember:
    """Add a user to the staff or change their role and cohorts (the owner and admins)."""
    course = get_owned_course(
        db, course_id=course_id, user=user, capability=Capability.OWNERSHIP, for_update=True
    )
    _refuse_owner(course.instructor_id, user_id)
    member = db.get(User, user_id)
    if member is None:
        raise NotFound("User not found", code="user_not_found")
    if member.role != Role.INSTRUCTOR.value or not member.is_active:
        raise BusinessRuleViolation(
            "Course staff are active instructor accounts", code="not_an_instructor"
        )
    cohort_ids = list(dict.fromkeys(data.cohort_ids))
    if cohort_ids and data.role is not AssignableRole.TEACHING_ASSISTANT:
        raise BusinessRuleViolation(
            "Only teaching assistants are assigned to cohorts", code="cohorts_for_assistants"
        )
    unknown = set(cohort_ids) - repository.cohort_ids_in_course(db, course.id, cohort_ids)
    if unknown:
        raise BusinessRuleViolation(
            "These cohorts are not cohorts of this course: "
            + ", ".join(sorted(str(cohort_id) for cohort_id in unknown)),
            code="cohort_not_in_course",
            extra={"cohort_ids": sorted(str(cohort_id) for cohort_id in unknown)},
        )
    row = repository.get_staff(db, course.id, user_id)
    if row is None:
        row = CourseStaff(course_id=course.id, user_id=user_id, role=data.role.value)
        db.add(row)
    else:
        row.role = data.role.value
    db.flush()
    repository.set_taught_cohorts(db, course_id=course.id, user_id=user_id, cohort_ids=cohort_ids)
    return _get_member(db, course.id, user_id)


def remove_staff_member(
    db: Session, *, course_id: uuid.UUID, user_id: uuid.UUID, user: User
) -> None:
    course = get_owned_course(
        db, course_id=course_id, user=user, capability=Capability.OWNERSHIP, for_update=True
    )
    _refuse_owner(course.instructor_id, user_id)
    row = repository.get_staff(db, course.id, user_id)
    if row is None or row.role == CourseRole.OWNER.value:
        raise NotFound("This user is not on the course's staff", code="staff_not_found")
    repository.set_taught_cohorts(db, course_id=course.id, user_id=user_id, cohort_ids=())
    db.delete(row)
    db.flush()


# --- cohorts -------------------------------------------------------------------------------


def _cohort_read(cohort: Cohort, member_count: int) -> CohortRead:
    return CohortRead.model_validate(
        {
            **{
                name: getattr(cohort, name)
                for name in CohortRead.model_fields
                if name != "member_count"
            },
            "member_count": member_count,
        }
    )


def get_course_cohort(db: Session, *, course_id: uuid.UUID, cohort_id: uuid.UUID) -> Cohort:
    """The cohort when it belongs to the course (404 otherwise)."""
    cohort = repository.get_cohort(db, cohort_id)
    if cohort is None or cohort.course_id != course_id:
        raise NotFound("Cohort not found", code="cohort_not_found")
    return cohort


def _read_cohort(db: Session, cohort_id: uuid.UUID) -> CohortRead:
    found = repository.cohort_with_count(db, cohort_id)
    if found is None:
        raise NotFound("Cohort not found", code="cohort_not_found")
    return _cohort_read(*found)


def list_cohorts(
    db: Session, *, course_id: uuid.UUID, user: User, params: PageParams
) -> Page[CohortRead]:
    course = get_owned_course(db, course_id=course_id, user=user, capability=Capability.READ)
    rows, total = paginate_rows(db, repository.cohorts_of_course(course.id), params)
    return Page[CohortRead].build(
        [_cohort_read(cohort, int(count)) for cohort, count in rows], total, params
    )


def get_cohort(
    db: Session, *, course_id: uuid.UUID, cohort_id: uuid.UUID, user: User
) -> CohortRead:
    course = get_owned_course(db, course_id=course_id, user=user, capability=Capability.READ)
    return _read_cohort(db, get_course_cohort(db, course_id=course.id, cohort_id=cohort_id).id)


def create_cohort(
    db: Session, *, course_id: uuid.UUID, user: User, data: CohortCreate
) -> CohortRead:
    course = get_owned_course(db, course_id=course_id, user=user, capability=Capability.ENROLLMENTS)
    cohort = Cohort(course_id=course.id, **data.model_dump())
    db.add(cohort)
    db.flush()
    return _cohort_read(cohort, 0)


def update_cohort(
    db: Session, *, course_id: uuid.UUID, cohort_id: uuid.UUID, user: User, data: CohortUpdate
) -> CohortRead:
    course = get_owned_course(db, course_id=course_id, user=user, capability=Capability.ENROLLMENTS)
    cohort = get_course_cohort(db, course_id=course.id, cohort_id=cohort_id)
    changes = data.model_dump(exclude_unset=True)
    starts = changes.get("starts_at", cohort.starts_at)
    ends = changes.get("ends_at", cohort.ends_at)
    if starts is not None and ends is not None and ends < starts:
        raise BusinessRuleViolation(
            "ends_at must not be before starts_at", code="cohort_ends_before_start"
        )
    for name, value in changes.items():
        setattr(cohort, name, value)
    db.flush()
    return _read_cohort(db, cohort.id)


def delete_cohort(db: Session, *, course_id: uuid.UUID, cohort_id: uuid.UUID, user: User) -> None:
    """Delete a cohort; its students stay enrolled, in no cohort."""
    course = get_owned_course(db, course_id=course_id, user=user, capability=Capability.ENROLLMENTS)
    db.delete(get_course_cohort(db, course_id=course.id, cohort_id=cohort_id))
    db.flush()


def list_members(
    db: Session, *, course_id: uuid.UUID, cohort_id: uuid.UUID, user: User, params: PageParams
) -> Page[CohortMemberRead]:
    """A cohort's members, for whoever grades that cohort (its teaching assistants too)."""
    grading_scope(db, course_id=course_id, user=user, cohort_id=cohort_id)
    rows, total = paginate_rows(db, repository.members_of_cohort(cohort_id), params)
    return Page[CohortMemberRead].build(
        [CohortMemberRead.model_validate(row._mapping) for row in rows], total, params
    )


def place_students(db: Session, *, cohort: Cohort, student_ids: Collection[uuid.UUID]) -> None:
    """Put enrolled students in `cohort`, moving them from another cohort of its course."""
    repository.place_in_cohort(db, cohort=cohort, student_ids=student_ids)


def set_members(
    db: Session, *, course_id: uuid.UUID, cohort_id: uuid.UUID, user: User, data: CohortMembersSet
) -> CohortRead:
    """Make the cohort's members exactly `student_ids`, all or nothing: an id not enrolled in
    the course is a 422 naming it, and nothing changes."""
    course = get_owned_course(db, course_id=course_id, user=user, capability=Capability.ENROLLMENTS)
    cohort = get_course_cohort(db, course_id=course.id, cohort_id=cohort_id)
    student_ids = list(dict.fromkeys(data.student_ids))
    missing = set(student_ids) - repository.enrolled_among(db, course.id, student_ids)
    if missing:
        named = sorted(str(student_id) for student_id in missing)
        raise BusinessRuleViolation(
            "Not enrolled in this course: " + ", ".join(named),
            code="student_not_enrolled",
            extra={"student_ids": named},
        )
    repository.remove_other_members(db, cohort_id=cohort.id, keep=student_ids)
    place_students(db, cohort=cohort, student_ids=student_ids)
    return _read_cohort(db, cohort.id)
