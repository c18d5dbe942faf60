"""Roster imports as the API shows them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class RosterImportErrorRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    file: str = Field(description="The CSV file of the refused row, e.g. `users.csv`")
    line: int = Field(description="The row's line in its file (the header is line 1)")
    sourced_id: str | None
    reason: str


class FileCounts(BaseModel):
    created: int = 0
    updated: int = 0
    deleted: int = 0
    skipped: int = Field(default=0, description="Stale delta rows and deletions of unknown ids")
    refused: int = 0
    removed: int = Field(
        default=0,
        description="Bulk files: records of earlier imports the file no longer lists "
        "(enrollments dropped, accounts deactivated, classes archived, reference data forgotten)",
    )


class RosterImportRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    status: str = Field(description="queued, running, completed or failed")
    dry_run: bool
    files: dict[str, str] = Field(description="Data set -> bulk or delta, from the manifest")
    rows_total: int
    rows_done: int
    error_count: int
    summary: dict[str, FileCounts] = Field(description="Per data set: what the rows did")
    failure: str | None
    created_by_id: uuid.UUID | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class RosterImportDetail(RosterImportRead):
    errors: list[RosterImportErrorRead] = Field(
        description="The first 100 refused rows; all of them at `.../errors`"
    )
