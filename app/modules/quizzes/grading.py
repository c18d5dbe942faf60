"""Pure quiz rules: question validity, answer validation, scoring and the per-attempt order.

No database access here, so each rule is tested directly.

Scoring:
- multiple_choice / true_false: full points when the answer equals the correct one.
- short_answer: full points when the normalized answer (Unicode NFKC, case-folded,
  surrounding whitespace removed, inner runs of whitespace collapsed to one space) equals
  one of the normalized accepted answers.
- multiple_select: all-or-nothing by default (exactly the correct set). With the quiz's
  `partial_credit` on, each correct option chosen earns points / len(correct), each wrong
  option chosen takes the same amount off, and the result never goes below zero.
- An unanswered question scores zero.
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from app.modules.quizzes.models import CHOICE_TYPES, QuestionType

TWO_PLACES = Decimal("0.01")
MAX_SHORT_ANSWER_LENGTH = 1000
_WHITESPACE = re.compile(r"\s+")


def quantize(value: Decimal) -> Decimal:
    return value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def normalize_text(value: str) -> str:
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", value).casefold()).strip()


def option_ids(options: list[dict[str, Any]] | None) -> list[str]:
    return [str(option["id"]) for option in options or []]


def question_problems(
    question_type: str, options: list[dict[str, Any]] | None, correct_answer: Any
) -> list[str]:
    """What stops a question from being gradable (empty when it is ready to publish)."""
    problems: list[str] = []
    ids = option_ids(options)
    if question_type in CHOICE_TYPES:
        if len(ids) < 2:
            problems.append("needs at least two options")
        if correct_answer is None:
            problems.append("has no correct answer")
        elif question_type == QuestionType.MULTIPLE_CHOICE:
            if not isinstance(correct_answer, str) or correct_answer not in ids:
                problems.append("correct answer must be the id of one of its options")
        elif (
            not isinstance(correct_answer, list)
            or not correct_answer
            or len(set(correct_answer)) != len(correct_answer)
            or any(not isinstance(item, str) or item not in ids for item in correct_answer)
        ):
            problems.append("correct answer must be a non-empty list of distinct option ids")
    elif question_type == QuestionType.TRUE_FALSE:
        if not isinstance(correct_answer, bool):
            problems.append("correct answer must be true or false")
    elif question_type == QuestionType.SHORT_ANSWER:
        if (
            not isinstance(correct_answer, list)
            or not correct_answer
            or any(not isinstance(item, str) or not normalize_text(item) for item in correct_answer)
        ):
            problems.append("needs at least one non-blank accepted answer")
    else:
        problems.append(f"has an unknown type {question_type!r}")
    return problems


def answer_problem(
    question_type: str, options: list[dict[str, Any]] | None, answer: Any
) -> str | None:
    """Why `answer` is not a valid answer to the question (None when it is, or is null)."""
    if answer is None:
        return None
    ids = option_ids(options)
    if question_type == QuestionType.MULTIPLE_CHOICE:
        if not isinstance(answer, str) or answer not in ids:
            return "must be the id of one of the options"
    elif question_type == QuestionType.MULTIPLE_SELECT:
        if (
            not isinstance(answer, list)
            or len(set(map(str, answer))) != len(answer)
            or any(not isinstance(item, str) or item not in ids for item in answer)
        ):
            return "must be a list of distinct option ids"
    elif question_type == QuestionType.TRUE_FALSE:
        if not isinstance(answer, bool):
            return "must be true or false"
    elif question_type == QuestionType.SHORT_ANSWER and (
        not isinstance(answer, str) or len(answer) > MAX_SHORT_ANSWER_LENGTH
    ):
        return f"must be text of at most {MAX_SHORT_ANSWER_LENGTH} characters"
    return None


@dataclass(frozen=True)
class QuestionScore:
    points: Decimal
    is_correct: bool


def score_question(
    question_type: str,
    correct_answer: Any,
    points: Decimal,
    answer: Any,
    *,
    partial_credit: bool,
) -> QuestionScore:
    if answer is None:
        return QuestionScore(Decimal("0.00"), False)
    if question_type == QuestionType.SHORT_ANSWER:
        accepted = {normalize_text(item) for item in correct_answer}
        correct = normalize_text(answer) in accepted
    elif question_type == QuestionType.MULTIPLE_SELECT:
        expected, chosen = set(correct_answer), set(answer)
        if expected == chosen:
            return QuestionScore(quantize(points), True)
        if not partial_credit:
            return QuestionScore(Decimal("0.00"), False)
        hits = len(chosen & expected) - len(chosen - expected)
        earned = max(Decimal(0), points * hits / len(expected))
        return QuestionScore(quantize(earned), False)
    else:
        correct = answer == correct_answer and type(answer) is type(correct_answer)
    return QuestionScore(quantize(points) if correct else Decimal("0.00"), correct)


def attempt_order(
    questions: list[tuple[str, list[str]]],
    *,
    shuffle_questions: bool,
    shuffle_options: bool,
    rng: random.Random | None = None,
) -> tuple[list[str], dict[str, list[str]]]:
    """The question order and each question's option order for a new attempt.

    `questions` is [(question_id, [option ids])] in authoring order. The result is stored on
    the attempt, so every reload of the same attempt shows the same order.
    """
    rng = rng or random.SystemRandom()
    question_ids = [question_id for question_id, _ in questions]
    if shuffle_questions:
        rng.shuffle(question_ids)
    options: dict[str, list[str]] = {}
    for question_id, ids in questions:
        order = list(ids)
        if shuffle_options:
            rng.shuffle(order)
        options[question_id] = order
    return question_ids, options
