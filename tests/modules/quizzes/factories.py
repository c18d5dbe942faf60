"""Assessment test data: courses, lessons, enrollments, quizzes and questions inserted with
the ORM (no HTTP), plus small request helpers."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.core.database import session_scope, utcnow
from app.modules.courses.models import Course, Lesson
from app.modules.enrollments.models import Enrollment
from app.modules.quizzes.models import Quiz, QuizQuestion
from app.modules.users.models import User

_counter = itertools.count(1)


@dataclass(frozen=True)
class CourseData:
    id: uuid.UUID
    instructor_id: uuid.UUID
    lesson_ids: list[uuid.UUID] = field(default_factory=list)


def make_course(
    instructor: User, *, lesson_types: tuple[str, ...] = ("text", "quiz"), published: bool = True
) -> CourseData:
    number = next(_counter)
    with session_scope() as session:
        course = Course(
            title=f"Assessment course {number}",
            slug=f"assessment-course-{number}-{uuid.uuid4().hex[:6]}",
            instructor_id=instructor.id,
            is_published=published,
            published_at=utcnow() if published else None,
        )
        session.add(course)
        session.flush()
        lesson_ids = []
        for index, lesson_type in enumerate(lesson_types):
            lesson = Lesson(
                course_id=course.id,
                title=f"Lesson {index + 1}",
                slug=f"lesson-{index + 1}",
                lesson_type=lesson_type,
                order_index=index,
                is_published=True,
            )
            session.add(lesson)
            session.flush()
            lesson_ids.append(lesson.id)
        return CourseData(course.id, instructor.id, lesson_ids)


def enroll(student: User, course: CourseData, **fields: Any) -> uuid.UUID:
    with session_scope() as session:
        enrollment = Enrollment(
            student_id=student.id,
            course_id=course.id,
            total_lessons_count=len(course.lesson_ids),
            **fields,
        )
        session.add(enrollment)
        session.flush()
        return enrollment.id


# Four questions, one of each type, worth 1 + 2 + 1 + 1 = 5 points.
STANDARD_QUESTIONS: list[dict[str, Any]] = [
    {
        "question_text": "2 + 2 = ?",
        "question_type": "multiple_choice",
        "options": [{"id": "a", "text": "3"}, {"id": "b", "text": "4"}, {"id": "c", "text": "5"}],
        "correct_answer": "b",
        "points": Decimal("1"),
        "explanation": "Basic arithmetic.",
    },
    {
        "question_text": "Which are primes?",
        "question_type": "multiple_select",
        "options": [
            {"id": "p2", "text": "2"},
            {"id": "p3", "text": "3"},
            {"id": "p4", "text": "4"},
            {"id": "p5", "text": "5"},
        ],
        "correct_answer": ["p2", "p3", "p5"],
        "points": Decimal("2"),
        "explanation": "4 = 2 x 2.",
    },
    {
        "question_text": "The sky is blue.",
        "question_type": "true_false",
        "options": None,
        "correct_answer": True,
        "points": Decimal("1"),
        "explanation": "Rayleigh scattering.",
    },
    {
        "question_text": "Capital of France?",
        "question_type": "short_answer",
        "options": None,
        "correct_answer": ["Paris", "Ville de Paris"],
        "points": Decimal("1"),
        "explanation": "It is Paris.",
    },
]

ALL_RIGHT = {0: "b", 1: ["p2", "p3", "p5"], 2: True, 3: "  paris "}


@dataclass(frozen=True)
class QuizData:
    id: uuid.UUID
    course_id: uuid.UUID
    question_ids: list[uuid.UUID]


def make_quiz(
    course: CourseData,
    *,
    questions: list[dict[str, Any]] | None = None,
    published: bool = True,
    **settings: Any,
) -> QuizData:
    with session_scope() as session:
        quiz = Quiz(
            course_id=course.id,
            title=settings.pop("title", "Quiz"),
            is_published=published,
            published_at=utcnow() if published else None,
            **settings,
        )
        session.add(quiz)
        session.flush()
        ids = []
        for index, spec in enumerate(STANDARD_QUESTIONS if questions is None else questions):
            question = QuizQuestion(quiz_id=quiz.id, order_index=index, **spec)
            session.add(question)
            session.flush()
            ids.append(question.id)
        return QuizData(quiz.id, course.id, ids)


def answers_payload(quiz: QuizData, by_index: dict[int, Any]) -> dict[str, Any]:
    return {
        "answers": [
            {"question_id": str(quiz.question_ids[index]), "answer": answer}
            for index, answer in by_index.items()
        ]
    }
