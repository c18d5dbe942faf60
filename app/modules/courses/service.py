"""Course and lesson rules: publishing, slugs, ordering, caching.

Who may read or manage a course is `app.modules.courses.access`. Modules built on this one
react to a course's published lessons changing through `changes.on_published_lessons_changed`.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
import uuid
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.cache import (
    cache_delete_prefix,
    cache_get,
    cache_get_async,
    cache_key,
    cache_set,
)
from app.core.config import get_settings
from app.core.database import after_commit, utcnow
from app.core.errors import BusinessRuleViolation, NotFound, PermissionDenied
from app.core.pagination import Page, PageParams
from app.core.permissions import Role
from app.modules.courses import changes, locks, release, repository, sections
from app.modules.courses.access import (
    Capability,
    course_access,
    get_owned_course,
    get_visible_course,
    is_public,
    managed_course_ids,
)
from app.modules.courses.models import Course, CourseRole, CourseStaff, ItemKind, Lesson
from app.modules.courses.repository import CourseFilters, CourseWithStats
from app.modules.courses.schemas import (
    CourseCreate,
    CourseRead,
    CourseSort,
    CourseUpdate,
    LessonCreate,
    LessonRead,
    LessonUpdate,
)
from app.modules.users.models import User

CACHE_NAMESPACE = "courses:"
_SLUG_MAX = 200
_SLUG_ATTEMPTS = 5


def get_lesson(db: Session, *, lesson_id: uuid.UUID) -> Lesson:
    lesson = repository.get_lesson(db, lesson_id)
    if lesson is None:
        raise NotFound("Lesson not found", code="lesson_not_found")
    return lesson


# --- caching -----------------------------------------------------------------------------


def _invalidate_cache(db: Session) -> None:
    # After the commit, so a concurrent reader cannot re-cache the old state in between.
    after_commit(db, lambda: cache_delete_prefix(CACHE_NAMESPACE))


# The counted lessons drive the courses' lesson count and duration, from whichever path
# changes them (lessons here, a section's items or publication in `sections`).
changes.on_published_lessons_changed(lambda db, _course_id: _invalidate_cache(db))


# --- slugs -------------------------------------------------------------------------------


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:_SLUG_MAX].strip("-")


def _free_slug(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def _insert_with_unique_slug(
    db: Session, row: Course | Lesson, base: str, taken: Callable[[], set[str]]
) -> None:
    """Insert `row` under the first free slug; a concurrent insert that takes the same slug
    makes the unique constraint fail inside a savepoint, and a random suffix is tried."""
    candidate = _free_slug(base, taken())
    for _attempt in range(_SLUG_ATTEMPTS):
        row.slug = candidate
        try:
            with db.begin_nested():
                db.add(row)
                db.flush()
            return
        except IntegrityError:
            candidate = f"{base}-{secrets.token_hex(3)}"
    raise BusinessRuleViolation("Could not allocate a unique slug; retry the request")


# --- courses -----------------------------------------------------------------------------


def course_read(stats: CourseWithStats) -> CourseRead:
    course = stats.course
    return CourseRead.model_validate(
        {
            **{
                name: getattr(course, name)
                for name in CourseRead.model_fields
                if hasattr(course, name)
            },
            "metadata": course.metadata_,
            "is_free": course.is_free,
            "instructor_name": stats.instructor_name,
            "lesson_count": stats.lesson_count,
            "total_duration_minutes": stats.total_duration_minutes,
            "enrollment_count": stats.enrollment_count,
            "average_rating": stats.average_rating,
            "rating_count": stats.rating_count,
        }
    )


def _read(db: Session, course_id: uuid.UUID) -> CourseRead:
    stats = repository.get_course_with_stats(db, course_id)
    if stats is None:
        raise NotFound("Course not found", code="course_not_found")
    return course_read(stats)


def catalogue_key(
    *, filters: CourseFilters, sort: CourseSort, params: PageParams, viewer: User | None
) -> str:
    return cache_key(
        CACHE_NAMESPACE + "list",
        filters=filters.__dict__,
        sort=sort.value,
        page=params.page,
        page_size=params.page_size,
        role=viewer.role if viewer else "anonymous",
    )


async def cached_answer(key: str) -> str | None:
    """The JSON under a catalogue or detail key, from this process's copy or Redis (on the
    event loop: no worker thread unless the answer has to be built)."""
    hit = await cache_get_async(key)
    return hit if isinstance(hit, str) else None


def _cache_answer(key: str, body: str) -> None:
    # JSON text, not objects: a hit goes to the client without validating or serializing
    # anything again.
    cache_set(key, body, get_settings().COURSE_CACHE_TTL_SECONDS)


def build_catalogue(
    db: Session, *, key: str, filters: CourseFilters, sort: CourseSort, params: PageParams
) -> str:
    """Published courses as a JSON page, stored briefly under `key` (`catalogue_key` of the
    same inputs); the caller has found no cached answer."""
    rows, total = repository.list_courses(
        db, filters=filters, sort=sort, params=params, published_only=True
    )
    body = Page[CourseRead].build([course_read(row) for row in rows], total, params)
    answer = body.model_dump_json()
    _cache_answer(key, answer)
    return answer


def list_own_courses(
    db: Session, *, user: User, filters: CourseFilters, sort: CourseSort, params: PageParams
) -> Page[CourseRead]:
    """The courses the user is on the staff of (any role), drafts and archived ones included
    (never cached: private)."""
    if user.role not in (Role.INSTRUCTOR.value, Role.ADMIN.value):
        raise PermissionDenied("Only instructors and admins have their own courses")
    rows, total = repository.list_courses(
        db,
        filters=filters,
        sort=sort,
        params=params,
        published_only=False,
        within=managed_course_ids(user.id, Capability.READ),
    )
    return Page[CourseRead].build([course_read(row) for row in rows], total, params)


def detail_key(course_id: uuid.UUID) -> str:
    return cache_key(CACHE_NAMESPACE + "detail", course_id=str(course_id))


def get_course_detail(db: Session, *, course_id: uuid.UUID, user: User | None) -> str:
    """The course with its aggregates as JSON; public courses are served from the cache."""
    hit = cache_get(detail_key(course_id))
    if isinstance(hit, str):
        # Only public courses are ever cached, and every change invalidates the entry.
        return hit
    return build_course_detail(db, course_id=course_id, user=user)


def build_course_detail(db: Session, *, course_id: uuid.UUID, user: User | None) -> str:
    """The course as JSON when `user` may see it, cached when it is public; the caller has
    found no cached answer."""
    course = get_visible_course(db, course_id=course_id, user=user)
    answer = _read(db, course.id).model_dump_json()
    if is_public(course):
        _cache_answer(detail_key(course.id), answer)
    return answer


def get_course_detail_by_slug(db: Session, *, slug: str, user: User | None) -> str:
    course_id = repository.get_course_id_by_slug(db, slug)
    if course_id is None:
        raise NotFound("Course not found", code="course_not_found")
    return get_course_detail(db, course_id=course_id, user=user)


def create_course(db: Session, *, user: User, data: CourseCreate) -> CourseRead:
    values = data.model_dump(exclude={"metadata"})
    course = Course(**values, metadata_=data.metadata, instructor_id=user.id)
    base = slugify(data.title) or "course"
    _insert_with_unique_slug(db, course, base, lambda: repository.existing_course_slugs(db, base))
    db.add(CourseStaff(course_id=course.id, user_id=user.id, role=CourseRole.OWNER.value))
    db.flush()
    _invalidate_cache(db)
    return _read(db, course.id)


def update_course(
    db: Session, *, course_id: uuid.UUID, user: User, data: CourseUpdate
) -> CourseRead:
    course = get_owned_course(db, course_id=course_id, user=user, capability=Capability.CONTENT)
    changes = data.model_dump(exclude_unset=True)
    if "metadata" in changes:
        course.metadata_ = changes.pop("metadata")
    for name, value in changes.items():
        setattr(course, name, value)
    db.flush()
    _invalidate_cache(db)
    return _read(db, course.id)


def delete_course(db: Session, *, course_id: uuid.UUID, user: User) -> None:
    """Delete a course; one that has enrollments is archived instead, keeping their history."""
    course = get_owned_course(db, course_id=course_id, user=user, capability=Capability.OWNERSHIP)
    if repository.course_has_enrollments(db, course.id):
        course.archived_at = course.archived_at or utcnow()
        course.is_published = False
    else:
        db.delete(course)
    db.flush()
    _invalidate_cache(db)


def publish_course(db: Session, *, course_id: uuid.UUID, user: User) -> CourseRead:
    course = get_owned_course(db, course_id=course_id, user=user, capability=Capability.CONTENT)
    if course.archived_at is not None:
        raise BusinessRuleViolation(
            "An archived course cannot be published", code="course_archived"
        )
    if repository.published_lesson_count(db, course.id) == 0:
        raise BusinessRuleViolation(
            "A course needs at least one published lesson before it can be published",
            code="course_has_no_published_lessons",
        )
    if not sections.has_published_item(db, course_id=course.id):
        raise BusinessRuleViolation(
            "A course needs a published section holding a published item before it can be "
            "published",
            code="course_has_no_published_section",
        )
    if not course.is_published:
        course.is_published = True
        course.published_at = utcnow()
        db.flush()
        _invalidate_cache(db)
    return _read(db, course.id)


def unpublish_course(db: Session, *, course_id: uuid.UUID, user: User) -> CourseRead:
    course = get_owned_course(db, course_id=course_id, user=user, capability=Capability.CONTENT)
    if course.is_published:
        course.is_published = False
        db.flush()
        _invalidate_cache(db)
    return _read(db, course.id)


# --- lessons -----------------------------------------------------------------------------


def _lesson_read(lesson: Lesson, *, content_available: bool) -> LessonRead:
    return LessonRead.model_validate(
        {
            **{
                name: getattr(lesson, name)
                for name in LessonRead.model_fields
                if hasattr(lesson, name)
            },
            "content_available": content_available,
            "content": lesson.content if content_available else None,
            "video_url": lesson.video_url if content_available else None,
        }
    )


def list_course_lessons(
    db: Session, *, course_id: uuid.UUID, user: User | None
) -> list[LessonRead]:
    """The outline for everyone who can see the course; content only for those allowed."""
    access = course_access(db, course_id=course_id, user=user)
    lessons = repository.list_lessons(
        db,
        course_id,
        published_only=not access.manager,
        # A student's list leaves out the lessons of unpublished sections.
        visible=None if access.manager else release.visible_to_students(ItemKind.LESSON, Lesson.id),
    )
    locked = (
        locks.locked_targets(db, course_id=course_id, student_id=user.id, kind=ItemKind.LESSON)
        if access.enrolled and user is not None
        else set()
    )
    return [
        _lesson_read(
            lesson,
            content_available=access.may_read(preview=lesson.is_preview)
            and (lesson.is_preview or lesson.id not in locked),
        )
        for lesson in lessons
    ]


def open_lesson(db: Session, *, lesson_id: uuid.UUID, user: User | None) -> Lesson:
    """The lesson when `user` may read its content now (its text, video and attached files):
    NotFound for an unpublished lesson or one in an unpublished section, PermissionDenied
    without access to the course, ItemLocked while its release rule keeps it closed."""
    lesson = get_lesson(db, lesson_id=lesson_id)
    access = course_access(db, course_id=lesson.course_id, user=user)
    if not lesson.is_published and not access.manager:
        raise NotFound("Lesson not found", code="lesson_not_found")
    access.require(preview=lesson.is_preview)
    if user is not None:
        locks.require_open(
            db, user=user, kind=ItemKind.LESSON, target_id=lesson.id, preview=lesson.is_preview
        )
    return lesson


def read_lesson(db: Session, *, lesson_id: uuid.UUID, user: User | None) -> LessonRead:
    return _lesson_read(open_lesson(db, lesson_id=lesson_id, user=user), content_available=True)


def create_lesson(
    db: Session, *, course_id: uuid.UUID, user: User, data: LessonCreate
) -> LessonRead:
    # Locking the course serializes concurrent lesson inserts, so positions stay dense.
    course = get_owned_course(
        db, course_id=course_id, user=user, capability=Capability.CONTENT, for_update=True
    )
    lesson = Lesson(
        **data.model_dump(exclude={"section_id"}),
        course_id=course.id,
        order_index=repository.next_order_index(db, course.id),
    )
    base = slugify(data.title) or "lesson"
    _insert_with_unique_slug(
        db, lesson, base, lambda: repository.existing_lesson_slugs(db, course.id, base)
    )
    sections.place_item(
        db,
        course_id=course.id,
        kind=ItemKind.LESSON,
        target_id=lesson.id,
        section_id=data.section_id,
    )
    changes.lessons_changed(db, course.id)
    return _lesson_read(lesson, content_available=True)


def update_lesson(
    db: Session, *, lesson_id: uuid.UUID, user: User, data: LessonUpdate
) -> LessonRead:
    lesson = get_lesson(db, lesson_id=lesson_id)
    get_owned_course(db, course_id=lesson.course_id, user=user, capability=Capability.CONTENT)
    for name, value in data.model_dump(exclude_unset=True).items():
        setattr(lesson, name, value)
    db.flush()
    changes.lessons_changed(db, lesson.course_id)
    return _lesson_read(lesson, content_available=True)


def delete_lesson(db: Session, *, lesson_id: uuid.UUID, user: User) -> None:
    lesson = get_lesson(db, lesson_id=lesson_id)
    course = get_owned_course(
        db, course_id=lesson.course_id, user=user, capability=Capability.CONTENT, for_update=True
    )
    if (
        course.is_published
        and lesson.is_published
        and repository.published_lesson_count(db, course.id) == 1
    ):
        raise BusinessRuleViolation(
            "A published course must keep at least one published lesson; unpublish it first",
            code="last_published_lesson",
        )
    db.delete(lesson)
    db.flush()
    repository.set_lesson_order(db, course.id, repository.lesson_ids_in_order(db, course.id))
    changes.lessons_changed(db, course.id)


def reorder_lessons(
    db: Session, *, course_id: uuid.UUID, user: User, lesson_ids: list[uuid.UUID]
) -> list[LessonRead]:
    """Apply a full ordering atomically: the list must name every lesson exactly once."""
    course = get_owned_course(
        db, course_id=course_id, user=user, capability=Capability.CONTENT, for_update=True
    )
    current = repository.lesson_ids_in_order(db, course.id)
    if len(lesson_ids) != len(set(lesson_ids)):
        raise BusinessRuleViolation("lesson_ids contains duplicates", code="invalid_lesson_order")
    if set(lesson_ids) != set(current):
        raise BusinessRuleViolation(
            "lesson_ids must list every lesson of the course exactly once",
            code="invalid_lesson_order",
            extra={"expected_count": len(current)},
        )
    repository.set_lesson_order(db, course.id, lesson_ids)
    _invalidate_cache(db)
    return [
        _lesson_read(lesson, content_available=True)
        for lesson in repository.list_lessons(db, course.id, published_only=False)
    ]
