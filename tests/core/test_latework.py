"""The late-work policy computation, with the clock passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from app.core.latework import (
    Deadlines,
    SubmissionLocked,
    SubmissionRefused,
    apply_penalty,
    assess,
    closes_at,
    effective_deadlines,
)

DUE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _item(policy: str, per_day: str = "0", cap: str = "100") -> SimpleNamespace:
    return SimpleNamespace(
        late_policy=policy,
        penalty_percent_per_day=Decimal(per_day),
        max_penalty_percent=Decimal(cap),
    )


@pytest.mark.parametrize(
    ("late_by", "penalty"),
    [
        (timedelta(0), None),
        (timedelta(seconds=1), "15.00"),
        (timedelta(days=1), "15.00"),
        (timedelta(days=1, seconds=1), "30.00"),
        (timedelta(days=3, hours=5), "40.00"),  # 4 started days = 60, capped at 40
    ],
)
def test_penalty_per_started_day_up_to_the_cap(late_by: timedelta, penalty: str | None) -> None:
    outcome = assess(_item("penalty", "15", "40"), Deadlines(DUE, None), now=DUE + late_by)
    assert outcome.is_late is (penalty is not None)
    assert outcome.penalty_percent == Decimal(penalty or "0")


def test_accept_marks_late_without_penalty_and_refuse_refuses() -> None:
    late = DUE + timedelta(minutes=1)
    accepted = assess(_item("accept"), Deadlines(DUE, None), now=late)
    assert accepted.is_late and accepted.penalty_percent == 0
    with pytest.raises(SubmissionRefused):
        assess(_item("refuse"), Deadlines(DUE, None), now=late)
    # Returned work is exempt from `refuse`, still late.
    assert assess(_item("refuse"), Deadlines(DUE, None), now=late, refuse_exempt=True).is_late
    assert not assess(_item("refuse"), Deadlines(DUE, None), now=DUE).is_late


def test_lock_refuses_whatever_the_policy() -> None:
    lock = DUE + timedelta(days=2)
    for policy in ("accept", "penalty", "refuse"):
        with pytest.raises(SubmissionLocked):
            assess(_item(policy), Deadlines(DUE, lock), now=lock, refuse_exempt=True)
    assert assess(_item("accept"), Deadlines(DUE, lock), now=lock - timedelta(seconds=1)).is_late


def test_extension_moves_due_and_an_earlier_lock() -> None:
    lock = DUE + timedelta(days=1)
    assert effective_deadlines(DUE, lock, None) == Deadlines(DUE, lock)
    later = DUE + timedelta(days=5)
    assert effective_deadlines(DUE, lock, later) == Deadlines(later, later)
    far_lock = DUE + timedelta(days=9)
    assert effective_deadlines(DUE, far_lock, later) == Deadlines(later, far_lock)
    assert effective_deadlines(DUE, None, later) == Deadlines(later, None)


def test_closes_at_is_the_lock_or_the_due_date_under_refuse() -> None:
    lock = DUE + timedelta(days=1)
    assert closes_at(_item("accept"), Deadlines(DUE, None)) is None
    assert closes_at(_item("accept"), Deadlines(DUE, lock)) == lock
    assert closes_at(_item("refuse"), Deadlines(DUE, lock)) == DUE
    assert closes_at(_item("refuse"), Deadlines(None, None)) is None


def test_apply_penalty_rounds_half_up() -> None:
    assert apply_penalty(Decimal("45"), Decimal("10")) == Decimal("40.50")
    assert apply_penalty(Decimal("33.33"), Decimal("15")) == Decimal("28.33")
    assert apply_penalty(Decimal("80"), Decimal("0")) == Decimal("80.00")
