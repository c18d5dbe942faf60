"""Courses: creation, slugs, visibility, ownership, publishing, deletion, catalogue."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from app.core.cache import cache_key
from app.core.database import session_scope
from app.core.dependencies import ACCESS_COOKIE
from app.modules.courses import service
from app.modules.courses.models import Course
from app.modules.enrollments.models import Enrollment
from tests.caching import set_until_held
from tests.modules.courses.factories import create_course, create_enrollment

API = "/api/v1"


@pytest.fixture
def other_instructor(make_user: Any) -> Any:
    return make_user(role="instructor", email="other.instructor@example.com")


def _create(client: Any, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post(
        f"{API}/courses", json={"title": "Data Science", **body}, headers=headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


# --- creation and slugs --------------------------------------------------------------------


def test_student_cannot_create_course(client: Any, student: Any, auth_headers: Any) -> None:
    response = client.post(f"{API}/courses", json={"title": "Mine"}, headers=auth_headers(student))
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    with session_scope() as session:
        assert session.scalar(select(Course.id)) is None


@pytest.mark.parametrize(("sent", "shown"), [(0, "0.00"), ("150", "150.00"), (12.5, "12.50")])
def test_price_reads_the_same_on_create_update_and_reload(
    client: Any, instructor: Any, auth_headers: Any, sent: Any, shown: str
) -> None:
    headers = auth_headers(instructor)
    created = _create(client, headers, price=sent)
    assert created["price"] == shown
    assert client.get(f"{API}/courses/{created['id']}", headers=headers).json()["price"] == shown
    updated = client.patch(f"{API}/courses/{created['id']}", json={"price": sent}, headers=headers)
    assert updated.json()["price"] == shown


def test_anonymous_cannot_create_course(client: Any) -> None:
    assert client.post(f"{API}/courses", json={"title": "Mine"}).status_code == 401


def test_slugs_are_unique_under_collisions_and_stable(
    client: Any, instructor: Any, other_instructor: Any, auth_headers: Any
) -> None:
    first = _create(client, auth_headers(instructor), title="Intro to SQL!")
    second = _create(client, auth_headers(other_instructor), title="Intro to SQL")
    third = _create(client, auth_headers(instructor), title="intro  to   sql")
    assert [first["slug"], second["slug"], third["slug"]] == [
        "intro-to-sql",
        "intro-to-sql-2",
        "intro-to-sql-3",
    ]
    renamed = client.patch(
        f"{API}/courses/{first['id']}",
        json={"title": "Advanced SQL"},
        headers=auth_headers(instructor),
    )
    assert renamed.status_code == 200
    assert renamed.json()["title"] == "Advanced SQL"
    assert renamed.json()["slug"] == "intro-to-sql"


def test_slug_of_symbol_only_title_falls_back(
    client: Any, instructor: Any, auth_headers: Any
) -> None:
    assert _create(client, auth_headers(instructor), title="???")["slug"] == "course"


@pytest.mark.parametrize(
    "body",
    [
        {"title": ""},
        {"title": "x" * 201},
        {"title": "Paid", "price": "-1"},
        {"title": "Paid", "price": "10.123"},
        {"title": "Paid", "currency": "usd"},
        {"title": "Hard", "difficulty_level": "impossible"},
    ],
)
def test_invalid_course_bodies_are_refused(
    client: Any, instructor: Any, auth_headers: Any, body: dict[str, Any]
) -> None:
    response = client.post(f"{API}/courses", json=body, headers=auth_headers(instructor))
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    with session_scope() as session:
        assert session.scalar(select(Course.id)) is None


def test_patch_cannot_null_a_required_field(
    client: Any, instructor: Any, auth_headers: Any
) -> None:
    course = _create(client, auth_headers(instructor))
    response = client.patch(
        f"{API}/courses/{course['id']}", json={"title": None}, headers=auth_headers(instructor)
    )
    assert response.status_code == 422


# --- visibility and ownership ----------------------------------------------------------------


def test_drafts_visible_only_to_owner_and_admin(
    client: Any,
    instructor: Any,
    other_instructor: Any,
    student: Any,
    admin: Any,
    auth_headers: Any,
) -> None:
    draft = create_course(instructor, published=False)
    anonymous: dict[str, str] = {}
    for headers in (anonymous, auth_headers(student), auth_headers(other_instructor)):
        assert client.get(f"{API}/courses/{draft.id}", headers=headers).status_code == 404
        assert client.get(f"{API}/courses/slug/{draft.slug}", headers=headers).status_code == 404
        assert client.get(f"{API}/courses/{draft.id}/lessons", headers=headers).status_code == 404
    for headers in (auth_headers(instructor), auth_headers(admin)):
        assert client.get(f"{API}/courses/{draft.id}", headers=headers).status_code == 200
        assert client.get(f"{API}/courses/slug/{draft.slug}", headers=headers).status_code == 200


def test_other_instructor_cannot_modify_course(
    client: Any, instructor: Any, other_instructor: Any, auth_headers: Any
) -> None:
    course = create_course(instructor, published=False)
    intruder = auth_headers(other_instructor)
    attempts = [
        client.patch(f"{API}/courses/{course.id}", json={"title": "Mine now"}, headers=intruder),
        client.post(f"{API}/courses/{course.id}/publish", headers=intruder),
        client.post(f"{API}/courses/{course.id}/unpublish", headers=intruder),
        client.delete(f"{API}/courses/{course.id}", headers=intruder),
        client.post(f"{API}/courses/{course.id}/lessons", json={"title": "X"}, headers=intruder),
        client.put(
            f"{API}/courses/{course.id}/lessons/order",
            json={"lesson_ids": [str(i) for i in reversed(course.lesson_ids)]},
            headers=intruder,
        ),
        client.patch(
            f"{API}/lessons/{course.lesson_ids[0]}", json={"title": "X"}, headers=intruder
        ),
        client.delete(f"{API}/lessons/{course.lesson_ids[0]}", headers=intruder),
    ]
    assert [response.status_code for response in attempts] == [403] * len(attempts)
    with session_scope() as session:
        row = session.get(Course, course.id)
        assert row is not None
        assert row.title.startswith("Course ")
        assert row.is_published is False


def test_admin_can_manage_any_course(
    client: Any, instructor: Any, admin: Any, auth_headers: Any
) -> None:
    course = create_course(instructor, published=False)
    response = client.post(f"{API}/courses/{course.id}/publish", headers=auth_headers(admin))
    assert response.status_code == 200
    assert response.json()["is_published"] is True


def test_unknown_course_is_404(client: Any) -> None:
    response = client.get(f"{API}/courses/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json()["code"] == "course_not_found"
    malformed = client.get(f"{API}/courses/not-a-uuid")
    assert malformed.status_code == 404
    assert malformed.headers["content-type"].startswith("application/problem+json")


# --- publishing ------------------------------------------------------------------------------


def test_publishing_requires_a_published_lesson(
    client: Any, instructor: Any, auth_headers: Any
) -> None:
    headers = auth_headers(instructor)
    course = _create(client, headers)
    refused = client.post(f"{API}/courses/{course['id']}/publish", headers=headers)
    assert refused.status_code == 422
    assert refused.json()["code"] == "course_has_no_published_lessons"
    client.post(f"{API}/courses/{course['id']}/lessons", json={"title": "Draft"}, headers=headers)
    assert client.post(f"{API}/courses/{course['id']}/publish", headers=headers).status_code == 422

    lesson = client.post(
        f"{API}/courses/{course['id']}/lessons",
        json={"title": "Ready", "is_published": True},
        headers=headers,
    ).json()
    published = client.post(f"{API}/courses/{course['id']}/publish", headers=headers)
    assert published.status_code == 200
    assert published.json()["published_at"] is not None

    last = client.delete(f"{API}/lessons/{lesson['id']}", headers=headers)
    assert last.status_code == 422
    assert last.json()["code"] == "last_published_lesson"

    unpublished = client.post(f"{API}/courses/{course['id']}/unpublish", headers=headers)
    assert unpublished.json()["is_published"] is False
    assert client.get(f"{API}/courses/{course['id']}").status_code == 404


# --- deletion ---------------------------------------------------------------------------------


def test_delete_course_without_enrollments(client: Any, instructor: Any, auth_headers: Any) -> None:
    course = create_course(instructor)
    assert (
        client.delete(f"{API}/courses/{course.id}", headers=auth_headers(instructor)).status_code
        == 204
    )
    with session_scope() as session:
        assert session.get(Course, course.id) is None


def test_delete_course_with_enrollments_archives_it(
    client: Any, instructor: Any, student: Any, auth_headers: Any
) -> None:
    course = create_course(instructor)
    enrollment_id = create_enrollment(student, course)
    response = client.delete(f"{API}/courses/{course.id}", headers=auth_headers(instructor))
    assert response.status_code == 204
    with session_scope() as session:
        row = session.get(Course, course.id)
        assert row is not None and row.archived_at is not None and not row.is_published
        assert session.get(Enrollment, enrollment_id) is not None
    assert client.get(f"{API}/courses/{course.id}").status_code == 404
    assert client.get(f"{API}/courses").json()["total"] == 0
    owner_view = client.get(f"{API}/courses/{course.id}", headers=auth_headers(instructor))
    assert owner_view.json()["archived_at"] is not None
    republish = client.post(f"{API}/courses/{course.id}/publish", headers=auth_headers(instructor))
    assert republish.status_code == 422
    assert republish.json()["code"] == "course_archived"


# --- own courses ------------------------------------------------------------------------------


def test_own_courses_include_drafts(
    client: Any, instructor: Any, other_instructor: Any, student: Any, auth_headers: Any
) -> None:
    draft = create_course(instructor, published=False)
    live = create_course(instructor)
    create_course(other_instructor)
    for url in (f"{API}/courses/me", f"{API}/courses?mine=true"):
        page = client.get(url, headers=auth_headers(instructor)).json()
        assert {item["id"] for item in page["items"]} == {str(draft.id), str(live.id)}
    assert client.get(f"{API}/courses?mine=true").status_code == 401
    assert client.get(f"{API}/courses/me", headers=auth_headers(student)).status_code == 403


# --- aggregates -------------------------------------------------------------------------------


def test_detail_aggregates_are_computed(
    client: Any, instructor: Any, make_user: Any, auth_headers: Any
) -> None:
    course = create_course(instructor, lessons=3, duration_minutes=20)
    ratings = [5, 4, None]
    for index, rating in enumerate(ratings):
        learner = make_user(email=f"learner{index}@example.com")
        create_enrollment(learner, course, rating=rating)
    dropped = make_user(email="dropped@example.com")
    create_enrollment(dropped, course, status="dropped", rating=1)
    detail = client.get(f"{API}/courses/{course.id}").json()
    assert detail["lesson_count"] == 3
    assert detail["total_duration_minutes"] == 60
    assert detail["enrollment_count"] == 3
    assert detail["average_rating"] == 4.5
    assert detail["rating_count"] == 2
    assert detail["instructor_name"] == instructor.full_name
    assert detail["price"] == "0.00"
    assert detail["is_free"] is True


# --- catalogue --------------------------------------------------------------------------------


@pytest.fixture
def catalogue(instructor: Any, other_instructor: Any, make_user: Any) -> dict[str, Any]:
    courses = {
        "python": create_course(
            instructor,
            title="Python Basics",
            category="programming",
            difficulty_level="beginner",
            description="Learn 100% of the basics",
        ),
        "rust": create_course(
            other_instructor,
            title="Rust in Depth",
            category="programming",
            difficulty_level="advanced",
            price="49.99",
        ),
        "design": create_course(
            instructor,
            title="Color Theory",
            category="design",
            difficulty_level="beginner",
            description="Palettes for python dashboards",
            price="10.00",
            currency="EUR",
        ),
        "draft": create_course(instructor, title="Python Secrets", published=False),
    }
    # Popularity: rust 2 enrollments, design 1, python 0; rating: design 5, rust 3.
    first, second = make_user(), make_user()
    create_enrollment(first, courses["rust"], rating=3)
    create_enrollment(second, courses["rust"])
    create_enrollment(first, courses["design"], rating=5)
    return courses


def _ids(client: Any, **params: Any) -> list[str]:
    response = client.get(f"{API}/courses", params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_catalogue_filters(client: Any, catalogue: dict[str, Any], other_instructor: Any) -> None:
    ids = {name: str(course.id) for name, course in catalogue.items()}
    assert set(_ids(client)) == {ids["python"], ids["rust"], ids["design"]}
    assert set(_ids(client, category="programming")) == {ids["python"], ids["rust"]}
    assert set(_ids(client, difficulty_level="beginner")) == {ids["python"], ids["design"]}
    assert _ids(client, instructor_id=str(other_instructor.id)) == [ids["rust"]]
    assert _ids(client, is_free="true") == [ids["python"]]
    assert set(_ids(client, is_free="false")) == {ids["rust"], ids["design"]}
    assert client.get(f"{API}/courses", params={"difficulty_level": "x"}).status_code == 422


def test_catalogue_search(client: Any, catalogue: dict[str, Any]) -> None:
    ids = {name: str(course.id) for name, course in catalogue.items()}
    # Title and description, case-insensitive; the draft never shows.
    assert set(_ids(client, search="PYTHON")) == {ids["python"], ids["design"]}
    assert _ids(client, search="depth") == [ids["rust"]]
    # LIKE wildcards in the search text are matched literally.
    assert _ids(client, search="100%") == [ids["python"]]
    assert _ids(client, search="%") == [ids["python"]]
    assert _ids(client, search="_") == []


def test_catalogue_sorting(client: Any, catalogue: dict[str, Any]) -> None:
    ids = {name: str(course.id) for name, course in catalogue.items()}
    assert _ids(client, sort="title") == [ids["design"], ids["python"], ids["rust"]]
    assert _ids(client, sort="newest") == [ids["design"], ids["rust"], ids["python"]]
    assert _ids(client, sort="popularity") == [ids["rust"], ids["design"], ids["python"]]
    assert _ids(client, sort="rating") == [ids["design"], ids["rust"], ids["python"]]
    assert client.get(f"{API}/courses", params={"sort": "random"}).status_code == 422


def test_catalogue_pagination(client: Any, instructor: Any) -> None:
    for number in range(5):
        create_course(instructor, title=f"Course {number:02d}")
    first = client.get(f"{API}/courses", params={"page_size": 2, "sort": "title"}).json()
    assert first["total"] == 5 and first["pages"] == 3 and first["page"] == 1
    assert [item["title"] for item in first["items"]] == ["Course 00", "Course 01"]
    last = client.get(f"{API}/courses", params={"page_size": 2, "page": 3, "sort": "title"}).json()
    assert [item["title"] for item in last["items"]] == ["Course 04"]
    assert client.get(f"{API}/courses", params={"page_size": 101}).status_code == 422
    assert client.get(f"{API}/courses", params={"page": 0}).status_code == 422


def test_catalogue_cache_is_invalidated_by_course_changes(
    client: Any, instructor: Any, auth_headers: Any
) -> None:
    course = create_course(instructor, title="Original")
    assert [item["title"] for item in client.get(f"{API}/courses").json()["items"]] == ["Original"]
    assert client.get(f"{API}/courses/{course.id}").json()["title"] == "Original"
    # A change behind the service's back is not seen: the answer is cached...
    with session_scope() as session:
        session.execute(update(Course).values(title="Sneaky"))
    assert [item["title"] for item in client.get(f"{API}/courses").json()["items"]] == ["Original"]
    assert client.get(f"{API}/courses/{course.id}").json()["title"] == "Original"
    # ...and a change through the API invalidates it at once.
    client.patch(
        f"{API}/courses/{course.id}", json={"title": "Renamed"}, headers=auth_headers(instructor)
    )
    assert [item["title"] for item in client.get(f"{API}/courses").json()["items"]] == ["Renamed"]
    assert client.get(f"{API}/courses/{course.id}").json()["title"] == "Renamed"


def test_catalogue_cache_key_separates_filters_and_viewers(
    client: Any, instructor: Any, student: Any, auth_headers: Any
) -> None:
    create_course(instructor, title="Alpha", category="a")
    create_course(instructor, title="Beta", category="b")
    assert len(client.get(f"{API}/courses", params={"category": "a"}).json()["items"]) == 1
    assert len(client.get(f"{API}/courses", params={"category": "b"}).json()["items"]) == 1
    assert client.get(f"{API}/courses", params={"page_size": 1}).json()["page_size"] == 1
    # Drafts never leak into a cached catalogue page, whoever asked first.
    create_course(instructor, title="Gamma", published=False)
    owner_page = client.get(f"{API}/courses", headers=auth_headers(instructor)).json()
    assert [item["title"] for item in owner_page["items"]].count("Gamma") == 0
    own = client.get(f"{API}/courses?mine=true", headers=auth_headers(instructor)).json()
    assert "Gamma" in [item["title"] for item in own["items"]]
    public = client.get(f"{API}/courses", headers=auth_headers(student)).json()
    assert "Gamma" not in [item["title"] for item in public["items"]]


def test_repeated_anonymous_requests_are_answered_from_the_cache_directly(
    client: Any, instructor: Any, student: Any, auth_headers: Any, monkeypatch: Any
) -> None:
    """The second identical anonymous request skips the endpoint (and the resolution of its
    parameters) and gets the same answer; requests with credentials never do."""
    course = create_course(instructor, title="Cached")
    # Copies are kept once the invalidation listener has subscribed (at once without Redis).
    assert set_until_held(cache_key("listening", probe=1), "yes")
    calls: list[str] = []
    original = service.cached_answer

    def counted(key: str) -> Any:
        calls.append(key.split(":")[1])
        return original(key)

    # Only the two endpoints call it: a request answered without running them does not.
    monkeypatch.setattr(service, "cached_answer", counted)
    for url in (f"{API}/courses?page_size=5", f"{API}/courses/{course.id}"):
        first = client.get(url)
        second = client.get(url)
        assert first.status_code == second.status_code == 200
        assert first.content == second.content
        assert first.headers["content-type"] == second.headers["content-type"]
    assert calls == ["list", "detail"]
    signed_in = client.get(f"{API}/courses?page_size=5", headers=auth_headers(student))
    assert signed_in.status_code == 200 and calls == ["list", "detail", "list"]


def test_cached_anonymous_answers_still_refuse_bad_tokens_and_follow_changes(
    client: Any, instructor: Any, auth_headers: Any
) -> None:
    course = create_course(instructor, title="Public")
    url = f"{API}/courses/{course.id}"
    for _ in range(2):
        assert client.get(url).status_code == 200
        assert client.get(f"{API}/courses").json()["total"] == 1
    forged = {"Authorization": "Bearer not-a-token"}
    assert client.get(url, headers=forged).status_code == 401
    assert client.get(f"{API}/courses", headers=forged).status_code == 401
    client.cookies.set(ACCESS_COOKIE, "not-a-token")
    assert client.get(f"{API}/courses").status_code == 401
    client.cookies.clear()
    unpublished = client.post(
        f"{API}/courses/{course.id}/unpublish", headers=auth_headers(instructor)
    )
    assert unpublished.status_code == 200
    assert client.get(url).status_code == 404
    assert client.get(f"{API}/courses").json()["total"] == 0


def test_a_course_without_currency_gets_the_configured_default(
    env: Any, instructor: Any, auth_headers: Any
) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    env(DEFAULT_CURRENCY="EGP")
    client = TestClient(create_app())
    created = client.post(
        "/api/v1/courses",
        json={"title": "Arabic calligraphy", "price": "150"},
        headers=auth_headers(instructor),
    )
    assert created.status_code == 201, created.text
    assert created.json()["currency"] == "EGP"
