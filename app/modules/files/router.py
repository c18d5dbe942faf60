"""`/files`: upload, list, metadata, downloads (direct, signed link, public) and delete."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, File, Form, Query, Request, Response, UploadFile, status
from fastapi.responses import FileResponse, RedirectResponse

from app.core.config import get_settings
from app.core.dependencies import DbSession
from app.core.errors import Gone, NotFound, PayloadTooLarge, PermissionDenied, problem
from app.core.pagination import Page, Pagination, paginate
from app.core.permissions import Permission, Role
from app.core.routing import APIRouter, TransactionalRoute
from app.core.storage import get_storage
from app.core.storage.local import InvalidSignedUrl, LocalStorage, verify_download_token
from app.modules.files import repository, service
from app.modules.files.models import UploadedFile
from app.modules.files.schemas import DownloadLink, FileRead
from app.modules.users.dependencies import CurrentUser, OptionalUser, require_permissions
from app.modules.users.models import User

# Room for the multipart boundaries and the small form fields around the file.
_MULTIPART_OVERHEAD = 64 * 1024


class _UploadSizeRoute(TransactionalRoute):
    """Refuses a request whose declared Content-Length is already over the upload limit,
    before FastAPI reads (and spools) the body. Bodies without a length are still cut off
    while streaming to storage."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            if request.method == "POST":
                limit = get_settings().max_upload_bytes
                declared = request.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit + _MULTIPART_OVERHEAD:
                    raise PayloadTooLarge(
                        f"The file is larger than the {limit // (1024 * 1024)} MB limit",
                        code="file_too_large",
                        extra={"max_bytes": limit},
                    )
            return await handler(request)

        return guarded


router = APIRouter(prefix="/files", tags=["files"], route_class=_UploadSizeRoute)

Uploader = Annotated[User, Depends(require_permissions(Permission.UPLOAD_FILE))]


def _serve(record: UploadedFile) -> Response:
    storage = get_storage("uploads")
    if isinstance(storage, LocalStorage):
        # FileResponse streams from disk and answers Range requests (video seeking).
        return FileResponse(
            storage.path_for(record.storage_path),
            media_type=record.mime_type,
            filename=record.original_filename,
            headers={"Cache-Control": "private, no-store"},
        )
    link = service.create_download_link(record)
    return RedirectResponse(link.url, status_code=status.HTTP_307_TEMPORARY_REDIRECT)


@router.post(
    "/upload",
    response_model=FileRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem(400, "The file is empty, or the folder name is invalid")
    | problem(
        422,
        "Invalid input, the lesson is not of `course_id` (`lesson_not_in_course`), or a"
        " lesson's file asked to be public (`public_lesson_file`)",
    )
    | problem(413, "The file is larger than the upload limit")
    | problem(404, "The course or the lesson does not exist")
    | problem(415, "The file's type is not accepted, or its content does not match its name")
    | problem(503, "File storage is unavailable"),
)
def upload(
    db: DbSession,
    user: Uploader,
    file: Annotated[UploadFile, File(description="The file (multipart field `file`)")],
    folder: Annotated[str | None, Form(max_length=64)] = None,
    course_id: Annotated[uuid.UUID | None, Form()] = None,
    lesson_id: Annotated[
        uuid.UUID | None,
        Form(
            description="Attach to a lesson: downloads follow the lesson's release rule (such a"
            " file cannot be public)"
        ),
    ] = None,
    is_public: Annotated[bool, Form()] = False,
) -> FileRead:
    """Upload a file (streamed to storage; size, type and content checked)."""
    if is_public and user.role == Role.STUDENT.value:
        raise PermissionDenied("Only instructors and admins may publish public files")
    record = service.upload_file(
        db,
        user=user,
        source=file.file,
        filename=file.filename,
        folder=folder,
        course_id=course_id,
        lesson_id=lesson_id,
        is_public=is_public,
    )
    return service.to_read(record)


@router.get("/my-files", response_model=Page[FileRead])
def my_files(
    db: DbSession,
    user: CurrentUser,
    params: Pagination,
    mime_type: Annotated[
        str | None, Query(max_length=127, description="Prefix, e.g. `image/` or `application/pdf`")
    ] = None,
    extension: Annotated[str | None, Query(max_length=16)] = None,
    course_id: uuid.UUID | None = None,
) -> Page[FileRead]:
    """List the files I uploaded, newest first."""
    statement = repository.list_for_uploader(
        user.id, mime_type=mime_type, extension=extension, course_id=course_id
    )
    items, total = paginate(db, statement, params)
    return Page.build([service.to_read(item) for item in items], total, params)


_LOCKED = problem(
    403,
    "Not allowed, or the file's lesson is locked for you (`item_locked`, with the reasons and "
    "the unlock date)",
)


@router.get("/download/{file_id}", response_class=Response, responses=_LOCKED)
def download(file_id: uuid.UUID, db: DbSession, user: OptionalUser) -> Response:
    """Download a file: streamed from local storage, or a redirect to a short-lived URL."""
    record = service.get_downloadable_file(db, file_id=file_id, user=user)
    return _serve(record)


@router.get(
    "/signed/{token}", response_class=Response, responses=problem(410, "The link has expired")
)
def signed_download(token: str) -> Response:
    """Download through a signed, expiring link (local storage)."""
    try:
        grant = verify_download_token(token)
    except InvalidSignedUrl as exc:
        if exc.reason == "expired":
            raise Gone("This download link has expired", code="link_expired") from exc
        raise PermissionDenied("This download link is not valid", code="invalid_link") from exc
    if grant.area == "uploads":
        storage = get_storage("uploads")
    elif grant.area == "certificates":
        storage = get_storage("certificates")
    else:
        raise NotFound("File not found")
    if not isinstance(storage, LocalStorage) or not storage.exists(grant.key):
        raise NotFound("File not found")
    return FileResponse(
        storage.path_for(grant.key),
        media_type=grant.content_type,
        filename=grant.filename,
        headers={"Cache-Control": "private, no-store"},
    )


@router.get("/public/{storage_path:path}", response_class=Response)
def public_download(storage_path: str, db: DbSession) -> Response:
    """Download a file its owner published (local storage)."""
    return _serve(service.get_public_file(db, storage_path=storage_path))


@router.get("/{file_id}", response_model=FileRead, responses=_LOCKED)
def get_file(file_id: uuid.UUID, db: DbSession, user: OptionalUser) -> FileRead:
    """File metadata (for whoever may download the file)."""
    return service.to_read(service.get_downloadable_file(db, file_id=file_id, user=user))


@router.get("/{file_id}/download-url", response_model=DownloadLink, responses=_LOCKED)
def download_url(file_id: uuid.UUID, db: DbSession, user: OptionalUser) -> DownloadLink:
    """A short-lived link to the file that anyone holding it can use."""
    return service.create_download_link(
        service.get_downloadable_file(db, file_id=file_id, user=user)
    )


@router.delete("/{file_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete(file_id: uuid.UUID, db: DbSession, user: CurrentUser) -> Response:
    """Delete one of my files (admins: any file)."""
    service.delete_file(db, file_id=file_id, user=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
