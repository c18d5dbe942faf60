"""`/certificates`: issue, list, read, download, revoke, and public verification."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse

from app.core.dependencies import DbSession
from app.core.errors import NotFound, problem
from app.core.pagination import Page, Pagination, paginate
from app.core.routing import APIRouter
from app.core.storage import ObjectNotFound
from app.modules.certificates import credential, repository, service
from app.modules.certificates.schemas import CertificateRead, RevokeRequest, VerificationResult
from app.modules.credentials.issuer import MEDIA_TYPE
from app.modules.users.dependencies import CurrentUser

router = APIRouter(prefix="/certificates", tags=["certificates"])


@router.post(
    "/enrollments/{enrollment_id}/generate",
    response_model=CertificateRead,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "The certificate already existed"}},
)
def generate(
    enrollment_id: uuid.UUID, db: DbSession, user: CurrentUser, response: Response
) -> CertificateRead:
    """Issue the certificate of a completed enrollment (idempotent).

    Completing an enrollment issues its certificate automatically; this asks for it again
    (for example when the background job has not run yet) and answers 200 when it exists.
    """
    certificate, created = service.generate_for_enrollment(
        db, enrollment_id=enrollment_id, user=user
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return CertificateRead.model_validate(certificate)


@router.get("/my-certificates", response_model=Page[CertificateRead])
def my_certificates(db: DbSession, user: CurrentUser, params: Pagination) -> Page[CertificateRead]:
    """List my certificates, newest first."""
    items, total = paginate(db, repository.list_for_student(user.id), params)
    return Page.build([CertificateRead.model_validate(item) for item in items], total, params)


@router.get("/verify/{certificate_number}", response_model=VerificationResult)
def verify(certificate_number: str, db: DbSession) -> VerificationResult:
    """Check a certificate number (public): valid, revoked or tampered."""
    return service.verify(db, number=certificate_number)


@router.get("/{certificate_id}", response_model=CertificateRead)
def get_certificate(certificate_id: uuid.UUID, db: DbSession, user: CurrentUser) -> CertificateRead:
    """A certificate (its student, the course's instructor, or an admin)."""
    return CertificateRead.model_validate(
        service.get_for_viewer(db, certificate_id=certificate_id, user=user)
    )


@router.get(
    "/{certificate_id}/download",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/pdf": {}}}},
)
def download(certificate_id: uuid.UUID, db: DbSession, user: CurrentUser) -> StreamingResponse:
    """Download the certificate PDF."""
    certificate = service.get_for_viewer(db, certificate_id=certificate_id, user=user)
    try:
        chunks = service.open_pdf(certificate)
    except ObjectNotFound as exc:
        raise NotFound("The certificate file is missing", code="certificate_file_missing") from exc
    return StreamingResponse(
        chunks,
        media_type="application/pdf",
        headers={
            "Content-Disposition": (
                f'attachment; filename="certificate-{certificate.certificate_number}.pdf"'
            ),
            "Cache-Control": "private, no-store",
        },
    )


@router.get(
    "/{certificate_id}/credential",
    responses={
        200: {
            "description": "The OpenBadgeCredential: JSON with `proof.jwt`, or with "
            "`Accept: application/vc+jwt` the compact JWS alone",
            "content": {MEDIA_TYPE: {"schema": {"type": "string"}}},
        },
        **problem(403, "Only the learner or an admin may fetch the credential"),
    },
)
def get_credential(
    certificate_id: uuid.UUID, request: Request, db: DbSession, user: CurrentUser
) -> Any:
    """The certificate's Open Badges 3.0 credential, signed (the learner or an admin)."""
    token = service.credential_for_viewer(db, certificate_id=certificate_id, user=user)
    headers = {"Cache-Control": "private, no-store", "Vary": "Accept"}
    if MEDIA_TYPE in request.headers.get("accept", ""):
        return Response(token, media_type=MEDIA_TYPE, headers=headers)
    return JSONResponse(credential.as_json(token), headers=headers)


@router.post("/{certificate_id}/revoke", response_model=CertificateRead)
def revoke(
    certificate_id: uuid.UUID, body: RevokeRequest, db: DbSession, user: CurrentUser
) -> CertificateRead:
    """Revoke a certificate, with a reason (admin or the course's instructor)."""
    return CertificateRead.model_validate(
        service.revoke(db, certificate_id=certificate_id, user=user, reason=body.reason)
    )
