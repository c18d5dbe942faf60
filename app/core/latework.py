"""Due dates and late work, shared by quizzes and assignments.

Each dated table carries the same columns (`LateWorkColumns`): `due_at`, an optional `lock_at`
after which nothing is accepted, and a late policy:

- `accept`: a submission after `due_at` is marked late, nothing is taken off;
- `penalty`: marked late, and `penalty_percent_per_day` is taken off per started day of
  lateness, at most `max_penalty_percent`;
- `refuse`: nothing is accepted after `due_at`.

A per-student extension (`ExtensionColumns`, one table per dated kind) moves that student's
due date, and their lock date when it would come before the new due date.
The policy computations (`assess`, `lateness`, `closes_at`) are pure: callers pass the time,
so tests control the clock. `save_extension` and `student_deadlines` read and write the
extension table the caller names, so both modules share one implementation.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field
from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Numeric,
    String,
    and_,
    case,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column

from app.core.decimals import Percent as PercentInput
from app.core.decimals import TwoPlaces
from app.core.errors import BusinessRuleViolation, NotFound
from app.core.schemas import PartialUpdate
from app.core.validation import RequestModel

TWO_PLACES = Decimal("0.01")
HUNDRED = Decimal(100)


class LatePolicy(StrEnum):
    ACCEPT = "accept"
    PENALTY = "penalty"
    REFUSE = "refuse"


class SubmissionRefused(BusinessRuleViolation):
    """The due date passed under the `refuse` policy."""

    code = "deadline_passed"


class SubmissionLocked(BusinessRuleViolation):
    """Past `lock_at`: nothing is accepted any more, whatever the policy."""

    code = "submission_locked"


class InvalidDeadlines(BusinessRuleViolation):
    code = "invalid_deadlines"


class LateWorkColumns:
    """The late-work columns of a dated table (quizzes, assignments)."""

    due_at: Mapped[datetime | None]
    lock_at: Mapped[datetime | None]
    late_policy: Mapped[str] = mapped_column(String(20), default=LatePolicy.ACCEPT.value)
    penalty_percent_per_day: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    max_penalty_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("100"))


def late_work_constraints() -> tuple[CheckConstraint, ...]:
    """The checks of `LateWorkColumns`, fresh objects for each table that uses them."""
    return (
        CheckConstraint("late_policy IN ('accept', 'penalty', 'refuse')", name="late_policy_valid"),
        CheckConstraint(
            "penalty_percent_per_day >= 0 AND penalty_percent_per_day <= 100",
            name="penalty_per_day_range",
        ),
        CheckConstraint(
            "max_penalty_percent >= 0 AND max_penalty_percent <= 100", name="max_penalty_range"
        ),
        CheckConstraint(
            "lock_at IS NULL OR due_at IS NULL OR lock_at >= due_at", name="lock_after_due"
        ),
    )


class ExtensionColumns:
    """One student's moved due date for one dated item (the item's key is per table)."""

    due_at: Mapped[datetime]

    @declared_attr
    def student_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)

    @declared_attr
    def granted_by_id(cls) -> Mapped[uuid.UUID | None]:
        return mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


# Accepted with any offset (never without one), kept and answered in UTC.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(lambda value: value.astimezone(UTC))]


class LateWorkFields(RequestModel):
    """The late-work fields of a create schema."""

    due_at: UtcDatetime | None = Field(
        default=None, description="When the work is due (with an offset; stored and shown UTC)"
    )
    lock_at: UtcDatetime | None = Field(
        default=None, description="From then on nothing is accepted; not before due_at"
    )
    late_policy: LatePolicy = Field(
        default=LatePolicy.ACCEPT,
        description="After due_at: accept (marked late), penalty (per started day), refuse",
    )
    penalty_percent_per_day: PercentInput = Field(
        default=Decimal("0"), description="Under `penalty`: taken off per started day of lateness"
    )
    max_penalty_percent: PercentInput = Field(
        default=Decimal("100"), description="Under `penalty`: the most that is taken off"
    )


NULLABLE_LATE_WORK_FIELDS = frozenset({"due_at", "lock_at"})


class LateWorkUpdate(PartialUpdate):
    """The late-work fields of an update schema (only those sent change; null clears a date)."""

    nullable = NULLABLE_LATE_WORK_FIELDS

    due_at: UtcDatetime | None = None
    lock_at: UtcDatetime | None = None
    late_policy: LatePolicy | None = None
    penalty_percent_per_day: PercentInput | None = None
    max_penalty_percent: PercentInput | None = None


class LateWorkRead(BaseModel):
    due_at: datetime | None
    lock_at: datetime | None
    late_policy: LatePolicy
    penalty_percent_per_day: TwoPlaces
    max_penalty_percent: TwoPlaces


class ExtensionIn(RequestModel):
    student_id: uuid.UUID
    due_at: UtcDatetime


def check_deadlines(due_at: datetime | None, lock_at: datetime | None) -> None:
    if due_at is not None and lock_at is not None and lock_at < due_at:
        raise InvalidDeadlines("lock_at must not be before due_at")


def apply_changes(item: Any, changes: dict[str, Any]) -> None:
    """Set late-work (and other) fields on `item`, checking the dates as they end up."""
    check_deadlines(changes.get("due_at", item.due_at), changes.get("lock_at", item.lock_at))
    for name, value in changes.items():
        setattr(item, name, value)


@dataclass(frozen=True)
class Deadlines:
    due_at: datetime | None
    lock_at: datetime | None


def effective_deadlines(
    due_at: datetime | None, lock_at: datetime | None, extended_due_at: datetime | None
) -> Deadlines:
    """One student's dates: an extension replaces the due date and pushes an earlier lock.
    An extension the course's own due date has since moved past no longer applies: the
    student keeps the later date. `effective_due_sql` / `effective_lock_sql` are this rule
    as SQL."""
    if extended_due_at is None or (due_at is not None and extended_due_at <= due_at):
        return Deadlines(due_at, lock_at)
    if lock_at is not None and lock_at < extended_due_at:
        lock_at = extended_due_at
    return Deadlines(extended_due_at, lock_at)


def _extension_applies_sql(due_at: Any, extended_due_at: Any) -> ColumnElement[bool]:
    return and_(extended_due_at.is_not(None), or_(due_at.is_(None), extended_due_at > due_at))


def effective_due_sql(due_at: Any, extended_due_at: Any) -> ColumnElement[Any]:
    """`effective_deadlines`' due date, as a SQL expression over the two columns."""
    return case((_extension_applies_sql(due_at, extended_due_at), extended_due_at), else_=due_at)


def effective_lock_sql(due_at: Any, lock_at: Any, extended_due_at: Any) -> ColumnElement[Any]:
    """`effective_deadlines`' lock date, as a SQL expression over the three columns."""
    pushed = and_(_extension_applies_sql(due_at, extended_due_at), lock_at < extended_due_at)
    return case((pushed, extended_due_at), else_=lock_at)


@dataclass(frozen=True)
class LateOutcome:
    is_late: bool
    penalty_percent: Decimal


ON_TIME = LateOutcome(is_late=False, penalty_percent=Decimal("0.00"))


def closes_at(item: Any, deadlines: Deadlines) -> datetime | None:
    """When submissions stop being accepted for this student: the lock date, or the due
    date under the `refuse` policy (whichever comes first)."""
    ends = [deadlines.lock_at]
    if item.late_policy == LatePolicy.REFUSE.value:
        ends.append(deadlines.due_at)
    present = [end for end in ends if end is not None]
    return min(present) if present else None


def lateness(item: Any, deadlines: Deadlines, *, at: datetime) -> LateOutcome:
    """Whether work handed in `at` is late, and the penalty `item`'s policy gives it."""
    if deadlines.due_at is None or at <= deadlines.due_at:
        return ON_TIME
    if item.late_policy != LatePolicy.PENALTY.value:
        return LateOutcome(is_late=True, penalty_percent=Decimal("0.00"))
    days = math.ceil((at - deadlines.due_at) / timedelta(days=1))
    penalty = min(Decimal(days) * item.penalty_percent_per_day, item.max_penalty_percent)
    return LateOutcome(is_late=True, penalty_percent=Decimal(penalty).quantize(TWO_PLACES))


def assess(
    item: Any, deadlines: Deadlines, *, now: datetime, refuse_exempt: bool = False
) -> LateOutcome:
    """Accept work handed in `now` (or raise a 422 problem), and say if late and how much.

    `item` carries the policy columns. `refuse_exempt` (work the instructor returned for
    another try) lifts the `refuse` policy, never the lock.
    """
    if deadlines.lock_at is not None and now >= deadlines.lock_at:
        raise SubmissionLocked(
            f"Submissions closed at {deadlines.lock_at.isoformat()}",
            extra={"lock_at": deadlines.lock_at.isoformat()},
        )
    if (
        item.late_policy == LatePolicy.REFUSE.value
        and not refuse_exempt
        and deadlines.due_at is not None
        and now > deadlines.due_at
    ):
        raise SubmissionRefused(
            "The due date has passed and late submissions are not accepted",
            extra={"due_at": deadlines.due_at.isoformat()},
        )
    return lateness(item, deadlines, at=now)


def apply_penalty(value: Decimal, penalty_percent: Decimal) -> Decimal:
    """`value` with `penalty_percent` taken off, to two places."""
    return (value * (HUNDRED - penalty_percent) / HUNDRED).quantize(
        TWO_PLACES, rounding=ROUND_HALF_UP
    )


class ExtensionRead(BaseModel):
    student_id: uuid.UUID
    # The student's due date, and the lock date that applies to them.
    due_at: datetime
    lock_at: datetime | None
    granted_by_id: uuid.UUID | None
    updated_at: datetime


class MissingDueDate(BusinessRuleViolation):
    code = "no_due_date"


def save_extension(
    db: Session,
    item: Any,
    model: type[Any],
    *,
    item_column: str,
    data: ExtensionIn,
    granted_by_id: uuid.UUID,
) -> tuple[ExtensionRead, bool]:
    """Create or move `data.student_id`'s extension of `item` (a dated row, `model` is its
    extension table); the flag says whether one was created. The caller checks that the
    student belongs to the item's course."""
    if item.due_at is None:
        raise MissingDueDate("Set a due date before granting extensions")
    if data.due_at <= item.due_at:
        raise InvalidDeadlines(
            f"An extension must end after the due date ({item.due_at.isoformat()})"
        )
    existing = db.scalars(
        select(model).where(
            getattr(model, item_column) == item.id, model.student_id == data.student_id
        )
    ).first()
    created = existing is None
    row = existing if existing is not None else model(**{item_column: item.id})
    row.student_id, row.due_at, row.granted_by_id = data.student_id, data.due_at, granted_by_id
    if created:
        db.add(row)
    db.flush()
    deadlines = effective_deadlines(item.due_at, item.lock_at, row.due_at)
    return (
        ExtensionRead(
            student_id=row.student_id,
            due_at=row.due_at,
            lock_at=deadlines.lock_at,
            granted_by_id=row.granted_by_id,
            updated_at=row.updated_at,
        ),
        created,
    )


def remove_extension(
    db: Session, item: Any, model: type[Any], *, item_column: str, student_id: uuid.UUID
) -> None:
    """Withdraw `student_id`'s extension of `item` (a row of `model`): the course's dates
    apply to them again. NotFound when they have none."""
    row = db.scalars(
        select(model).where(getattr(model, item_column) == item.id, model.student_id == student_id)
    ).first()
    if row is None:
        raise NotFound("This student has no extension here", code="extension_not_found")
    db.delete(row)
    db.flush()


def student_deadlines(
    db: Session, item: Any, model: type[Any], *, item_column: str, student_id: uuid.UUID
) -> Deadlines:
    """`item`'s dates for one student, their extension (a row of `model`) applied."""
    extended = db.scalar(
        select(model.due_at).where(
            getattr(model, item_column) == item.id, model.student_id == student_id
        )
    )
    return effective_deadlines(item.due_at, item.lock_at, extended)
