"""HTTP routes for `/courses/...` and `/lessons/...`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from app.core.dependencies import DbSession
from app.core.errors import Unauthorized
from app.core.pagination import Page, Pagination
from app.core.permissions import Permission
from app.core.routing import (
    JSON_MEDIA_TYPE,
    AnonymousCacheRoute,
    APIRouter,
    answer_anonymous_from,
)
from app.modules.courses import sections_router, service
from app.modules.courses.models import DifficultyLevel
from app.modules.courses.repository import CourseFilters
from app.modules.courses.schemas import (
    CourseCreate,
    CourseRead,
    CourseSort,
    CourseUpdate,
    LessonCreate,
    LessonOrder,
    LessonRead,
    LessonUpdate,
)
from app.modules.courses.staff_router import router as staff_router
from app.modules.users.dependencies import CurrentUser, OptionalUser, require_permissions
from app.modules.users.models import User

courses = APIRouter(prefix="/courses", tags=["courses"])
lessons = APIRouter(prefix="/lessons", tags=["lessons"])


CourseAuthor = Annotated[User, Depends(require_permissions(Permission.CREATE_COURSE))]


# async: pure parsing, so FastAPI need not hop to a worker thread for it.
async def _filters(
    category: Annotated[str | None, Query(max_length=100)] = None,
    difficulty_level: DifficultyLevel | None = None,
    instructor_id: uuid.UUID | None = None,
    is_free: Annotated[bool | None, Query(description="true: free only; false: paid only")] = None,
    search: Annotated[
        str | None, Query(min_length=1, max_length=100, description="Words in title/description")
    ] = None,
) -> CourseFilters:
    return CourseFilters(
        category=category,
        difficulty_level=difficulty_level.value if difficulty_level else None,
        instructor_id=instructor_id,
        is_free=is_free,
        search=search.strip() or None if search else None,
    )


Filters = Annotated[CourseFilters, Depends(_filters)]


# The catalogue and course detail are the most requested pages. They are async so that a
# cached answer (this process's copy, or Redis through the asyncio client) goes out without a
# worker thread; only building a missing answer, which reads the database, runs in one.
async def _public_answer(
    request: Request, user: User | None, key: str, build: Callable[[], str]
) -> Response:
    """The cached JSON under `key`, else what `build` makes (in a worker thread: it reads the
    database). An anonymous answer tells the route which entry answers its path and query."""
    body = await service.cached_answer(key) or await run_in_threadpool(build)
    if user is None:
        answer_anonymous_from(request, key)
    return Response(body, media_type=JSON_MEDIA_TYPE)


async def list_courses(
    request: Request,
    db: DbSession,
    user: OptionalUser,
    filters: Filters,
    params: Pagination,
    sort: CourseSort = CourseSort.NEWEST,
    mine: Annotated[bool, Query(description="Only my own courses, drafts included")] = False,
) -> Any:
    """Browse the catalogue of published courses (or your own with mine=true)."""
    if mine:
        if user is None:
            raise Unauthorized("Sign in to list your own courses", code="not_authenticated")
        return await run_in_threadpool(
            service.list_own_courses, db, user=user, filters=filters, sort=sort, params=params
        )
    key = service.catalogue_key(filters=filters, sort=sort, params=params, viewer=user)
    build = partial(service.build_catalogue, db, key=key, filters=filters, sort=sort, params=params)
    return await _public_answer(request, user, key, build)


courses.add_api_route(
    "",
    list_courses,
    methods=["GET"],
    response_model=Page[CourseRead],
    route_class_override=AnonymousCacheRoute,
)


@courses.post("", response_model=CourseRead, status_code=status.HTTP_201_CREATED)
def create_course(db: DbSession, user: CourseAuthor, data: CourseCreate) -> Any:
    """Create a draft course owned by the caller."""
    return service.create_course(db, user=user, data=data)


@courses.get("/me", response_model=Page[CourseRead])
def my_courses(
    db: DbSession,
    user: CurrentUser,
    filters: Filters,
    params: Pagination,
    sort: CourseSort = CourseSort.NEWEST,
) -> Any:
    """List the courses you teach, drafts and archived ones included."""
    return service.list_own_courses(db, user=user, filters=filters, sort=sort, params=params)


@courses.get("/slug/{slug}", response_model=CourseRead)
def get_course_by_slug(db: DbSession, user: OptionalUser, slug: str) -> Any:
    """Get a course by its slug."""
    return Response(
        service.get_course_detail_by_slug(db, slug=slug, user=user), media_type=JSON_MEDIA_TYPE
    )


async def get_course(
    request: Request, db: DbSession, user: OptionalUser, course_id: uuid.UUID
) -> Any:
    """Get a course with its lesson count, duration, enrollments and rating."""
    build = partial(service.build_course_detail, db, course_id=course_id, user=user)
    return await _public_answer(request, user, service.detail_key(course_id), build)


courses.add_api_route(
    "/{course_id}",
    get_course,
    methods=["GET"],
    response_model=CourseRead,
    route_class_override=AnonymousCacheRoute,
)


@courses.patch("/{course_id}", response_model=CourseRead)
def update_course(
    db: DbSession, user: CurrentUser, course_id: uuid.UUID, data: CourseUpdate
) -> Any:
    """Edit a course you own."""
    return service.update_course(db, course_id=course_id, user=user, data=data)


@courses.delete("/{course_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_course(db: DbSession, user: CurrentUser, course_id: uuid.UUID) -> Response:
    """Delete a course you own (archived instead when it has enrollments)."""
    service.delete_course(db, course_id=course_id, user=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@courses.post("/{course_id}/publish", response_model=CourseRead)
def publish_course(db: DbSession, user: CurrentUser, course_id: uuid.UUID) -> Any:
    """Publish a course (it needs at least one published lesson)."""
    return service.publish_course(db, course_id=course_id, user=user)


@courses.post("/{course_id}/unpublish", response_model=CourseRead)
def unpublish_course(db: DbSession, user: CurrentUser, course_id: uuid.UUID) -> Any:
    """Take a course out of the catalogue; enrolled students keep their enrollments."""
    return service.unpublish_course(db, course_id=course_id, user=user)


@courses.get("/{course_id}/lessons", response_model=list[LessonRead])
def list_lessons(db: DbSession, user: OptionalUser, course_id: uuid.UUID) -> Any:
    """The course outline; lesson content only for enrolled students, previews and owners."""
    return service.list_course_lessons(db, course_id=course_id, user=user)


@courses.post(
    "/{course_id}/lessons", response_model=LessonRead, status_code=status.HTTP_201_CREATED
)
def create_lesson(
    db: DbSession, user: CurrentUser, course_id: uuid.UUID, data: LessonCreate
) -> Any:
    """Add a lesson at the end of a course you own."""
    return service.create_lesson(db, course_id=course_id, user=user, data=data)


@courses.put("/{course_id}/lessons/order", response_model=list[LessonRead])
def reorder_lessons(
    db: DbSession, user: CurrentUser, course_id: uuid.UUID, data: LessonOrder
) -> Any:
    """Reorder all lessons of a course at once (the full list of lesson ids, in order)."""
    return service.reorder_lessons(db, course_id=course_id, user=user, lesson_ids=data.lesson_ids)


@lessons.get("/{lesson_id}", response_model=LessonRead)
def get_lesson(db: DbSession, user: OptionalUser, lesson_id: uuid.UUID) -> Any:
    """Read a lesson (enrolled students, preview lessons, the owner and admins)."""
    return service.read_lesson(db, lesson_id=lesson_id, user=user)


@lessons.patch("/{lesson_id}", response_model=LessonRead)
def update_lesson(
    db: DbSession, user: CurrentUser, lesson_id: uuid.UUID, data: LessonUpdate
) -> Any:
    """Edit a lesson of a course you own."""
    return service.update_lesson(db, lesson_id=lesson_id, user=user, data=data)


@lessons.delete("/{lesson_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_lesson(db: DbSession, user: CurrentUser, lesson_id: uuid.UUID) -> Response:
    """Delete a lesson of a course you own; the remaining lessons close the gap."""
    service.delete_lesson(db, lesson_id=lesson_id, user=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


router = APIRouter()
router.include_router(courses)
router.include_router(staff_router)
router.include_router(sections_router.router)
router.include_router(lessons)
