"""Applying a checked OneRoster archive, one batch of rows per transaction.

Every row is validated before its batch writes anything, and a refused row is only reported
(file, line, reason): its record stays as it was, and the rest of the batch is applied. A
batch is a handful of statements whatever its size (lookups by `IN`, inserts and updates
executed many rows at a time), and the session is emptied after each commit, so memory does
not grow with the file.

Record by record (OneRoster -> here):
- user -> account (`users`): role from `roles.csv` (the primary role) or a `role` column;
  new accounts get no password and are mailed a link to choose one.
- class -> course: the class is what students enroll in and a teacher teaches; a OneRoster
  course is a catalogue entry shared by many classes (sections), kept as reference data.
- enrollment -> a student's enrollment, or (teacher) the course's instructor.
- org, academicSession, course -> reference data classes point at (`roster_sources.data`).

In delta files, `status=tobedeleted` drops the record (an account is deactivated, a course
archived, an enrollment dropped: none is deleted, their history stays) and a row whose
`dateLastModified` is not newer than the one applied before is skipped as stale.
"""

from __future__ import annotations

import hashlib
import uuid
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.core.database import utcnow
from app.core.permissions import Role
from app.core.validation import valid_email
from app.modules.auth import service as auth_service
from app.modules.courses.models import Course, Enrollment, EnrollmentStatus
from app.modules.courses.service import slugify
from app.modules.rostering import repository
from app.modules.rostering.archive import Row, read_batches
from app.modules.rostering.models import RosterImport, RosterImportError, RosterSource, SourceKind
from app.modules.users.models import User

# The OneRoster roles (users' and enrollments') and the account role each becomes here.
USER_ROLES: dict[str, Role] = {
    "student": Role.STUDENT,
    "teacher": Role.INSTRUCTOR,
    "administrator": Role.ADMIN,
    "districtAdministrator": Role.ADMIN,
    "siteAdministrator": Role.ADMIN,
    "systemAdministrator": Role.ADMIN,
}
ENROLLMENT_ROLES = ("student", "teacher")
ORG_TYPES = ("department", "district", "local", "national", "school", "state")
SESSION_TYPES = ("gradingPeriod", "semester", "schoolYear", "term")
STATUSES = ("active", "tobedeleted")
MAX_ID = 255


class RowRefused(Exception):
    """Why a row cannot be applied (its message goes to the import's error list)."""


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    skipped: int = 0
    refused: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class Prepared:
    row: Row
    sourced_id: str
    deleting: bool
    modified: datetime | None
    source: RosterSource | None


@dataclass
class ImportRun:
    db: Session
    record: RosterImport
    archive: zipfile.ZipFile
    batch_size: int
    commit: Callable[[], None]
    # Dry run only: what this run would have created, so later files can refer to it.
    declared: dict[str, dict[str, str]] = field(default_factory=dict)
    counts: dict[str, Counts] = field(default_factory=dict)

    @property
    def dry_run(self) -> bool:
        return self.record.dry_run

    def declare(self, kind: str, sourced_id: str, value: str = "") -> None:
        if self.dry_run:
            self.declared.setdefault(kind, {})[sourced_id] = value

    def known(self, kind: str, sourced_ids: Iterable[str]) -> dict[str, RosterSource | None]:
        ids = {s for s in sourced_ids if s}
        found: dict[str, RosterSource | None] = dict(repository.sources(self.db, kind, ids))
        for sourced_id in ids & set(self.declared.get(kind, {})):
            found.setdefault(sourced_id, None)
        return found


def _parse_datetime(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _prepare(run: ImportRun, kind: str, name: str, batch: list[Row]) -> list[Prepared | str]:
    """Each row's common fields checked (or the reason it is refused), with its mapping."""
    delta = run.record.files.get(name) == "delta"
    existing = repository.sources(run.db, kind, {row.get("sourcedId") for row in batch})
    seen: set[str] = set()
    prepared: list[Prepared | str] = []
    for row in batch:
        sourced_id, status = row.get("sourcedId"), row.get("status")
        stamp = row.get("dateLastModified")
        if not sourced_id or len(sourced_id) > MAX_ID:
            prepared.append(f"sourcedId must be 1 to {MAX_ID} characters")
            continue
        if sourced_id in seen:
            prepared.append(f"sourcedId {sourced_id} appears twice in the batch")
            continue
        seen.add(sourced_id)
        if status and status not in STATUSES:
            prepared.append(f"status must be one of {', '.join(STATUSES)}")
            continue
        if delta and not (status and stamp):
            prepared.append("a delta row needs status and dateLastModified")
            continue
        try:
            modified = _parse_datetime(stamp) if stamp else None
        except ValueError:
            prepared.append("dateLastModified is not an ISO 8601 date and time")
            continue
        prepared.append(
            Prepared(row, sourced_id, status == "tobedeleted", modified, existing.get(sourced_id))
        )
    return prepared


def _stale(item: Prepared) -> bool:
    applied = item.source.date_last_modified if item.source else None
    return bool(item.modified and applied and item.modified <= applied)


def _remember(
    run: ImportRun,
    kind: str,
    item: Prepared,
    *,
    local_id: uuid.UUID | None = None,
    role: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    if item.source is None:
        run.db.add(
            RosterSource(
                kind=kind,
                sourced_id=item.sourced_id,
                local_id=local_id,
                role=role,
                data=data,
                date_last_modified=item.modified,
            )
        )
        return
    item.source.local_id = local_id
    item.source.role = role
    item.source.data = data
    item.source.date_last_modified = item.modified


Handler = Callable[[ImportRun, list[Prepared], Counts], dict[int, str]]


def _forget(run: ImportRun, items: Iterable[Prepared]) -> None:
    repository.delete_sources(run.db, [i.source.id for i in items if i.source is not None])


# --- reference data: orgs, academic sessions, OneRoster courses --------------------------


def _reference(
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
                _remember(run, kind, item, data=data)
        if not run.dry_run:
            _forget(run, gone)
        return refused

    return handle


def _check_orgs(run: ImportRun, items: list[Prepared]) -> dict[int, str]:
    refused: dict[int, str] = {}
    for item in items:
        if item.deleting:
            continue
        if not item.row.get("name"):
            refused[item.row.line] = "name is required"
        elif item.row.get("type") not in ORG_TYPES:
            refused[item.row.line] = f"type must be one of {', '.join(ORG_TYPES)}"
    return refused


def _check_sessions(run: ImportRun, items: list[Prepared]) -> dict[int, str]:
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


def _check_courses(run: ImportRun, items: list[Prepared]) -> dict[int, str]:
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


# --- users and roles ----------------------------------------------------------------------


def _email_of(row: Row) -> str:
    for candidate in (row.get("email"), row.get("username")):
        if "@" in candidate:
            return valid_email(candidate)
    raise RowRefused("no email address (email, or a username that is one)")


def _full_name(row: Row) -> str:
    given = row.get("preferredGivenName") or row.get("givenName")
    family = row.get("preferredFamilyName") or row.get("familyName")
    name = f"{given} {family}".strip()
    if not row.get("givenName") or not row.get("familyName"):
        raise RowRefused("givenName and familyName are required")
    if len(name) > 200:
        raise RowRefused("the name is longer than 200 characters")
    return name


def _enabled(row: Row) -> bool:
    value = row.get("enabledUser").lower()
    if value not in ("true", "false"):
        raise RowRefused("enabledUser must be true or false")
    return value == "true"


def _user_role(value: str) -> Role | None:
    if not value:
        return None
    if value not in USER_ROLES:
        raise RowRefused(f"role {value} has no counterpart here (see the role mapping)")
    return USER_ROLES[value]


def _deactivate(user: User) -> None:
    if user.is_active:
        user.is_active = False
        user.token_version += 1


def _users(run: ImportRun, items: list[Prepared], counts: Counts) -> dict[int, str]:
    refused: dict[int, str] = {}
    checked: list[tuple[Prepared, str, str, bool, Role | None]] = []
    emails_in_batch: set[str] = set()
    for item in items:
        if item.deleting:
            checked.append((item, "", "", False, None))
            continue
        try:
            email = _email_of(item.row)
            name = _full_name(item.row)
            enabled = _enabled(item.row)
            role = _user_role(item.row.get("role"))
        except (RowRefused, ValueError) as exc:
            refused[item.row.line] = str(exc)
            continue
        if email in emails_in_batch:
            refused[item.row.line] = f"email {email} appears twice in the batch"
            continue
        emails_in_batch.add(email)
        checked.append((item, email, name, enabled, role))
    mapped = repository.users_by_id(
        run.db, {i.source.local_id for i, *_ in checked if i.source and i.source.local_id}
    )
    by_email = repository.users_by_email(run.db, emails_in_batch)
    importer = run.record.created_by_id
    invited: list[User] = []
    gone: list[Prepared] = []
    for item, email, name, enabled, role in checked:
        user = mapped.get(item.source.local_id) if item.source and item.source.local_id else None
        if item.deleting:
            if user is None:
                counts.skipped += 1
                continue
            if user.id != importer and not run.dry_run:
                _deactivate(user)
            gone.append(item)
            counts.deleted += 1
            continue
        owner = by_email.get(email)
        if owner is not None and user is not None and owner.id != user.id:
            refused[item.row.line] = f"email {email} belongs to another account"
            continue
        user = user or owner
        run.declare(SourceKind.USER, item.sourced_id, (role or Role.STUDENT).value)
        if user is None:
            counts.created += 1
            if run.dry_run:
                continue
            user = User(
                id=uuid.uuid4(),
                email=email,
                password_hash=None,
                full_name=name,
                role=(role or Role.STUDENT).value,
                is_active=enabled,
            )
            run.db.add(user)
            invited.append(user)
        else:
            counts.updated += 1
            if run.dry_run:
                continue
            user.email, user.full_name = email, name
            # The importing administrator never demotes or deactivates themself.
            if user.id != importer:
                if role is not None:
                    user.role = role.value
                if enabled:
                    user.is_active = True
                else:
                    _deactivate(user)
        _remember(run, SourceKind.USER, item, local_id=user.id)
    if not run.dry_run:
        _forget(run, gone)
        run.db.flush()
        for user in invited:
            if user.is_active:
                auth_service.invite(
                    run.db, user_id=user.id, email=user.email, full_name=user.full_name
                )
    return refused


def _roles(run: ImportRun, items: list[Prepared], counts: Counts) -> dict[int, str]:
    refused: dict[int, str] = {}
    users = run.known(SourceKind.USER, (i.row.get("userSourcedId") for i in items))
    targets = repository.users_by_id(
        run.db, {s.local_id for s in users.values() if s is not None and s.local_id}
    )
    importer = run.record.created_by_id
    for item in items:
        row = item.row
        if item.deleting or row.get("roleType") != "primary":
            # Only the primary role decides the account's role; a removed role row leaves
            # the account's role as it is until another primary role names one.
            counts.skipped += 1
            continue
        try:
            role = _user_role(row.get("role"))
        except RowRefused as exc:
            refused[row.line] = str(exc)
            continue
        if row.get("userSourcedId") not in users:
            refused[row.line] = f"userSourcedId {row.get('userSourcedId')} is unknown"
            continue
        counts.updated += 1
        source = users[row.get("userSourcedId")]
        if run.dry_run:
            run.declare(SourceKind.USER, row.get("userSourcedId"), (role or Role.STUDENT).value)
            continue
        user = targets.get(source.local_id) if source and source.local_id else None
        if user is not None and role is not None and user.id != importer:
            user.role = role.value
    return refused


# --- classes and enrollments --------------------------------------------------------------


def _slug(title: str, sourced_id: str) -> str:
    suffix = hashlib.sha256(sourced_id.encode()).hexdigest()[:10]
    return f"{(slugify(title) or 'class')[:200]}-{suffix}"


def _classes(run: ImportRun, items: list[Prepared], counts: Counts) -> dict[int, str]:
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
        _remember(run, SourceKind.CLASS, item, local_id=course.id)
    if not run.dry_run:
        taken = repository.taken_slugs(run.db, {c.slug for _, c in fresh})
        for _item, course in fresh:
            if course.slug in taken:
                course.slug = f"{course.slug[:200]}-{uuid.uuid4().hex[:8]}"
            run.db.add(course)
        _forget(run, gone)
    return refused


def _enrollments(run: ImportRun, items: list[Prepared], counts: Counts) -> dict[int, str]:
    refused: dict[int, str] = {}
    classes = run.known(SourceKind.CLASS, (i.row.get("classSourcedId") for i in items))
    users = run.known(SourceKind.USER, (i.row.get("userSourcedId") for i in items))
    people = repository.users_by_id(
        run.db, {s.local_id for s in users.values() if s is not None and s.local_id}
    )
    course_ids = {s.local_id for s in classes.values() if s is not None and s.local_id}
    courses = repository.courses_by_id(run.db, course_ids)
    mapped = repository.enrollments_by_id(
        run.db,
        {
            i.source.local_id
            for i in items
            if i.source and i.source.local_id and i.source.role == "student"
        },
    )
    now = utcnow()
    accepted: list[tuple[Prepared, str, uuid.UUID | None, uuid.UUID | None]] = []
    for item in items:
        row = item.row
        role = row.get("role")
        if item.deleting:
            accepted.append((item, item.source.role if item.source else "", None, None))
            continue
        if role not in ENROLLMENT_ROLES:
            refused[row.line] = f"role {role or '(empty)'} is not one of: student, teacher"
            continue
        class_source = classes.get(row.get("classSourcedId"), False)
        if class_source is False:
            refused[row.line] = f"classSourcedId {row.get('classSourcedId')} is unknown"
            continue
        user_source = users.get(row.get("userSourcedId"), False)
        if user_source is False:
            refused[row.line] = f"userSourcedId {row.get('userSourcedId')} is unknown"
            continue
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
        for item, role, _person, _course in accepted:
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
            _remember(run, SourceKind.ENROLLMENT, item, local_id=person_id, role=role)
            continue
        enrollment = existing.get((person_id, course_id))
        if enrollment is None:
            enrollment = Enrollment(
                id=uuid.uuid4(),
                student_id=person_id,
                course_id=course_id,
                status=EnrollmentStatus.ACTIVE.value,
                enrolled_at=now,
                total_lessons_count=lessons.get(course_id, 0),
            )
            run.db.add(enrollment)
            existing[(person_id, course_id)] = enrollment
        elif enrollment.status == EnrollmentStatus.DROPPED.value:
            enrollment.status = EnrollmentStatus.ACTIVE.value
            enrollment.dropped_at = None
            enrollment.enrolled_at = now
        _remember(run, SourceKind.ENROLLMENT, item, local_id=enrollment.id, role=role)
    _forget(run, gone)
    return refused


# The data sets in the order they are applied, with the kind of record each maps.
STEPS: tuple[tuple[str, str, Handler], ...] = (
    ("orgs", SourceKind.ORG, _reference(SourceKind.ORG, ("name", "type"), _check_orgs)),
    (
        "academicSessions",
        SourceKind.ACADEMIC_SESSION,
        _reference(SourceKind.ACADEMIC_SESSION, ("title", "type", "schoolYear"), _check_sessions),
    ),
    (
        "courses",
        SourceKind.COURSE,
        _reference(SourceKind.COURSE, ("title", "courseCode", "orgSourcedId"), _check_courses),
    ),
    ("users", SourceKind.USER, _users),
    ("roles", "role", _roles),
    ("classes", SourceKind.CLASS, _classes),
    ("enrollments", SourceKind.ENROLLMENT, _enrollments),
)


def apply_batch(run: ImportRun, name: str, kind: str, handler: Handler, batch: list[Row]) -> None:
    counts = run.counts.setdefault(name, Counts())
    refused: dict[int, str] = {}
    prepared = _prepare(run, kind, name, batch)
    # A bulk file is the whole current set: its rows apply whatever their dates.
    delta = run.record.files.get(name) == "delta"
    usable: list[Prepared] = []
    for row, item in zip(batch, prepared, strict=True):
        if isinstance(item, str):
            refused[row.line] = item
        elif delta and kind != "role" and _stale(item):
            counts.skipped += 1
        else:
            usable.append(item)
    refused |= handler(run, usable, counts)
    counts.refused += len(refused)
    ids = {row.line: row.get("sourcedId") or None for row in batch}
    repository.add_errors(
        run.db,
        [
            RosterImportError(
                import_id=run.record.id,
                file=f"{name}.csv",
                line=line,
                sourced_id=(ids.get(line) or "")[:MAX_ID] or None,
                reason=reason[:500],
            )
            for line, reason in sorted(refused.items())
        ],
    )
    run.record.rows_done += len(batch)
    run.record.error_count += len(refused)
    run.record.summary = {key: value.as_dict() for key, value in run.counts.items()}


def run_import(run: ImportRun) -> None:
    """Apply every data set the archive carries, committing after each batch."""
    for name, kind, handler in STEPS:
        if name not in run.record.files:
            continue
        for batch in read_batches(run.archive, name, run.batch_size):
            apply_batch(run, name, kind, handler, batch)
            run.commit()
