"""Quiz routes: authoring under `/courses/{course_id}/quizzes`, attempts under
`/quizzes/{quiz_id}/attempts`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Response, status

from app.core.dependencies import DbSession
from app.core.latework import ExtensionIn, ExtensionRead
from app.core.pagination import Page, Pagination
from app.core.permissions import Permission
from app.core.routing import APIRouter
from app.modules.quizzes import attempts, service
from app.modules.quizzes.schemas import (
    AnswersIn,
    AttemptRead,
    AttemptStartInfo,
    AttemptSummary,
    QuestionCreate,
    QuestionOrder,
    QuestionRead,
    QuestionUpdate,
    QuizCreate,
    QuizRead,
    QuizUpdate,
)
from app.modules.users.dependencies import CurrentUser, require_permissions
from app.modules.users.models import User

router = APIRouter(tags=["quizzes"])

QuizManager = Annotated[User, Depends(require_permissions(Permission.MANAGE_QUIZZES))]
QUIZ = "/courses/{course_id}/quizzes/{quiz_id}"
ATTEMPTS = "/quizzes/{quiz_id}/attempts"


# --- quizzes -----------------------------------------------------------------------------


@router.get("/courses/{course_id}/quizzes", response_model=Page[QuizRead])
def list_quizzes(
    course_id: uuid.UUID, db: DbSession, user: CurrentUser, params: Pagination
) -> Page[QuizRead]:
    """List a course's quizzes (drafts too for its instructor and admins)."""
    return service.list_quizzes(db, course_id=course_id, user=user, params=params)


@router.post(
    "/courses/{course_id}/quizzes", response_model=QuizRead, status_code=status.HTTP_201_CREATED
)
def create_quiz(
    course_id: uuid.UUID, data: QuizCreate, db: DbSession, user: QuizManager
) -> QuizRead:
    """Create a draft quiz in a course, optionally attached to one of its lessons."""
    return service.create_quiz(db, course_id=course_id, user=user, data=data)


@router.get(QUIZ, response_model=QuizRead)
def get_quiz(
    course_id: uuid.UUID, quiz_id: uuid.UUID, db: DbSession, user: CurrentUser
) -> QuizRead:
    """Get a quiz's settings."""
    return service.get_quiz(db, course_id=course_id, quiz_id=quiz_id, user=user)


@router.patch(QUIZ, response_model=QuizRead)
def update_quiz(
    course_id: uuid.UUID, quiz_id: uuid.UUID, data: QuizUpdate, db: DbSession, user: QuizManager
) -> QuizRead:
    """Change a quiz's settings."""
    return service.update_quiz(db, course_id=course_id, quiz_id=quiz_id, user=user, data=data)


@router.delete(QUIZ, status_code=status.HTTP_204_NO_CONTENT)
def delete_quiz(
    course_id: uuid.UUID, quiz_id: uuid.UUID, db: DbSession, user: QuizManager
) -> Response:
    """Delete a quiz no student has attempted."""
    service.delete_quiz(db, course_id=course_id, quiz_id=quiz_id, user=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    QUIZ + "/extensions", response_model=ExtensionRead, status_code=status.HTTP_201_CREATED
)
def grant_extension(
    course_id: uuid.UUID,
    quiz_id: uuid.UUID,
    data: ExtensionIn,
    db: DbSession,
    user: QuizManager,
    response: Response,
) -> ExtensionRead:
    """Give one enrolled student a later due date (201), or move their extension (200)."""
    extension, created = service.grant_extension(
        db, course_id=course_id, quiz_id=quiz_id, user=user, data=data
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return extension


@router.delete(QUIZ + "/extensions/{student_id}", status_code=status.HTTP_204_NO_CONTENT)
def withdraw_extension(
    course_id: uuid.UUID,
    quiz_id: uuid.UUID,
    student_id: uuid.UUID,
    db: DbSession,
    user: QuizManager,
) -> Response:
    """Withdraw a student's extension: the quiz's own dates apply to them again."""
    service.withdraw_extension(
        db, course_id=course_id, quiz_id=quiz_id, user=user, student_id=student_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(QUIZ + "/publish", response_model=QuizRead)
def publish_quiz(
    course_id: uuid.UUID, quiz_id: uuid.UUID, db: DbSession, user: QuizManager
) -> QuizRead:
    """Publish a quiz once it has questions and every question has a valid correct answer."""
    return service.publish_quiz(db, course_id=course_id, quiz_id=quiz_id, user=user)


@router.post(QUIZ + "/unpublish", response_model=QuizRead)
def unpublish_quiz(
    course_id: uuid.UUID, quiz_id: uuid.UUID, db: DbSession, user: QuizManager
) -> QuizRead:
    """Take a quiz back to draft; students can no longer start it."""
    return service.unpublish_quiz(db, course_id=course_id, quiz_id=quiz_id, user=user)


# --- questions (management view: includes correct answers) ------------------------------


@router.get(QUIZ + "/questions", response_model=Page[QuestionRead])
def list_questions(
    course_id: uuid.UUID,
    quiz_id: uuid.UUID,
    db: DbSession,
    user: QuizManager,
    params: Pagination,
) -> Page[QuestionRead]:
    """List a quiz's questions with their correct answers (instructor and admins only)."""
    return service.list_questions(
        db, course_id=course_id, quiz_id=quiz_id, user=user, params=params
    )


@router.post(QUIZ + "/questions", response_model=QuestionRead, status_code=status.HTTP_201_CREATED)
def create_question(
    course_id: uuid.UUID,
    quiz_id: uuid.UUID,
    data: QuestionCreate,
    db: DbSession,
    user: QuizManager,
) -> QuestionRead:
    """Add a question at the end of a quiz."""
    return service.create_question(db, course_id=course_id, quiz_id=quiz_id, user=user, data=data)


@router.put(QUIZ + "/questions/order", status_code=status.HTTP_204_NO_CONTENT)
def reorder_questions(
    course_id: uuid.UUID,
    quiz_id: uuid.UUID,
    data: QuestionOrder,
    db: DbSession,
    user: QuizManager,
) -> Response:
    """Reorder a quiz's questions (every question id exactly once)."""
    service.reorder_questions(db, course_id=course_id, quiz_id=quiz_id, user=user, data=data)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.patch(QUIZ + "/questions/{question_id}", response_model=QuestionRead)
def update_question(
    course_id: uuid.UUID,
    quiz_id: uuid.UUID,
    question_id: uuid.UUID,
    data: QuestionUpdate,
    db: DbSession,
    user: QuizManager,
) -> QuestionRead:
    """Change a question."""
    return service.update_question(
        db, course_id=course_id, quiz_id=quiz_id, question_id=question_id, user=user, data=data
    )


@router.delete(QUIZ + "/questions/{question_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_question(
    course_id: uuid.UUID,
    quiz_id: uuid.UUID,
    question_id: uuid.UUID,
    db: DbSession,
    user: QuizManager,
) -> Response:
    """Delete a question (a published quiz keeps at least one)."""
    service.delete_question(
        db, course_id=course_id, quiz_id=quiz_id, question_id=question_id, user=user
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- attempts ----------------------------------------------------------------------------


@router.get(ATTEMPTS, response_model=Page[AttemptSummary])
def list_quiz_attempts(
    quiz_id: uuid.UUID, db: DbSession, user: QuizManager, params: Pagination
) -> Page[AttemptSummary]:
    """List every attempt at a quiz (the course's instructor and admins)."""
    return attempts.quiz_attempts(db, quiz_id=quiz_id, user=user, params=params)


@router.post(
    ATTEMPTS,
    response_model=AttemptRead,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": AttemptRead, "description": "The attempt in progress, resumed"}},
)
def start_attempt(
    quiz_id: uuid.UUID, db: DbSession, user: CurrentUser, response: Response
) -> AttemptRead:
    """Start an attempt (201), or resume the one in progress (200)."""
    attempt, created = attempts.start_attempt(db, quiz_id=quiz_id, user=user)
    if not created:
        response.status_code = status.HTTP_200_OK
    return attempt


@router.get(ATTEMPTS + "/start", response_model=AttemptStartInfo)
def attempt_start_info(quiz_id: uuid.UUID, db: DbSession, user: CurrentUser) -> AttemptStartInfo:
    """Whether an attempt can be started or resumed, and the attempts used so far."""
    return attempts.start_info(db, quiz_id=quiz_id, user=user)


@router.get(ATTEMPTS + "/my-attempts", response_model=Page[AttemptSummary])
def my_attempts(
    quiz_id: uuid.UUID, db: DbSession, user: CurrentUser, params: Pagination
) -> Page[AttemptSummary]:
    """List the caller's attempts at a quiz, newest first."""
    return attempts.my_attempts(db, quiz_id=quiz_id, user=user, params=params)


@router.get(ATTEMPTS + "/{attempt_id}", response_model=AttemptRead)
def get_attempt(
    quiz_id: uuid.UUID, attempt_id: uuid.UUID, db: DbSession, user: CurrentUser
) -> AttemptRead:
    """Get an attempt: questions in its own order, saved answers, and results once graded."""
    return attempts.get_attempt(db, quiz_id=quiz_id, attempt_id=attempt_id, user=user)


@router.put(ATTEMPTS + "/{attempt_id}/answers", response_model=AttemptRead)
def save_answers(
    quiz_id: uuid.UUID, attempt_id: uuid.UUID, data: AnswersIn, db: DbSession, user: CurrentUser
) -> AttemptRead:
    """Save answers of an attempt in progress (merged into the saved ones; null clears)."""
    return attempts.save_answers(
        db, quiz_id=quiz_id, attempt_id=attempt_id, user=user, answers=data.answers
    )


@router.post(ATTEMPTS + "/{attempt_id}/submit", response_model=AttemptRead)
def submit_attempt(
    quiz_id: uuid.UUID, attempt_id: uuid.UUID, data: AnswersIn, db: DbSession, user: CurrentUser
) -> AttemptRead:
    """Submit an attempt and get it graded (submitting again returns the same result)."""
    return attempts.submit_attempt(
        db, quiz_id=quiz_id, attempt_id=attempt_id, user=user, answers=data.answers
    )
