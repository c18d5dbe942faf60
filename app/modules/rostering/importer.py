"""Applying a checked OneRoster archive, one batch of rows per transaction.

Every row is validated before its batch writes anything, and a refused row is only reported
(file, line, reason): its record stays as it was, and the rest of the batch is applied. A
batch is a handful of statements whatever its size (lookups by `IN`, inserts and updates
executed many rows at a time), and the session is emptied after each commit, so memory does
not grow with the file.

Record by record (OneRoster -> here):
- user -> account (`users`): role from `roles.csv` (the primary role) or a `role` column;
  new accounts get no password and are mailed a link to choose one.
- class -> course: the class is what students enroll in and a teacher teaches; a OneRoster
  course is a catalogue entry shared by many classes (sections), kept as reference data.
- enrollment -> a student's enrollment, or (teacher) the course's instructor.
- org, academicSession, course -> reference data classes point at (`roster_sources.data`).

`status=tobedeleted` drops the record (an account is deactivated, a course archived, an
enrollment dropped: none is deleted, their history stays). In delta files that is the only
way a record goes, and a row whose `dateLastModified` is not newer than the one applied
before is skipped as stale. A bulk file is the complete current set (OneRoster 1.2 CSV
binding): once it is read, the records earlier imports mapped for it that it no longer lists
are dropped the same way and reported as `removed`.
"""

from __future__ import annotations

from app.core.validation import NUL
from app.modules.rostering import repository
from app.modules.rostering.archive import Row, read_batches
from app.modules.rostering.classes import (
    check_courses,
    check_orgs,
    check_sessions,
    classes,
    enrollments,
    reference,
)
from app.modules.rostering.models import RosterImportError, SourceKind
from app.modules.rostering.people import roles, users
from app.modules.rostering.run import (
    MAX_ID,
    Counts,
    Handler,
    ImportRun,
    Prepared,
    forget,
    prepare,
    stale,
)

# The data sets in the order they are applied, with the kind of record each maps.
STEPS: tuple[tuple[str, str, Handler], ...] = (
    ("orgs", SourceKind.ORG, reference(SourceKind.ORG, ("name", "type"), check_orgs)),
    (
        "academicSessions",
        SourceKind.ACADEMIC_SESSION,
        reference(SourceKind.ACADEMIC_SESSION, ("title", "type", "schoolYear"), check_sessions),
    ),
    (
        "courses",
        SourceKind.COURSE,
        reference(SourceKind.COURSE, ("title", "courseCode", "orgSourcedId"), check_courses),
    ),
    ("users", SourceKind.USER, users),
    ("roles", "role", roles),
    ("classes", SourceKind.CLASS, classes),
    ("enrollments", SourceKind.ENROLLMENT, enrollments),
)


def apply_batch(run: ImportRun, name: str, kind: str, handler: Handler, batch: list[Row]) -> None:
    counts = run.counts.setdefault(name, Counts())
    refused: dict[int, str] = {}
    prepared = prepare(run, kind, name, batch)
    # A bulk file is the whole current set: its rows apply whatever their dates.
    delta = run.record.files.get(name) == "delta"
    usable: list[Prepared] = []
    for row, item in zip(batch, prepared, strict=True):
        if isinstance(item, str):
            refused[row.line] = item
        elif delta and kind != "role" and stale(item):
            counts.skipped += 1
        else:
            usable.append(item)
    refused |= handler(run, usable, counts)
    run.write_inserts()
    counts.refused += len(refused)
    # A sourcedId refused for holding NUL is reported without it.
    ids = {row.line: row.get("sourcedId").replace(NUL, "") or None for row in batch}
    repository.add_errors(
        run.db,
        [
            RosterImportError(
                import_id=run.record.id,
                file=f"{name}.csv",
                line=line,
                sourced_id=(ids.get(line) or "")[:MAX_ID] or None,
                reason=reason[:500],
            )
            for line, reason in sorted(refused.items())
        ],
    )
    run.record.rows_done += len(batch)
    run.record.error_count += len(refused)
    run.record.summary = {key: value.as_dict() for key, value in run.counts.items()}


def remove_unlisted(run: ImportRun, name: str, kind: str, handler: Handler) -> None:
    """After a bulk file: its records from earlier imports that it no longer lists are
    removed as a `tobedeleted` row would remove them (a bulk file is the complete set), and
    counted as `removed`. The mapping is walked a batch at a time."""
    counts = run.counts.setdefault(name, Counts())
    # The importing administrator's own account is never changed by their import, nor is
    # its link to the roster.
    importer = run.record.created_by_id if kind == SourceKind.USER else None
    after = None
    while page := repository.sources_page(run.db, kind, after=after, limit=run.batch_size):
        after = page[-1].id
        missing = [
            Prepared(Row(line=0, values={}), source.sourced_id, True, None, source)
            for source in page
            if source.id not in run.listed and (importer is None or source.local_id != importer)
        ]
        if not missing:
            continue
        handler(run, missing, Counts())
        if not run.dry_run:
            # Also the mappings whose local record was already gone.
            forget(run, missing)
        counts.removed += len(missing)
        run.record.summary = {key: value.as_dict() for key, value in run.counts.items()}
        run.checkpoint()


def run_import(run: ImportRun) -> None:
    """Apply every data set the archive carries, committing after each batch. The tables'
    statistics are refreshed each time the rows applied have doubled since the last refresh
    (a handful of times per import, whatever its size)."""
    refreshed = 0
    for name, kind, handler in STEPS:
        if name not in run.record.files:
            continue
        for batch in read_batches(run.archive, name, run.batch_size):
            apply_batch(run, name, kind, handler, batch)
            run.checkpoint()
            if run.record.rows_done >= 2 * refreshed + run.batch_size:
                repository.refresh_statistics(run.db)
                refreshed = run.record.rows_done
        if run.record.files[name] == "bulk" and kind != "role":
            remove_unlisted(run, name, kind, handler)
        run.listed.clear()
