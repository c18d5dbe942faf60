"""One import's run: the rows of a batch checked for what every OneRoster record shares
(sourcedId, status, dateLastModified), the mapping of each record to its local row, and the
per-file counts the import reports."""

from __future__ import annotations

import uuid
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from app.core.database import utcnow
from app.core.validation import NUL, NUL_MESSAGE
from app.modules.rostering import repository
from app.modules.rostering.archive import Row
from app.modules.rostering.models import RosterImport, RosterSource

STATUSES = ("active", "tobedeleted")
MAX_ID = 255


class RowRefused(Exception):
    """Why a row cannot be applied (its message goes to the import's error list)."""


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    skipped: int = 0
    refused: int = 0
    removed: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class Prepared:
    row: Row
    sourced_id: str
    deleting: bool
    modified: datetime | None
    source: RosterSource | None


@dataclass
class ImportRun:
    db: Session
    record: RosterImport
    archive: zipfile.ZipFile
    batch_size: int
    checkpoint: Callable[[], None]
    # Dry run only: what this run would have created, so later files can refer to it.
    declared: dict[str, dict[str, str]] = field(default_factory=dict)
    counts: dict[str, Counts] = field(default_factory=dict)
    inserts: dict[type[Any], list[dict[str, Any]]] = field(default_factory=dict)
    # Bulk files only: the mapped records (roster_sources ids) the data set under way names
    # or created, so those it does not name can be removed once it is read. Ids, not rows:
    # about 100 bytes per record, emptied after each data set.
    listed: set[uuid.UUID] = field(default_factory=set)

    @property
    def dry_run(self) -> bool:
        return self.record.dry_run

    def declare(self, kind: str, sourced_id: str, value: str = "") -> None:
        if self.dry_run:
            self.declared.setdefault(kind, {})[sourced_id] = value

    def insert_later(self, model: type[Any], values: dict[str, Any]) -> None:
        """Queue a new row: a batch's new rows are inserted together, many per statement."""
        self.inserts.setdefault(model, []).append(values)
        if model is RosterSource:
            self.listed.add(values["id"])

    def write_inserts(self) -> None:
        for model, rows in self.inserts.items():
            if rows:
                self.db.execute(insert(model), rows)
        self.inserts.clear()

    def known(self, kind: str, sourced_ids: Iterable[str]) -> dict[str, RosterSource | None]:
        ids = {s for s in sourced_ids if s}
        found: dict[str, RosterSource | None] = dict(repository.sources(self.db, kind, ids))
        for sourced_id in ids & set(self.declared.get(kind, {})):
            found.setdefault(sourced_id, None)
        return found


def nul_column(row: Row) -> str | None:
    """The first column of `row` whose value holds a NUL character (PostgreSQL text cannot
    store one), or None. Fields past the header are under the key None, as a list."""
    for column, value in row.values.items():
        values = value if isinstance(value, list) else [value]
        if any(v and NUL in v for v in values):
            return (column or "a field past the header").replace(NUL, "\\u0000")
    return None


@lru_cache(maxsize=1024)
def parse_datetime(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def prepare(run: ImportRun, kind: str, name: str, batch: list[Row]) -> list[Prepared | str]:
    """Each row's common fields checked (or the reason it is refused), with its mapping."""
    delta = run.record.files.get(name) == "delta"
    # A sourcedId holding NUL matches nothing stored (and is no value to query with).
    ids = {sourced_id for row in batch if NUL not in (sourced_id := row.get("sourcedId"))}
    existing = repository.sources(run.db, kind, ids)
    if not delta:
        # Named by the file, even on a row refused below: it is not missing from it.
        run.listed.update(source.id for source in existing.values())
    seen: set[str] = set()
    prepared: list[Prepared | str] = []
    for row in batch:
        if column := nul_column(row):
            prepared.append(f"{column} {NUL_MESSAGE}")
            continue
        sourced_id, status = row.get("sourcedId"), row.get("status")
        stamp = row.get("dateLastModified")
        if not sourced_id or len(sourced_id) > MAX_ID:
            prepared.append(f"sourcedId must be 1 to {MAX_ID} characters")
            continue
        if sourced_id in seen:
            prepared.append(f"sourcedId {sourced_id} appears twice in the batch")
            continue
        seen.add(sourced_id)
        if status and status not in STATUSES:
            prepared.append(f"status must be one of {', '.join(STATUSES)}")
            continue
        if delta and not (status and stamp):
            prepared.append("a delta row needs status and dateLastModified")
            continue
        try:
            modified = parse_datetime(stamp) if stamp else None
        except ValueError:
            prepared.append("dateLastModified is not an ISO 8601 date and time")
            continue
        prepared.append(
            Prepared(row, sourced_id, status == "tobedeleted", modified, existing.get(sourced_id))
        )
    return prepared


def stale(item: Prepared) -> bool:
    applied = item.source.date_last_modified if item.source else None
    return bool(item.modified and applied and item.modified <= applied)


def remember(
    run: ImportRun,
    kind: str,
    item: Prepared,
    *,
    local_id: uuid.UUID | None = None,
    role: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    if item.source is None:
        run.insert_later(
            RosterSource,
            {
                "id": uuid.uuid4(),
                "kind": kind,
                "sourced_id": item.sourced_id,
                "local_id": local_id,
                "role": role,
                "data": data,
                "date_last_modified": item.modified,
                "updated_at": utcnow(),
            },
        )
        return
    item.source.local_id = local_id
    item.source.role = role
    item.source.data = data
    item.source.date_last_modified = item.modified


Handler = Callable[[ImportRun, list[Prepared], Counts], dict[int, str]]


def forget(run: ImportRun, items: Iterable[Prepared]) -> None:
    repository.delete_sources(run.db, [i.source.id for i in items if i.source is not None])
