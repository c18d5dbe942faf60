"""Quiz and question authoring: ownership, publish validation, the management view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.modules.quizzes.factories import enroll, make_course, make_quiz

H = Callable[[Any], dict[str, str]]


def _quizzes(course_id: Any) -> str:
    return f"/api/v1/courses/{course_id}/quizzes"


def _choice(correct: Any = "a", kind: str = "multiple_choice") -> dict[str, Any]:
    return {
        "question_text": "Pick",
        "question_type": kind,
        "options": [{"id": "a", "text": "A"}, {"id": "b", "text": "B"}],
        "correct_answer": correct,
        "points": "2",
        "explanation": "Because.",
    }


def test_owner_creates_quiz_and_publish_requires_valid_questions(
    client: TestClient, instructor: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    headers = auth_headers(instructor)
    created = client.post(
        _quizzes(course.id),
        json={"title": "Week 1", "quiz_type": "graded", "lesson_id": str(course.lesson_ids[1])},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    quiz = created.json()
    assert quiz["is_published"] is False and quiz["passing_score"] == "70.00"
    base = f"{_quizzes(course.id)}/{quiz['id']}"

    empty = client.post(f"{base}/publish", headers=headers)
    assert empty.status_code == 422
    assert empty.json()["code"] == "quiz_not_publishable"
    assert empty.json()["problems"] == ["the quiz has no questions"]

    # A draft question without a correct answer is allowed, but blocks publishing.
    draft = client.post(f"{base}/questions", json=_choice(correct=None), headers=headers)
    assert draft.status_code == 201, draft.text
    blocked = client.post(f"{base}/publish", headers=headers)
    assert blocked.status_code == 422
    assert "has no correct answer" in blocked.json()["problems"][0]

    fixed = client.patch(
        f"{base}/questions/{draft.json()['id']}", json={"correct_answer": "b"}, headers=headers
    )
    assert fixed.status_code == 200, fixed.text
    published = client.post(f"{base}/publish", headers=headers)
    assert published.status_code == 200
    assert published.json()["is_published"] is True and published.json()["published_at"]

    # A published quiz cannot be edited into an ungradable state.
    broken = client.patch(
        f"{base}/questions/{draft.json()['id']}", json={"correct_answer": None}, headers=headers
    )
    assert broken.status_code == 422
    last = client.delete(f"{base}/questions/{draft.json()['id']}", headers=headers)
    assert last.status_code == 422
    still = client.get(f"{base}/questions", headers=headers).json()
    assert still["total"] == 1 and still["items"][0]["correct_answer"] == "b"


def test_question_shapes_are_validated_on_save(
    client: TestClient, instructor: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    headers = auth_headers(instructor)
    quiz = client.post(_quizzes(course.id), json={"title": "Q"}, headers=headers).json()
    base = f"{_quizzes(course.id)}/{quiz['id']}/questions"
    bad = [
        _choice(correct="z"),  # not one of the options
        _choice(correct=["a", "z"], kind="multiple_select"),
        {**_choice(), "options": [{"id": "a", "text": "A"}, {"id": "a", "text": "B"}]},
        {"question_text": "T/F", "question_type": "true_false", "correct_answer": "yes"},
        {
            "question_text": "T/F",
            "question_type": "true_false",
            "correct_answer": True,
            "options": [{"id": "a", "text": "A"}],
        },
        {"question_text": "Say", "question_type": "short_answer", "correct_answer": []},
        {**_choice(), "points": "0"},
        {**_choice(), "question_type": "essay"},
        {**_choice(), "options": None},
    ]
    for body in bad:
        response = client.post(base, json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
    assert client.get(base, headers=headers).json()["total"] == 0

    short = client.post(
        base,
        json={
            "question_text": "Capital?",
            "question_type": "short_answer",
            "correct_answer": "Paris",
        },
        headers=headers,
    )
    assert short.status_code == 201
    assert short.json()["correct_answer"] == ["Paris"]


def test_reorder_questions(client: TestClient, instructor: Any, auth_headers: H) -> None:
    course = make_course(instructor)
    quiz = make_quiz(course, published=False)
    headers = auth_headers(instructor)
    base = f"{_quizzes(course.id)}/{quiz.id}/questions"
    new_order = [str(q) for q in reversed(quiz.question_ids)]
    response = client.put(f"{base}/order", json={"question_ids": new_order}, headers=headers)
    assert response.status_code == 204
    listed = client.get(base, headers=headers).json()["items"]
    assert [q["id"] for q in listed] == new_order
    assert [q["order_index"] for q in listed] == [0, 1, 2, 3]

    partial = client.put(f"{base}/order", json={"question_ids": new_order[:2]}, headers=headers)
    assert partial.status_code == 422
    assert [q["id"] for q in client.get(base, headers=headers).json()["items"]] == new_order


def test_lesson_link_must_be_in_the_course_and_unique(
    client: TestClient, instructor: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    other = make_course(instructor)
    headers = auth_headers(instructor)
    foreign = client.post(
        _quizzes(course.id),
        json={"title": "Q", "lesson_id": str(other.lesson_ids[0])},
        headers=headers,
    )
    assert foreign.status_code == 422
    first = client.post(
        _quizzes(course.id),
        json={"title": "Q", "lesson_id": str(course.lesson_ids[1])},
        headers=headers,
    )
    assert first.status_code == 201
    second = client.post(
        _quizzes(course.id),
        json={"title": "Q2", "lesson_id": str(course.lesson_ids[1])},
        headers=headers,
    )
    assert second.status_code == 409
    assert client.get(_quizzes(course.id), headers=headers).json()["total"] == 1


def test_students_see_published_quizzes_but_never_the_questions(
    client: TestClient, instructor: Any, student: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    published = make_quiz(course)
    draft = make_quiz(course, published=False, title="Draft")
    headers = auth_headers(student)

    listed = client.get(_quizzes(course.id), headers=headers).json()
    assert [q["id"] for q in listed["items"]] == [str(published.id)]
    assert client.get(f"{_quizzes(course.id)}/{draft.id}", headers=headers).status_code == 404
    questions = client.get(f"{_quizzes(course.id)}/{published.id}/questions", headers=headers)
    assert questions.status_code == 403
    assert "correct_answer" not in questions.text

    owner_view = client.get(_quizzes(course.id), headers=auth_headers(instructor)).json()
    assert owner_view["total"] == 2


def test_quiz_list_follows_course_visibility(
    client: TestClient, instructor: Any, student: Any, admin: Any, auth_headers: H
) -> None:
    draft_course = make_course(instructor, published=False)
    make_quiz(draft_course)
    make_quiz(draft_course, published=False, title="Draft")
    # Not enrolled in an unpublished course: the course does not exist for them.
    assert client.get(_quizzes(draft_course.id), headers=auth_headers(student)).status_code == 404
    # Enrolled students keep seeing the published quizzes of a course taken off the catalogue.
    enroll(student, draft_course)
    listed = client.get(_quizzes(draft_course.id), headers=auth_headers(student)).json()
    assert listed["total"] == 1
    # Admins manage every course, drafts included; an unknown course is not found.
    assert client.get(_quizzes(draft_course.id), headers=auth_headers(admin)).json()["total"] == 2
    unknown = _quizzes("00000000-0000-4000-8000-000000000000")
    assert client.get(unknown, headers=auth_headers(admin)).status_code == 404


def test_management_view_shows_correct_answers_to_the_owner(
    client: TestClient, instructor: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    quiz = make_quiz(course)
    items = client.get(
        f"{_quizzes(course.id)}/{quiz.id}/questions", headers=auth_headers(instructor)
    ).json()["items"]
    assert items[0]["correct_answer"] == "b" and items[0]["explanation"] == "Basic arithmetic."


def test_instructor_of_another_course_cannot_manage(
    client: TestClient, instructor: Any, make_user: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    quiz = make_quiz(course, published=False)
    intruder = auth_headers(make_user(role="instructor"))
    base = f"{_quizzes(course.id)}/{quiz.id}"
    assert (
        client.post(_quizzes(course.id), json={"title": "X"}, headers=intruder).status_code == 403
    )
    assert client.patch(base, json={"title": "X"}, headers=intruder).status_code == 403
    assert client.post(f"{base}/publish", headers=intruder).status_code == 403
    assert client.delete(base, headers=intruder).status_code == 403
    assert client.get(f"{base}/questions", headers=intruder).status_code == 403
    assert client.post(f"{base}/questions", json=_choice(), headers=intruder).status_code == 403
    assert client.get(f"/api/v1/quizzes/{quiz.id}/attempts", headers=intruder).status_code == 403
    # A quiz id under another course's URL is not found.
    mine = make_course(instructor)
    wrong = client.get(f"{_quizzes(mine.id)}/{quiz.id}", headers=auth_headers(instructor))
    assert wrong.status_code == 404


def test_students_cannot_author(
    client: TestClient, instructor: Any, student: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    response = client.post(
        _quizzes(course.id), json={"title": "Mine"}, headers=auth_headers(student)
    )
    assert response.status_code == 403
    assert client.get(_quizzes(course.id), headers=auth_headers(instructor)).json()["total"] == 0


def test_update_and_unpublish(client: TestClient, instructor: Any, auth_headers: H) -> None:
    course = make_course(instructor)
    quiz = make_quiz(course)
    headers = auth_headers(instructor)
    base = f"{_quizzes(course.id)}/{quiz.id}"
    updated = client.patch(
        base,
        json={"passing_score": "55.5", "max_attempts": 3, "time_limit_minutes": None},
        headers=headers,
    )
    assert updated.status_code == 200
    assert updated.json()["passing_score"] == "55.50" and updated.json()["max_attempts"] == 3
    assert client.patch(base, json={"title": None}, headers=headers).status_code == 422
    assert client.patch(base, json={"passing_score": 101}, headers=headers).status_code == 422
    assert client.post(f"{base}/unpublish", headers=headers).json()["is_published"] is False


def test_delete_quiz_refused_once_students_attempted(
    client: TestClient, instructor: Any, student: Any, auth_headers: H
) -> None:
    course = make_course(instructor)
    enroll(student, course)
    quiz = make_quiz(course)
    unused = make_quiz(course, title="Unused")
    started = client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=auth_headers(student))
    assert started.status_code == 201
    headers = auth_headers(instructor)
    refused = client.delete(f"{_quizzes(course.id)}/{quiz.id}", headers=headers)
    assert refused.status_code == 409
    assert client.get(f"{_quizzes(course.id)}/{quiz.id}", headers=headers).status_code == 200
    assert client.delete(f"{_quizzes(course.id)}/{unused.id}", headers=headers).status_code == 204
    assert client.get(f"{_quizzes(course.id)}/{unused.id}", headers=headers).status_code == 404
