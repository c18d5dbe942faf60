"""Uploads, access checks and downloads of stored files.

An upload is streamed: the first bytes are sniffed, then the rest flows chunk by chunk into
the storage backend through a reader that counts bytes and hashes them, and stops the
transfer the moment the size limit is passed. Nothing holds the whole file in memory.

Modules that attach private files to their own records (assignments' submissions) say who
else may read them through `allow_reading_attachments`, so this module never imports them.
A lesson's files are read as the lesson is (`courses.service.open_lesson`, which holds its
release rule): a locked lesson's files answer 403 `item_locked`.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.database import after_commit
from app.core.errors import (
    BusinessRuleViolation,
    Conflict,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthorized,
    UnsupportedMediaType,
)
from app.core.permissions import Role
from app.core.storage import get_storage
from app.core.storage.base import CHUNK_SIZE
from app.modules.courses import service as courses_service
from app.modules.courses.access import Capability, get_owned_course, may_read_content
from app.modules.files import repository
from app.modules.files.models import UploadedFile
from app.modules.files.schemas import DownloadLink, FileBase, FileRead
from app.modules.files.validation import (
    SNIFF_BYTES,
    ContentInspector,
    check_extension,
    file_extension,
    normalize_folder,
    sanitize_filename,
    sniff_mime_type,
)
from app.modules.users.models import User

logger = logging.getLogger("app.files")


class FileNotFound(NotFound):
    code = "file_not_found"
    title = "File not found"


class _MeteredReader:
    """Replays the sniffed head, then the rest of the upload; counts, hashes and inspects
    every byte, and raises once more than `limit` bytes have been read or the inspector
    refuses the content (remembered, since storage clients may wrap what a read raises)."""

    def __init__(
        self, head: bytes, source: BinaryIO, limit: int, inspector: ContentInspector
    ) -> None:
        self._head = head
        self._source = source
        self._limit = limit
        self._inspector = inspector
        self.size = 0
        self.too_large = False
        self.refusal: UnsupportedMediaType | None = None
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = CHUNK_SIZE
        # Always return `size` bytes until the end: readers such as the S3 transfer manager
        # take a short read for the end of the stream.
        chunk, self._head = self._head[:size], self._head[size:]
        while len(chunk) < size:
            more = self._source.read(size - len(chunk))
            if not more:
                break
            chunk += more
        self.size += len(chunk)
        if self.size > self._limit:
            self.too_large = True
            raise _too_large(self._limit)
        try:
            self._inspector.feed(chunk)
        except UnsupportedMediaType as exc:
            self.refusal = exc
            raise
        self.sha256.update(chunk)
        return chunk


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The file is larger than the {limit // (1024 * 1024)} MB limit",
        code="file_too_large",
        extra={"max_bytes": limit},
    )


def _read_head(source: BinaryIO) -> bytes:
    head = b""
    while len(head) < SNIFF_BYTES:
        chunk = source.read(SNIFF_BYTES - len(head))
        if not chunk:
            break
        head += chunk
    return head


def _is_admin(user: User) -> bool:
    return user.role == Role.ADMIN.value


def upload_file(
    db: Session,
    *,
    user: User,
    source: BinaryIO,
    filename: str | None,
    folder: str | None = None,
    course_id: uuid.UUID | None = None,
    lesson_id: uuid.UUID | None = None,
    is_public: bool = False,
) -> UploadedFile:
    """Validate, stream to storage and record one upload (a lesson's file belongs to the
    lesson's course)."""
    settings = get_settings()
    name = sanitize_filename(filename)
    extension = file_extension(name)
    check_extension(extension, settings.ALLOWED_UPLOAD_EXTENSIONS)
    folder_name = normalize_folder(folder)
    if lesson_id is not None:
        if is_public:
            raise BusinessRuleViolation(
                "A lesson's file cannot be public: its downloads follow the lesson's release"
                " rule (upload it without is_public, or without lesson_id)",
                code="public_lesson_file",
            )
        course_id = _lesson_course(db, lesson_id=lesson_id, course_id=course_id)
    if course_id is not None:
        # Course materials are published by the course's owner (or an admin) only.
        get_owned_course(db, course_id=course_id, user=user, capability=Capability.CONTENT)
    head = _read_head(source)
    mime_type = sniff_mime_type(head, extension)
    limit = settings.max_upload_bytes
    if len(head) > limit:
        raise _too_large(limit)

    file_id = uuid.uuid4()
    stored_name = f"{file_id.hex}.{extension}"
    key = f"{folder_name or 'files'}/{stored_name}"
    storage = get_storage("uploads")
    inspector = ContentInspector(extension)
    reader = _MeteredReader(head, source, limit, inspector)
    try:
        storage.save(key, reader, content_type=mime_type)  # type: ignore[arg-type]
    except Exception as exc:
        _discard(key)
        if reader.too_large:
            raise _too_large(limit) from None
        if reader.refusal is not None:
            raise reader.refusal from None
        logger.exception("storing an upload failed")
        raise ServiceUnavailable("File storage is unavailable; try again later") from exc
    try:
        inspector.finish()
    except UnsupportedMediaType:
        _discard(key)
        raise

    record = UploadedFile(
        id=file_id,
        original_filename=name,
        stored_filename=stored_name,
        storage_provider=storage.provider,
        storage_path=key,
        folder=folder_name,
        extension=extension,
        size_bytes=reader.size,
        mime_type=mime_type,
        checksum_sha256=reader.sha256.hexdigest(),
        uploader_id=user.id,
        course_id=course_id,
        lesson_id=lesson_id,
        is_public=is_public,
    )
    db.add(record)
    try:
        db.flush()
    except Exception:
        _discard(key)
        raise
    return record


def _lesson_course(db: Session, *, lesson_id: uuid.UUID, course_id: uuid.UUID | None) -> uuid.UUID:
    """The course of the lesson a file is attached to; a different `course_id` is refused."""
    lesson = courses_service.get_lesson(db, lesson_id=lesson_id)
    if course_id is not None and course_id != lesson.course_id:
        raise BusinessRuleViolation(
            "The lesson is not a lesson of this course", code="lesson_not_in_course"
        )
    return lesson.course_id


def _discard(key: str) -> None:
    try:
        get_storage("uploads").delete(key)
    except Exception:
        logger.warning("could not remove stored object %s", key, exc_info=True)


def get_owned_file(db: Session, *, file_id: uuid.UUID, user: User) -> UploadedFile:
    """The file if `user` uploaded it or is an admin; NotFound otherwise (its existence is
    not revealed to others)."""
    record = repository.get(db, file_id)
    if record is None or not (record.uploader_id == user.id or _is_admin(user)):
        raise FileNotFound("File not found")
    return record


# (db, file_id, uploader_id, reader) -> whether the reader may read that private file.
AttachmentReader = Callable[[Session, uuid.UUID, uuid.UUID, User], bool]
_attachment_readers: list[AttachmentReader] = []


def allow_reading_attachments(rule: AttachmentReader) -> None:
    """Let `rule` grant reading a private file to someone other than its uploader."""
    if rule not in _attachment_readers:
        _attachment_readers.append(rule)


def _may_download(db: Session, record: UploadedFile, user: User) -> bool:
    if record.uploader_id == user.id or _is_admin(user):
        return True
    if record.course_id is None:
        # A private file may still be an attachment someone must read (a submission's grader).
        return any(rule(db, record.id, record.uploader_id, user) for rule in _attachment_readers)
    if not may_read_content(db, course_id=record.course_id, user=user):
        return False
    if record.lesson_id is not None:
        try:
            # Raises ItemLocked (403, with the reasons) while the lesson is locked.
            courses_service.open_lesson(db, lesson_id=record.lesson_id, user=user)
        except NotFound:
            return False  # an unpublished lesson's files do not exist for students
    return True


def get_downloadable_file(db: Session, *, file_id: uuid.UUID, user: User | None) -> UploadedFile:
    """The file if `user` may read it: public files, the uploader, an admin, the grader of a
    submission it is attached to, for course materials the course's staff and its enrolled
    students, and for a lesson's files those who may open the lesson now."""
    record = repository.get(db, file_id)
    if record is None:
        raise FileNotFound("File not found")
    if record.is_public:
        return record
    if user is None:
        raise Unauthorized("Sign in to download this file", code="not_authenticated")
    if not _may_download(db, record, user):
        raise FileNotFound("File not found")
    return record


def get_public_file(db: Session, *, storage_path: str) -> UploadedFile:
    record = repository.get_public_by_path(db, storage_path)
    if record is None:
        raise FileNotFound("File not found")
    return record


def delete_file(db: Session, *, file_id: uuid.UUID, user: User) -> None:
    record = get_owned_file(db, file_id=file_id, user=user)
    key = record.storage_path
    db.delete(record)
    try:
        db.flush()
    except IntegrityError as exc:
        raise Conflict(
            "The file is still attached to a submission or lesson", code="file_in_use"
        ) from exc
    # The object goes only once the row is gone for good; a rollback keeps both.
    after_commit(db, lambda: _discard(key))


def create_download_link(record: UploadedFile) -> DownloadLink:
    """A short-lived URL to the content (signed by this API for local storage, a presigned
    S3 URL or an Azure SAS URL otherwise). Callers check access first."""
    expires = get_settings().FILE_DOWNLOAD_URL_EXPIRE_SECONDS
    url = get_storage("uploads").create_download_url(
        record.storage_path,
        expires_seconds=expires,
        filename=record.original_filename,
        content_type=record.mime_type,
    )
    return DownloadLink(url=url, expires_at=datetime.now(UTC) + timedelta(seconds=expires))


def to_read(record: UploadedFile) -> FileRead:
    settings = get_settings()
    public_url = (
        get_storage("uploads").build_file_url(record.storage_path) if record.is_public else None
    )
    return FileRead(
        **FileBase.model_validate(record).model_dump(),
        download_url=f"{settings.PUBLIC_BASE_URL.rstrip('/')}{settings.API_V1_PREFIX}"
        f"/files/download/{record.id}",
        public_url=public_url,
    )
