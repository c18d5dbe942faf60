"""The OneRoster 1.2 CSV zip: what the binding requires of it, checked before anything is
written, and its CSV files read back row by row in batches.

The binding: a zip whose root holds `manifest.csv` (two columns, `propertyName,value`) and one
CSV file per data set it declares there (`file.<name>` = `bulk`, `delta` or `absent`). Every
CSV starts with a header row naming its columns; extra columns (`metadata.*` extensions) are
allowed, missing required ones are not.
"""

from __future__ import annotations

import csv
import io
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from app.core.config import get_settings
from app.core.errors import BadRequest, BusinessRuleViolation, PayloadTooLarge

MANIFEST = "manifest.csv"
# The data sets this importer reads, in the order they are applied (referenced before
# referencing), with the columns the 1.2 CSV binding marks required for each.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "orgs": ("sourcedId", "status", "dateLastModified", "name", "type"),
    "academicSessions": (
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "type",
        "startDate",
        "endDate",
        "schoolYear",
    ),
    "courses": ("sourcedId", "status", "dateLastModified", "title", "orgSourcedId"),
    "users": (
        "sourcedId",
        "status",
        "dateLastModified",
        "enabledUser",
        "username",
        "givenName",
        "familyName",
    ),
    "roles": ("sourcedId", "status", "dateLastModified", "userSourcedId", "roleType", "role"),
    "classes": (
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "courseSourcedId",
        "schoolSourcedId",
        "termSourcedIds",
    ),
    "enrollments": (
        "sourcedId",
        "status",
        "dateLastModified",
        "classSourcedId",
        "schoolSourcedId",
        "userSourcedId",
        "role",
    ),
}
# What this importer needs to do anything useful; the others are read when present.
REQUIRED_FILES = ("users", "classes", "enrollments")
MODES = ("bulk", "delta", "absent")
# What reading a damaged member raises: deflate data that does not decompress (zlib.error), a
# compression method zipfile cannot read (NotImplementedError), a CRC mismatch or a bad local
# header (BadZipFile), compressed data that ends early (EOFError).
DAMAGED = (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError)
CHUNK = 1024 * 1024


class InvalidRoster(BusinessRuleViolation):
    code = "invalid_roster"


class NotAZip(BadRequest):
    code = "not_a_zip"


class RosterTooLarge(PayloadTooLarge):
    code = "roster_too_large"


@dataclass
class RosterArchive:
    """A checked archive: which data sets it carries (name -> bulk|delta) and their rows."""

    files: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


def _limits() -> tuple[int, int, int]:
    settings = get_settings()
    return (
        settings.ROSTER_MAX_UPLOAD_MB * 1024 * 1024,
        settings.ROSTER_MAX_UNCOMPRESSED_MB * 1024 * 1024,
        settings.ROSTER_MAX_COMPRESSION_RATIO,
    )


def max_upload_bytes() -> int:
    return _limits()[0]


def _open_zip(source: IO[bytes]) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise NotAZip("The upload is not a zip archive") from None


def _check_sizes(archive: zipfile.ZipFile) -> None:
    _, max_total, max_ratio = _limits()
    total = 0
    for info in archive.infolist():
        if info.flag_bits & 0x1:
            raise InvalidRoster(f"{info.filename} is encrypted", code="encrypted_member")
        total += info.file_size
        compressed = max(info.compress_size, 1)
        if info.file_size > 1024 * 1024 and info.file_size / compressed > max_ratio:
            raise RosterTooLarge(
                f"{info.filename} expands more than {max_ratio} times: refused as a zip bomb",
                code="zip_bomb",
            )
    if total > max_total:
        raise RosterTooLarge(
            f"The archive would expand to more than {max_total // (1024 * 1024)} MB",
            code="zip_bomb",
        )


def _text(archive: zipfile.ZipFile, name: str) -> IO[str]:
    # utf-8-sig: exports from spreadsheet programs start with a byte order mark.
    return io.TextIOWrapper(archive.open(name), encoding="utf-8-sig", newline="")


def _read_manifest(archive: zipfile.ZipFile, names: set[str]) -> dict[str, str]:
    if MANIFEST not in names:
        raise InvalidRoster("The archive has no manifest.csv at its root", code="manifest_missing")
    try:
        reader = csv.reader(_text(archive, MANIFEST))
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:2]] != ["propertyName", "value"]:
            raise InvalidRoster(
                "manifest.csv must start with the header propertyName,value",
                code="invalid_manifest",
            )
        properties = {row[0].strip(): row[1].strip() for row in reader if len(row) >= 2}
    except (UnicodeDecodeError, csv.Error):
        raise InvalidRoster("manifest.csv is not UTF-8 CSV", code="invalid_manifest") from None
    version = properties.get("oneroster.version")
    if version != "1.2":
        raise InvalidRoster(
            f"manifest.csv declares oneroster.version {version!r}; this importer reads 1.2",
            code="unsupported_version",
        )
    return properties


def _declared_files(properties: dict[str, str], names: set[str]) -> dict[str, str]:
    files: dict[str, str] = {}
    errors: list[dict[str, str]] = []
    for name in REQUIRED_COLUMNS:
        mode = properties.get(f"file.{name}", "absent")
        if mode not in MODES:
            errors.append({"field": f"file.{name}", "message": f"must be one of {MODES}"})
        elif mode != "absent":
            if f"{name}.csv" not in names:
                errors.append(
                    {"field": f"{name}.csv", "message": f"declared {mode} but not in the zip"}
                )
            files[name] = mode
    for name in REQUIRED_FILES:
        if name not in files and not any(e["field"] == f"file.{name}" for e in errors):
            errors.append({"field": f"file.{name}", "message": "must be bulk or delta"})
    if errors:
        raise InvalidRoster(
            "manifest.csv does not describe a usable roster",
            code="invalid_manifest",
            extra={"errors": errors},
        )
    return files


def _header(archive: zipfile.ZipFile, name: str) -> list[str]:
    try:
        header = next(csv.reader(_text(archive, f"{name}.csv")), None)
    except (UnicodeDecodeError, csv.Error):
        raise InvalidRoster(f"{name}.csv is not UTF-8 CSV", code="invalid_csv") from None
    return [column.strip() for column in header or []]


def _check_headers(archive: zipfile.ZipFile, files: dict[str, str]) -> None:
    errors: list[dict[str, str]] = []
    for name in files:
        header = _header(archive, name)
        missing = [c for c in REQUIRED_COLUMNS[name] if c not in header]
        if missing:
            errors.append(
                {"field": f"{name}.csv", "message": "missing columns: " + ", ".join(missing)}
            )
        duplicated = sorted({c for c in header if header.count(c) > 1})
        if duplicated:
            errors.append(
                {"field": f"{name}.csv", "message": "repeated columns: " + ", ".join(duplicated)}
            )
    if errors:
        raise InvalidRoster(
            "A CSV file's header row lacks required columns",
            code="invalid_headers",
            extra={"errors": errors},
        )


def _read_through(archive: zipfile.ZipFile, names: list[str]) -> None:
    """Decompress each of `names` to its end, a chunk at a time, so that a member that does
    not decompress or fails its CRC check is found now rather than by the import. zipfile
    stops at the size the archive declares, which `_check_sizes` has bounded."""
    for name in names:
        try:
            with archive.open(name) as member:
                while member.read(CHUNK):
                    pass
        except DAMAGED as exc:
            raise NotAZip(f"{name} in the zip archive is damaged: {exc}") from None


def inspect_archive(source: IO[bytes]) -> RosterArchive:
    """Check `source` (a seekable zip) as a OneRoster 1.2 CSV set; raise a 4xx otherwise."""
    with _open_zip(source) as archive:
        _check_sizes(archive)
        names = {info.filename for info in archive.infolist() if not info.is_dir()}
        try:
            properties = _read_manifest(archive, names)
            files = _declared_files(properties, names)
            _read_through(archive, [MANIFEST, *(f"{name}.csv" for name in files)])
            _check_headers(archive, files)
        except DAMAGED as exc:
            # The manifest itself, or a member's start, is damaged.
            raise NotAZip(f"The zip archive is damaged: {exc}") from None
    return RosterArchive(files=files)


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        return (self.values.get(column) or "").strip()


def count_rows(archive: zipfile.ZipFile, name: str) -> int:
    """Data rows of `name`.csv, counted by streaming it (nothing is kept)."""
    return sum(1 for _ in csv.reader(_text(archive, f"{name}.csv"))) - 1


def read_batches(archive: zipfile.ZipFile, name: str, size: int) -> Iterator[list[Row]]:
    """The rows of `name`.csv, `size` at a time, streamed from the zip."""
    reader = csv.DictReader(_text(archive, f"{name}.csv"))
    if reader.fieldnames:
        reader.fieldnames = [column.strip() for column in reader.fieldnames]
    batch: list[Row] = []
    for values in reader:
        # line_num counts physical lines, so a quoted newline inside a field stays exact.
        batch.append(Row(line=reader.line_num, values=values))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
