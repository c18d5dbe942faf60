"""`/rostering`: OneRoster 1.2 CSV imports (administrators)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import File, Query, Request, Response, UploadFile, status

from app.core.dependencies import DbSession
from app.core.errors import problem
from app.core.pagination import Page, Pagination
from app.core.routing import APIRouter, TransactionalRoute
from app.modules.rostering import service
from app.modules.rostering.archive import RosterTooLarge, max_upload_bytes
from app.modules.rostering.schemas import (
    RosterImportDetail,
    RosterImportErrorRead,
    RosterImportRead,
)
from app.modules.users.dependencies import AdminUser

# Room for the multipart boundaries around the file.
_MULTIPART_OVERHEAD = 64 * 1024


class _RosterSizeRoute(TransactionalRoute):
    """Refuses an upload whose declared length is over the limit before reading the body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            declared = request.headers.get("content-length", "")
            limit = max_upload_bytes()
            too_large = declared.isdigit() and int(declared) > limit + _MULTIPART_OVERHEAD
            if request.method == "POST" and too_large:
                raise RosterTooLarge(
                    f"The upload is larger than the {limit // (1024 * 1024)} MB limit",
                    code="file_too_large",
                    extra={"max_bytes": limit},
                )
            return await handler(request)

        return guarded


router = APIRouter(prefix="/rostering", tags=["rostering"], route_class=_RosterSizeRoute)


@router.post(
    "/oneroster",
    response_model=RosterImportRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem(400, "The upload is not a zip archive")
    | problem(413, "The upload, or what it expands to, is over the limit (zip bomb)")
    | problem(422, "No usable manifest.csv, a required file missing, or wrong CSV headers"),
)
def import_oneroster(
    db: DbSession,
    admin: AdminUser,
    file: Annotated[UploadFile, File(description="A OneRoster 1.2 CSV zip (field `file`)")],
    dry_run: Annotated[
        bool, Query(description="Report what the import would do without writing it")
    ] = False,
) -> RosterImportRead:
    """Check a OneRoster 1.2 CSV zip and queue its import (admin)."""
    record = service.start_import(db, admin=admin, source=file.file, dry_run=dry_run)
    return RosterImportRead.model_validate(record)


@router.get("/imports", response_model=Page[RosterImportRead])
def list_imports(db: DbSession, _admin: AdminUser, params: Pagination) -> Page[RosterImportRead]:
    """List roster imports, newest first (admin)."""
    items, total = service.list_imports(db, params=params)
    return Page[RosterImportRead].build(
        [RosterImportRead.model_validate(i) for i in items], total, params
    )


@router.get(
    "/imports/{import_id}",
    response_model=RosterImportDetail,
    responses=problem(404, "No such import"),
)
def get_import(import_id: uuid.UUID, db: DbSession, _admin: AdminUser) -> RosterImportDetail:
    """One import's progress, counts and first refused rows (admin)."""
    record, errors = service.get_import(db, import_id)
    return RosterImportDetail.model_validate(
        {
            **RosterImportRead.model_validate(record).model_dump(),
            "errors": [RosterImportErrorRead.model_validate(e) for e in errors],
        }
    )


@router.get(
    "/imports/{import_id}/errors",
    response_model=Page[RosterImportErrorRead],
    responses=problem(404, "No such import"),
)
def list_import_errors(
    import_id: uuid.UUID,
    db: DbSession,
    _admin: AdminUser,
    params: Pagination,
) -> Page[RosterImportErrorRead]:
    """Every row an import refused, by file and line (admin)."""
    items, total = service.list_errors(db, import_id=import_id, params=params)
    return Page[RosterImportErrorRead].build(
        [RosterImportErrorRead.model_validate(e) for e in items], total, params
    )
