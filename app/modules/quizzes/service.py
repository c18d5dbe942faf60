"""Quiz authoring: quizzes, questions, publishing; and the course-level quiz checks other
modules use (`graded_quizzes_passed`).

Access: the course's instructor and admins manage quizzes and see the management view
(correct answers, explanations). Everyone who can see the course sees its published quizzes'
settings; questions reach students only through attempts (`attempts.py`).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.database import utcnow
from app.core.errors import BusinessRuleViolation, Conflict, NotFound
from app.core.latework import (
    Deadlines,
    ExtensionIn,
    ExtensionRead,
    apply_changes,
    check_deadlines,
    remove_extension,
    save_extension,
    student_deadlines,
)
from app.core.pagination import Page, PageParams, paginate
from app.modules.courses import access as courses_access
from app.modules.courses import locks, sections
from app.modules.courses import service as courses_service
from app.modules.courses.models import ItemKind
from app.modules.enrollments import service as enrollments_service
from app.modules.quizzes import repository
from app.modules.quizzes.grading import question_problems
from app.modules.quizzes.models import (
    CHOICE_TYPES,
    QuestionType,
    Quiz,
    QuizExtension,
    QuizQuestion,
)
from app.modules.quizzes.schemas import (
    QuestionCreate,
    QuestionOrder,
    QuestionRead,
    QuestionUpdate,
    QuizCreate,
    QuizRead,
    QuizUpdate,
)
from app.modules.users.models import User


class QuizNotFound(NotFound):
    code = "quiz_not_found"


class QuestionNotFound(NotFound):
    code = "question_not_found"


def graded_quizzes_passed(db: Session, *, enrollment_id: uuid.UUID, course_id: uuid.UUID) -> bool:
    """True when every published graded quiz of the course has a passed attempt by the
    enrollment (also when the course has none)."""
    return repository.graded_quizzes_passed(db, enrollment_id=enrollment_id, course_id=course_id)


# --- access ------------------------------------------------------------------------------


def _quiz_in_course(db: Session, course_id: uuid.UUID, quiz_id: uuid.UUID) -> Quiz:
    quiz = repository.get_quiz(db, quiz_id)
    if quiz is None or quiz.course_id != course_id:
        raise QuizNotFound("Quiz not found")
    return quiz


def owned_quiz(db: Session, *, course_id: uuid.UUID, quiz_id: uuid.UUID, user: User) -> Quiz:
    """The quiz, for the course's instructor or an admin only."""
    courses_access.get_owned_course(
        db, course_id=course_id, user=user, capability=courses_access.Capability.CONTENT
    )
    return _quiz_in_course(db, course_id, quiz_id)


# --- quizzes -----------------------------------------------------------------------------


def list_quizzes(
    db: Session, *, course_id: uuid.UUID, user: User, params: PageParams
) -> Page[QuizRead]:
    access = courses_access.course_access(db, course_id=course_id, user=user)
    # A visitor (not enrolled) lists the quizzes of preview lessons only, as for lessons.
    statement = repository.quizzes_of_course(
        course_id,
        published_only=not access.manager,
        lesson_ids=courses_access.readable_item_lessons(db, access),
    )
    rows, total = paginate(db, statement, params)
    # A locked quiz is listed (the outline shows it too) without its description.
    locked = (
        locks.locked_targets(db, course_id=course_id, student_id=user.id, kind=ItemKind.QUIZ)
        if access.enrolled
        else set()
    )
    reads = [QuizRead.model_validate(row) for row in rows]
    return Page[QuizRead].build(
        [read.model_copy(update={"description": None}) if read.id in locked else read
         for read in reads],
        total,
        params,
    )  # fmt: skip


def get_quiz(db: Session, *, course_id: uuid.UUID, quiz_id: uuid.UUID, user: User) -> QuizRead:
    access = courses_access.course_access(db, course_id=course_id, user=user)
    quiz = _quiz_in_course(db, course_id, quiz_id)
    if not quiz.is_published and not access.manager:
        raise QuizNotFound("Quiz not found")
    courses_access.require_item_access(db, access, lesson_id=quiz.lesson_id)
    locks.require_open(db, user=user, kind=ItemKind.QUIZ, target_id=quiz.id)
    return QuizRead.model_validate(quiz)


def _check_lesson(db: Session, quiz: Quiz, lesson_id: uuid.UUID | None) -> None:
    if lesson_id is None:
        return
    lesson = courses_service.get_lesson(db, lesson_id=lesson_id)
    if lesson.course_id != quiz.course_id:
        raise BusinessRuleViolation(
            "The lesson belongs to another course", code="lesson_not_in_course"
        )
    other = repository.quiz_for_lesson(db, lesson_id)
    if other is not None and other.id != quiz.id:
        raise Conflict("That lesson already has a quiz", code="lesson_has_quiz")


def _flush_quiz(db: Session) -> None:
    # The unique lesson_id also settles two concurrent requests linking the same lesson.
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError as exc:
        raise Conflict("That lesson already has a quiz", code="lesson_has_quiz") from exc


def create_quiz(db: Session, *, course_id: uuid.UUID, user: User, data: QuizCreate) -> QuizRead:
    # Locking the course serializes concurrent inserts into its sections.
    courses_access.get_owned_course(
        db,
        course_id=course_id,
        user=user,
        capability=courses_access.Capability.CONTENT,
        for_update=True,
    )
    check_deadlines(data.due_at, data.lock_at)
    quiz = Quiz(course_id=course_id, **data.model_dump(exclude={"section_id"}))
    _check_lesson(db, quiz, data.lesson_id)
    db.add(quiz)
    _flush_quiz(db)
    sections.place_item(
        db, course_id=course_id, kind=ItemKind.QUIZ, target_id=quiz.id, section_id=data.section_id
    )
    return QuizRead.model_validate(quiz)


def update_quiz(
    db: Session, *, course_id: uuid.UUID, quiz_id: uuid.UUID, user: User, data: QuizUpdate
) -> QuizRead:
    quiz = owned_quiz(db, course_id=course_id, quiz_id=quiz_id, user=user)
    changes = data.model_dump(exclude_unset=True)
    if "lesson_id" in changes:
        _check_lesson(db, quiz, changes["lesson_id"])
    apply_changes(quiz, changes)
    _flush_quiz(db)
    return QuizRead.model_validate(quiz)


def student_deadlines_of(db: Session, quiz: Quiz, student_id: uuid.UUID) -> Deadlines:
    """The quiz's due and lock dates for one student, their extension applied."""
    return student_deadlines(db, quiz, QuizExtension, item_column="quiz_id", student_id=student_id)


def grant_extension(
    db: Session, *, course_id: uuid.UUID, quiz_id: uuid.UUID, user: User, data: ExtensionIn
) -> tuple[ExtensionRead, bool]:
    """Give one enrolled student a later due date; the flag says whether it is new."""
    quiz = owned_quiz(db, course_id=course_id, quiz_id=quiz_id, user=user)
    enrollments_service.require_student_enrollment(
        db, student_id=data.student_id, course_id=quiz.course_id
    )
    return save_extension(
        db, quiz, QuizExtension, item_column="quiz_id", data=data, granted_by_id=user.id
    )


def withdraw_extension(
    db: Session, *, course_id: uuid.UUID, quiz_id: uuid.UUID, user: User, student_id: uuid.UUID
) -> None:
    quiz = owned_quiz(db, course_id=course_id, quiz_id=quiz_id, user=user)
    remove_extension(db, quiz, QuizExtension, item_column="quiz_id", student_id=student_id)


def delete_quiz(db: Session, *, course_id: uuid.UUID, quiz_id: uuid.UUID, user: User) -> None:
    quiz = owned_quiz(db, course_id=course_id, quiz_id=quiz_id, user=user)
    if repository.has_student_attempts(db, quiz.id):
        # Deleting would silently erase students' grades; unpublish it instead.
        raise Conflict(
            "Students have attempted this quiz; unpublish it instead of deleting it",
            code="quiz_has_attempts",
        )
    db.delete(quiz)
    db.flush()


def publish_problems(db: Session, quiz_id: uuid.UUID) -> list[str]:
    questions = repository.list_questions(db, quiz_id)
    if not questions:
        return ["the quiz has no questions"]
    return [
        f"question {position} ({question.id}) {problem}"
        for position, question in enumerate(questions, start=1)
        for problem in question_problems(
            question.question_type, question.options, question.correct_answer
        )
    ]


def _require_publishable(db: Session, quiz: Quiz) -> None:
    problems = publish_problems(db, quiz.id)
    if problems:
        verb = "published" if not quiz.is_published else "left published like this"
        raise BusinessRuleViolation(
            f"The quiz cannot be {verb}: " + "; ".join(problems),
            code="quiz_not_publishable",
            extra={"problems": problems},
        )


def publish_quiz(db: Session, *, course_id: uuid.UUID, quiz_id: uuid.UUID, user: User) -> QuizRead:
    quiz = owned_quiz(db, course_id=course_id, quiz_id=quiz_id, user=user)
    _require_publishable(db, quiz)
    if not quiz.is_published:
        quiz.is_published = True
        quiz.published_at = utcnow()
        db.flush()
    return QuizRead.model_validate(quiz)


def unpublish_quiz(
    db: Session, *, course_id: uuid.UUID, quiz_id: uuid.UUID, user: User
) -> QuizRead:
    quiz = owned_quiz(db, course_id=course_id, quiz_id=quiz_id, user=user)
    quiz.is_published = False
    db.flush()
    return QuizRead.model_validate(quiz)


# --- questions ---------------------------------------------------------------------------


def _normalized_correct_answer(question_type: str, correct_answer: Any) -> Any:
    # A single accepted short answer may be sent as a plain string.
    if question_type == QuestionType.SHORT_ANSWER and isinstance(correct_answer, str):
        return [correct_answer]
    return correct_answer


def _check_question(db: Session, quiz: Quiz, question: QuizQuestion) -> None:
    """Refuse a malformed question; a missing correct answer is allowed on a draft quiz."""
    if question.question_type in CHOICE_TYPES:
        if question.options is None:
            raise BusinessRuleViolation("Choice questions need options", code="invalid_question")
    elif question.options is not None:
        raise BusinessRuleViolation(
            f"{question.question_type} questions take no options", code="invalid_question"
        )
    problems = question_problems(question.question_type, question.options, question.correct_answer)
    draft = question.correct_answer is None and not quiz.is_published
    if problems and not draft:
        raise BusinessRuleViolation(
            "The question is not valid: " + "; ".join(problems),
            code="invalid_question",
            extra={"problems": problems},
        )


def list_questions(
    db: Session, *, course_id: uuid.UUID, quiz_id: uuid.UUID, user: User, params: PageParams
) -> Page[QuestionRead]:
    quiz = owned_quiz(db, course_id=course_id, quiz_id=quiz_id, user=user)
    rows, total = paginate(db, repository.questions_query(quiz.id), params)
    return Page[QuestionRead].build(
        [QuestionRead.model_validate(row) for row in rows], total, params
    )


def create_question(
    db: Session, *, course_id: uuid.UUID, quiz_id: uuid.UUID, user: User, data: QuestionCreate
) -> QuestionRead:
    quiz = owned_quiz(db, course_id=course_id, quiz_id=quiz_id, user=user)
    values = data.model_dump(mode="json", exclude={"points"})
    values["correct_answer"] = _normalized_correct_answer(data.question_type, data.correct_answer)
    question = QuizQuestion(
        quiz_id=quiz.id,
        points=data.points,
        order_index=repository.next_question_index(db, quiz.id),
        **values,
    )
    _check_question(db, quiz, question)
    db.add(question)
    db.flush()
    return QuestionRead.model_validate(question)


def update_question(
    db: Session,
    *,
    course_id: uuid.UUID,
    quiz_id: uuid.UUID,
    question_id: uuid.UUID,
    user: User,
    data: QuestionUpdate,
) -> QuestionRead:
    quiz = owned_quiz(db, course_id=course_id, quiz_id=quiz_id, user=user)
    question = repository.get_question(db, quiz.id, question_id)
    if question is None:
        raise QuestionNotFound("Question not found")
    changes = data.model_dump(mode="json", exclude_unset=True, exclude={"points"})
    if data.points is not None:
        question.points = data.points
    for name, value in changes.items():
        setattr(question, name, value)
    question.correct_answer = _normalized_correct_answer(
        question.question_type, question.correct_answer
    )
    _check_question(db, quiz, question)
    db.flush()
    return QuestionRead.model_validate(question)


def delete_question(
    db: Session, *, course_id: uuid.UUID, quiz_id: uuid.UUID, question_id: uuid.UUID, user: User
) -> None:
    quiz = owned_quiz(db, course_id=course_id, quiz_id=quiz_id, user=user)
    question = repository.get_question(db, quiz.id, question_id)
    if question is None:
        raise QuestionNotFound("Question not found")
    db.delete(question)
    db.flush()
    if quiz.is_published:
        _require_publishable(db, quiz)


def reorder_questions(
    db: Session, *, course_id: uuid.UUID, quiz_id: uuid.UUID, user: User, data: QuestionOrder
) -> None:
    quiz = owned_quiz(db, course_id=course_id, quiz_id=quiz_id, user=user)
    questions = {question.id: question for question in repository.list_questions(db, quiz.id)}
    if len(set(data.question_ids)) != len(data.question_ids) or set(data.question_ids) != set(
        questions
    ):
        raise BusinessRuleViolation(
            "question_ids must list every question of the quiz exactly once",
            code="invalid_question_order",
        )
    for position, question_id in enumerate(data.question_ids):
        questions[question_id].order_index = position
    db.flush()
