"""Reference data (orgs, academic sessions, OneRoster courses), classes (which become
courses) and enrollments (a student's enrollment, or the class's teacher)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import datetime

from app.core.database import utcnow
from app.core.permissions import Role
from app.modules.courses.models import Course, Enrollment, EnrollmentStatus
from app.modules.courses.service import slugify
from app.modules.rostering import repository
from app.modules.rostering.models import SourceKind
from app.modules.rostering.run import Counts, Handler, ImportRun, Prepared, forget, remember

ENROLLMENT_ROLES = ("student", "teacher")
ORG_TYPES = ("department", "district", "local", "national", "school", "state")
SESSION_TYPES = ("gradingPeriod", "semester", "schoolYear", "term")


# --- reference data: orgs, academic sessions, OneRoster courses --------------------------


def reference(
    kind: str,
    fields: tuple[str, ...],
    check: Callable[[ImportRun, list[Prepared]], dict[int, str]],
) -> Handler:
    def handle(run: ImportRun, items: list[Prepared], counts: Counts) -> dict[int, str]:
        refused = check(run, items)
        gone = []
        for item in items:
            if item.row.line in refused:
                continue
            if item.deleting:
                if item.source is not None:
                    gone.append(item)
                    counts.deleted += 1
                else:
                    counts.skipped += 1
                continue
            data = {name: item.row.get(name) for name in fields}
            if item.source is None:
                counts.created += 1
            else:
                counts.updated += 1
            run.declare(kind, item.sourced_id)
            if not run.dry_run:
                remember(run, kind, item, data=data)
        if not run.dry_run:
            forget(run, gone)
        return refused

    return handle


def check_orgs(run: ImportRun, items: list[Prepared]) -> dict[int, str]:
    refused: dict[int, str] = {}
    for item in items:
        if item.deleting:
            continue
        if not item.row.get("name"):
            refused[item.row.line] = "name is required"
        elif item.row.get("type") not in ORG_TYPES:
            refused[item.row.line] = f"type must be one of {', '.join(ORG_TYPES)}"
    return refused


def check_sessions(run: ImportRun, items: list[Prepared]) -> dict[int, str]:
    refused: dict[int, str] = {}
    for item in items:
        if item.deleting:
            continue
        row = item.row
        if not row.get("title"):
            refused[row.line] = "title is required"
        elif row.get("type") not in SESSION_TYPES:
            refused[row.line] = f"type must be one of {', '.join(SESSION_TYPES)}"
        else:
            try:
                if datetime.fromisoformat(row.get("endDate")) < datetime.fromisoformat(
                    row.get("startDate")
                ):
                    refused[row.line] = "endDate is before startDate"
            except ValueError:
                refused[row.line] = "startDate and endDate must be ISO 8601 dates"
    return refused


def check_courses(run: ImportRun, items: list[Prepared]) -> dict[int, str]:
    orgs = run.known(SourceKind.ORG, (i.row.get("orgSourcedId") for i in items))
    refused: dict[int, str] = {}
    for item in items:
        if item.deleting:
            continue
        if not item.row.get("title"):
            refused[item.row.line] = "title is required"
        elif item.row.get("orgSourcedId") not in orgs:
            refused[item.row.line] = f"orgSourcedId {item.row.get('orgSourcedId')} is unknown"
    return refused


# --- classes and enrollments --------------------------------------------------------------


def _slug(title: str, sourced_id: str) -> str:
    suffix = hashlib.sha256(sourced_id.encode()).hexdigest()[:10]
    return f"{(slugify(title) or 'class')[:200]}-{suffix}"


def classes(run: ImportRun, items: list[Prepared], counts: Counts) -> dict[int, str]:
    refused: dict[int, str] = {}
    courses = run.known(SourceKind.COURSE, (i.row.get("courseSourcedId") for i in items))
    orgs = run.known(SourceKind.ORG, (i.row.get("schoolSourcedId") for i in items))
    local = repository.courses_by_id(
        run.db, {i.source.local_id for i in items if i.source and i.source.local_id}
    )
    instructor = run.record.created_by_id
    now = utcnow()
    gone: list[Prepared] = []
    fresh: list[tuple[Prepared, Course]] = []
    for item in items:
        row = item.row
        course = local.get(item.source.local_id) if item.source and item.source.local_id else None
        if item.deleting:
            if course is None:
                counts.skipped += 1
                continue
            if not run.dry_run:
                course.archived_at = course.archived_at or now
                course.is_published = False
            gone.append(item)
            counts.deleted += 1
            continue
        title = row.get("title")
        if not title or len(title) > 200:
            refused[row.line] = "title must be 1 to 200 characters"
            continue
        if row.get("courseSourcedId") not in courses:
            refused[row.line] = f"courseSourcedId {row.get('courseSourcedId')} is unknown"
            continue
        if row.get("schoolSourcedId") not in orgs:
            refused[row.line] = f"schoolSourcedId {row.get('schoolSourcedId')} is unknown"
            continue
        if course is None and instructor is None:
            refused[row.line] = "the importing account no longer exists to own the class"
            continue
        reference = courses.get(row.get("courseSourcedId"))
        oneroster = {
            "classSourcedId": item.sourced_id,
            "courseSourcedId": row.get("courseSourcedId"),
            "schoolSourcedId": row.get("schoolSourcedId"),
            "termSourcedIds": [t.strip() for t in row.get("termSourcedIds").split(",") if t],
            "classCode": row.get("classCode") or None,
        }
        description = (reference.data or {}).get("title") if reference else None
        run.declare(SourceKind.CLASS, item.sourced_id)
        if course is None:
            counts.created += 1
            if run.dry_run:
                continue
            assert instructor is not None
            # Owned by the importing administrator until a teacher enrollment names the
            # class's teacher (a course always has an instructor).
            course = Course(
                id=uuid.uuid4(),
                title=title,
                slug=_slug(title, item.sourced_id),
                description=description,
                instructor_id=instructor,
                metadata_={"oneroster": oneroster},
            )
            fresh.append((item, course))
        else:
            counts.updated += 1
            if run.dry_run:
                continue
            course.title = title
            course.description = description
            course.metadata_ = {**(course.metadata_ or {}), "oneroster": oneroster}
            course.archived_at = None
        remember(run, SourceKind.CLASS, item, local_id=course.id)
    if not run.dry_run:
        taken = repository.taken_slugs(run.db, {c.slug for _, c in fresh})
        for _item, course in fresh:
            if course.slug in taken:
                course.slug = f"{course.slug[:200]}-{uuid.uuid4().hex[:8]}"
            run.db.add(course)
        forget(run, gone)
    return refused


def enrollments(run: ImportRun, items: list[Prepared], counts: Counts) -> dict[int, str]:
    refused: dict[int, str] = {}
    classes = run.known(SourceKind.CLASS, (i.row.get("classSourcedId") for i in items))
    users = run.known(SourceKind.USER, (i.row.get("userSourcedId") for i in items))
    # Only a teacher's account is read (for its role): students need only their id.
    teacher_rows = [i.row for i in items if i.row.get("role") == "teacher"]
    teachers = {row.get("userSourcedId") for row in teacher_rows}
    taught = {row.get("classSourcedId") for row in teacher_rows}
    people = repository.users_by_id(
        run.db,
        {
            source.local_id
            for sourced_id, source in users.items()
            if sourced_id in teachers and source is not None and source.local_id
        },
    )
    # Only a teacher row changes its course (the instructor), and only a removed row needs
    # the enrollment it mapped to by id: the other rows are matched by (student, course).
    courses = repository.courses_by_id(
        run.db,
        {
            source.local_id
            for sourced_id, source in classes.items()
            if source is not None and source.local_id and sourced_id in taught
        },
    )
    mapped = repository.enrollments_by_id(
        run.db,
        {
            i.source.local_id
            for i in items
            if i.deleting and i.source and i.source.local_id and i.source.role == "student"
        },
    )
    now = utcnow()
    accepted: list[tuple[Prepared, str, uuid.UUID | None, uuid.UUID | None]] = []
    for item in items:
        row = item.row
        role = row.get("role")
        if item.deleting:
            accepted.append((item, (item.source.role or "") if item.source else "", None, None))
            continue
        if role not in ENROLLMENT_ROLES:
            refused[row.line] = f"role {role or '(empty)'} is not one of: student, teacher"
            continue
        if row.get("classSourcedId") not in classes:
            refused[row.line] = f"classSourcedId {row.get('classSourcedId')} is unknown"
            continue
        if row.get("userSourcedId") not in users:
            refused[row.line] = f"userSourcedId {row.get('userSourcedId')} is unknown"
            continue
        # None: declared earlier in this dry run, not written.
        class_source = classes[row.get("classSourcedId")]
        user_source = users[row.get("userSourcedId")]
        person_id = user_source.local_id if user_source else None
        person = people.get(person_id) if person_id else None
        if role == "teacher":
            account_role = (
                person.role
                if person is not None
                else run.declared.get(SourceKind.USER, {}).get(row.get("userSourcedId"), "")
            )
            if account_role == Role.STUDENT.value:
                refused[row.line] = "a class's teacher must have a teacher or administrator role"
                continue
        course_id = class_source.local_id if class_source else None
        accepted.append((item, role, person_id, course_id))
    if run.dry_run:
        for item, _role, _person, _course in accepted:
            if item.deleting:
                counts.deleted += 1 if item.source else 0
                counts.skipped += 0 if item.source else 1
            elif item.source is None:
                counts.created += 1
            else:
                counts.updated += 1
        return refused
    pairs = {
        (person, course)
        for item, role, person, course in accepted
        if role == "student" and person and course and not item.deleting
    }
    existing = repository.enrollments_by_pair(run.db, pairs)
    lessons = repository.published_lesson_counts(run.db, {c for _, c in pairs})
    gone: list[Prepared] = []
    # New enrollments of this batch by (student, course): two rows for one pair make one.
    created: dict[tuple[uuid.UUID, uuid.UUID], uuid.UUID] = {}
    for item, role, person_id, course_id in accepted:
        if item.deleting:
            if item.source is None:
                counts.skipped += 1
                continue
            enrollment = mapped.get(item.source.local_id) if item.source.local_id else None
            if enrollment is not None and enrollment.status != EnrollmentStatus.DROPPED.value:
                enrollment.status = EnrollmentStatus.DROPPED.value
                enrollment.dropped_at = now
            gone.append(item)
            counts.deleted += 1
            continue
        assert person_id is not None and course_id is not None
        if item.source is None:
            counts.created += 1
        else:
            counts.updated += 1
        if role == "teacher":
            course = courses.get(course_id)
            if course is not None and item.row.get("primary").lower() != "false":
                course.instructor_id = person_id
            remember(run, SourceKind.ENROLLMENT, item, local_id=person_id, role=role)
            continue
        enrollment = existing.get((person_id, course_id))
        if enrollment is None:
            enrollment_id = created.get((person_id, course_id))
            if enrollment_id is None:
                enrollment_id = uuid.uuid4()
                created[(person_id, course_id)] = enrollment_id
                run.insert_later(
                    Enrollment,
                    {
                        "id": enrollment_id,
                        "student_id": person_id,
                        "course_id": course_id,
                        "status": EnrollmentStatus.ACTIVE.value,
                        "enrolled_at": now,
                        "total_lessons_count": lessons.get(course_id, 0),
                        "created_at": now,
                        "updated_at": now,
                    },
                )
        else:
            enrollment_id = enrollment.id
            if enrollment.status == EnrollmentStatus.DROPPED.value:
                enrollment.status = EnrollmentStatus.ACTIVE.value
                enrollment.dropped_at = None
                enrollment.enrolled_at = now
        remember(run, SourceKind.ENROLLMENT, item, local_id=enrollment_id, role=role)
    forget(run, gone)
    return refused
