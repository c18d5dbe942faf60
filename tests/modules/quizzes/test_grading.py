"""Scoring, validation and ordering rules, without a database."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest

from app.modules.quizzes.grading import (
    answer_problem,
    attempt_order,
    normalize_text,
    question_problems,
    score_question,
)

OPTIONS = [{"id": "a", "text": "A"}, {"id": "b", "text": "B"}, {"id": "c", "text": "C"}]


def _score(
    kind: str, correct: Any, answer: Any, points: str = "2", partial: bool = False
) -> tuple[Decimal, bool]:
    result = score_question(kind, correct, Decimal(points), answer, partial_credit=partial)
    return result.points, result.is_correct


@pytest.mark.parametrize(
    ("kind", "correct", "answer", "expected"),
    [
        ("multiple_choice", "b", "b", (Decimal("2.00"), True)),
        ("multiple_choice", "b", "a", (Decimal("0.00"), False)),
        ("true_false", True, True, (Decimal("2.00"), True)),
        ("true_false", True, False, (Decimal("0.00"), False)),
        ("true_false", False, False, (Decimal("2.00"), True)),
        ("short_answer", ["Paris"], "Paris", (Decimal("2.00"), True)),
        ("short_answer", ["Paris"], "Lyon", (Decimal("0.00"), False)),
        ("multiple_select", ["a", "b"], ["b", "a"], (Decimal("2.00"), True)),
        ("multiple_select", ["a", "b"], ["a"], (Decimal("0.00"), False)),
        ("multiple_select", ["a", "b"], ["a", "b", "c"], (Decimal("0.00"), False)),
        ("multiple_choice", "b", None, (Decimal("0.00"), False)),
    ],
)
def test_each_question_type_graded_right_and_wrong(
    kind: str, correct: Any, answer: Any, expected: tuple[Decimal, bool]
) -> None:
    assert _score(kind, correct, answer) == expected


def test_true_false_does_not_accept_numbers_for_booleans() -> None:
    assert _score("true_false", True, 1) == (Decimal("0.00"), False)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (["a", "b", "c"], Decimal("3.00")),  # all three right
        (["a", "b"], Decimal("2.00")),  # two of three
        (["a"], Decimal("1.00")),
        (["a", "b", "d"], Decimal("1.00")),  # two right, one wrong
        (["a", "d"], Decimal("0.00")),  # one right, one wrong
        (["d"], Decimal("0.00")),  # never below zero
        ([], Decimal("0.00")),
    ],
)
def test_multiple_select_partial_credit(answer: list[str], expected: Decimal) -> None:
    points, _ = _score("multiple_select", ["a", "b", "c"], answer, points="3", partial=True)
    assert points == expected


def test_partial_credit_rounds_to_cents() -> None:
    points, correct = _score("multiple_select", ["a", "b", "c"], ["a"], points="1", partial=True)
    assert (points, correct) == (Decimal("0.33"), False)


@pytest.mark.parametrize(
    "answer",
    # The fifth is "Paris" in full-width letters (NFKC folds it).
    [
        "paris",
        "PARIS",
        "  Paris  ",
        "ville  de\tparis",
        "\uff30\uff41\uff52\uff49\uff53",
        "Ville De Paris",
    ],
)
def test_short_answer_normalization_accepts_variants(answer: str) -> None:
    assert _score("short_answer", ["Paris", "Ville de Paris"], answer)[1] is True


@pytest.mark.parametrize("answer", ["Pari", "Paris!", "P a r i s", ""])
def test_short_answer_normalization_rejects_other_text(answer: str) -> None:
    assert _score("short_answer", ["Paris"], answer)[1] is False


def test_normalize_text() -> None:
    assert normalize_text("  Hello \n  WORLD ") == "hello world"


@pytest.mark.parametrize(
    ("kind", "options", "correct", "problem"),
    [
        ("multiple_choice", OPTIONS, None, "no correct answer"),
        ("multiple_choice", OPTIONS, "z", "one of its options"),
        ("multiple_choice", OPTIONS[:1], "a", "at least two options"),
        ("multiple_select", OPTIONS, [], "non-empty list"),
        ("multiple_select", OPTIONS, ["a", "a"], "distinct"),
        ("multiple_select", OPTIONS, ["a", "z"], "option ids"),
        ("true_false", None, "true", "true or false"),
        ("short_answer", None, ["  "], "non-blank"),
        ("short_answer", None, [], "non-blank"),
    ],
)
def test_question_problems(kind: str, options: Any, correct: Any, problem: str) -> None:
    assert any(problem in found for found in question_problems(kind, options, correct))


def test_valid_questions_have_no_problems() -> None:
    assert question_problems("multiple_choice", OPTIONS, "a") == []
    assert question_problems("multiple_select", OPTIONS, ["a", "c"]) == []
    assert question_problems("true_false", None, False) == []
    assert question_problems("short_answer", None, ["x"]) == []


@pytest.mark.parametrize(
    ("kind", "answer"),
    [
        ("multiple_choice", "z"),
        ("multiple_choice", ["a"]),
        ("multiple_select", "a"),
        ("multiple_select", ["a", "a"]),
        ("multiple_select", ["z"]),
        ("true_false", "yes"),
        ("short_answer", True),
        ("short_answer", "x" * 1001),
    ],
)
def test_answers_are_validated_against_the_question_type(kind: str, answer: Any) -> None:
    assert answer_problem(kind, OPTIONS, answer) is not None


def test_attempt_order_keeps_authoring_order_without_shuffle() -> None:
    questions = [("q1", ["a", "b"]), ("q2", []), ("q3", ["x", "y", "z"])]
    order, options = attempt_order(questions, shuffle_questions=False, shuffle_options=False)
    assert order == ["q1", "q2", "q3"]
    assert options == {"q1": ["a", "b"], "q2": [], "q3": ["x", "y", "z"]}


def test_attempt_order_shuffles_questions_and_options_as_a_permutation() -> None:
    questions = [(f"q{i}", [f"o{i}{j}" for j in range(5)]) for i in range(10)]
    order, options = attempt_order(
        questions, shuffle_questions=True, shuffle_options=True, rng=random.Random(7)
    )
    assert sorted(order) == sorted(q for q, _ in questions)
    assert order != [q for q, _ in questions]
    assert all(sorted(options[q]) == sorted(ids) for q, ids in questions)
    assert any(options[q] != ids for q, ids in questions)
