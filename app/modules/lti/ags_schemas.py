"""AGS 2.0 bodies, named as the specification names them (camelCase JSON)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from app.core.validation import RequestModel
from app.modules.lti.claims import ACTIVITY_PROGRESS, GRADING_PROGRESS


class _Ims(RequestModel):
    # Tools may add extension properties (URIs as names): they are ignored.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class LineItemBody(_Ims):
    scoreMaximum: Decimal = Field(gt=0, le=Decimal("1000000"), decimal_places=4)
    label: str = Field(min_length=1, max_length=300)
    resourceId: str | None = Field(default=None, max_length=300)
    tag: str | None = Field(default=None, max_length=300)
    resourceLinkId: str | None = Field(default=None, max_length=64)
    startDateTime: AwareDatetime | None = None
    endDateTime: AwareDatetime | None = None


class LineItemJson(BaseModel):
    id: str
    scoreMaximum: float
    label: str
    resourceId: str | None = None
    tag: str | None = None
    resourceLinkId: str | None = None
    startDateTime: datetime | None = None
    endDateTime: datetime | None = None


class ScoreBody(_Ims):
    userId: str = Field(min_length=1, max_length=64)
    scoreGiven: Decimal | None = Field(default=None, ge=0, le=Decimal("1000000"), decimal_places=4)
    scoreMaximum: Decimal | None = Field(
        default=None, gt=0, le=Decimal("1000000"), decimal_places=4
    )
    comment: str | None = Field(default=None, max_length=10000)
    timestamp: AwareDatetime
    activityProgress: Literal[ACTIVITY_PROGRESS]  # type: ignore[valid-type]
    gradingProgress: Literal[GRADING_PROGRESS]  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _maximum_with_score(self) -> Self:
        if self.scoreGiven is not None and self.scoreMaximum is None:
            raise ValueError("scoreMaximum is required with scoreGiven")
        return self


class ResultJson(BaseModel):
    id: str
    scoreOf: str
    userId: str
    resultScore: float | None = None
    resultMaximum: float | None = None
    comment: str | None = None
