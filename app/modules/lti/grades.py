"""What the gradebook and completion rules read from LTI: a course's line items as columns,
fully graded scores as cells, and the links a student has completed."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, exists, or_, select
from sqlalchemy.orm import Session

from app.modules.courses.models import Enrollment
from app.modules.lti.claims import COMPLETED, FULLY_GRADED
from app.modules.lti.models import LtiLineItem, LtiResourceLink, LtiScore


def line_item_columns(db: Session, course_id: uuid.UUID) -> list[Any]:
    """(id, label, score_maximum) of the course's line items, oldest first."""
    return list(
        db.execute(
            select(LtiLineItem.id, LtiLineItem.label, LtiLineItem.score_maximum)
            .where(LtiLineItem.course_id == course_id)
            .order_by(LtiLineItem.created_at, LtiLineItem.id)
        ).all()
    )


def graded_results(course_id: uuid.UUID) -> Select[uuid.UUID, uuid.UUID, Decimal | None, Decimal]:
    """(enrollment_id, item_id, earned, possible) for every fully graded score of the course,
    scaled to its line item's maximum."""
    return (
        select(
            Enrollment.id.label("enrollment_id"),
            LtiLineItem.id.label("item_id"),
            (LtiScore.score_given * LtiLineItem.score_maximum / LtiScore.score_maximum).label(
                "earned"
            ),
            LtiLineItem.score_maximum.label("possible"),
        )
        .join(LtiLineItem, LtiLineItem.id == LtiScore.line_item_id)
        .join(
            Enrollment,
            and_(
                Enrollment.student_id == LtiScore.user_id,
                Enrollment.course_id == LtiLineItem.course_id,
            ),
        )
        .where(
            LtiLineItem.course_id == course_id,
            LtiScore.grading_progress == FULLY_GRADED,
            LtiScore.score_given.is_not(None),
            LtiScore.score_maximum > 0,
        )
    )


def completed_links(course_id: uuid.UUID, student_id: uuid.UUID) -> Select[uuid.UUID]:
    """The ids of the course's LTI links the student has completed: a line item of the link
    holds a fully graded score, or a score whose activity is Completed, for them."""
    done = exists().where(
        LtiLineItem.resource_link_id == LtiResourceLink.id,
        LtiScore.line_item_id == LtiLineItem.id,
        LtiScore.user_id == student_id,
        or_(LtiScore.grading_progress == FULLY_GRADED, LtiScore.activity_progress == COMPLETED),
    )
    return select(LtiResourceLink.id).where(LtiResourceLink.course_id == course_id, done)
