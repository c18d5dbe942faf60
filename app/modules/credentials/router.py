"""`/credentials`: the issuer's JWKS, its status lists and public verification; and the
issuer's DID document at `/.well-known/did.json` (did:web), outside the API prefix."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Response

from app.core.dependencies import DbSession
from app.core.errors import problem
from app.core.routing import APIRouter
from app.modules.credentials import issuer, status, verification
from app.modules.credentials.schemas import VerificationReport, VerifyRequest

router = APIRouter(prefix="/credentials", tags=["credentials"])
well_known_router = APIRouter(prefix="/.well-known", tags=["credentials"])

# Public documents a verifier fetches; short caching keeps revocation news fresh.
_PUBLIC_CACHE = "public, max-age=60"


@well_known_router.get("/did.json")
def did_document(db: DbSession, response: Response) -> dict[str, Any]:
    """The issuer's did:web DID document: every signing key, current and retired."""
    response.headers["Cache-Control"] = _PUBLIC_CACHE
    return issuer.did_document(db)


@router.get("/jwks")
def jwks(db: DbSession, response: Response) -> dict[str, Any]:
    """The issuer's public keys as a JWKS (each `kid` is the key's DID URL)."""
    response.headers["Cache-Control"] = _PUBLIC_CACHE
    return issuer.jwks(db)


@router.get(
    "/status/{list_id}",
    response_class=Response,
    responses={
        200: {"content": {issuer.MEDIA_TYPE: {"schema": {"type": "string"}}}},
        **problem(404, "No status list has this id"),
    },
)
def status_list(list_id: uuid.UUID, db: DbSession) -> Response:
    """A revocation status list as a signed BitstringStatusListCredential (public vc+jwt)."""
    return Response(
        status.status_list_credential(db, list_id),
        media_type=issuer.MEDIA_TYPE,
        headers={"Cache-Control": _PUBLIC_CACHE},
    )


@router.post(
    "/verify",
    response_model=VerificationReport,
    responses=problem(400, "Not a compact JWS, or a JSON credential without one"),
)
def verify(body: VerifyRequest, db: DbSession) -> VerificationReport:
    """Verify a credential (public): valid, revoked, tampered or unknown_issuer, with reasons."""
    return verification.verify(db, token=body.jwt, document=body.credential)
