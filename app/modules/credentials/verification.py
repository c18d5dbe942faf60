"""Verifying a credential this issuer signed: the JWS against the published key its `kid`
names, the JSON form against what the JWS signs, and the revocation bit in its status list.

Answers `unknown_issuer` when the `kid` is not a key of this issuer's DID document, `tampered`
when the signature or contents do not hold, `revoked` when the status bit is set."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

import jwt
from sqlalchemy.orm import Session

from app.core.errors import BadRequest
from app.modules.credentials import issuer, repository, status
from app.modules.credentials.schemas import VerificationReport

ENVELOPED_PREFIX = f"data:{issuer.MEDIA_TYPE},"


class MalformedCredential(BadRequest):
    code = "malformed_credential"
    title = "Not a credential"


def token_of(document: dict[str, Any]) -> str:
    """The compact JWS carried by a JSON credential: its `proof.jwt`, or the data: URL id of
    an `EnvelopedVerifiableCredential`."""
    identifier = document.get("id")
    if (
        document.get("type") == "EnvelopedVerifiableCredential"
        and isinstance(identifier, str)
        and identifier.startswith(ENVELOPED_PREFIX)
    ):
        return identifier.removeprefix(ENVELOPED_PREFIX)
    proof = document.get("proof")
    if isinstance(proof, dict) and isinstance(proof.get("jwt"), str):
        return str(proof["jwt"])
    raise MalformedCredential("The credential carries no proof with a JWT (proof.jwt)")


def _tampered(reason: str, **fields: Any) -> VerificationReport:
    return VerificationReport(status="tampered", valid=False, reasons=[reason], **fields)


def _status_reasons(db: Session, claims: dict[str, Any]) -> tuple[bool, list[str]]:
    """(revoked, reasons) from the credential's revocation entries."""
    entries = claims.get("credentialStatus") or []
    entries = entries if isinstance(entries, list) else [entries]
    prefix = status.lists_url()
    revoked, reasons = False, []
    for item in entries:
        if not isinstance(item, dict) or item.get("statusPurpose") != status.REVOCATION:
            continue
        url = str(item.get("statusListCredential", ""))
        index = str(item.get("statusListIndex"))
        bit: bool | None = None
        with contextlib.suppress(ValueError):  # not an index or list of ours: unknown
            if url.startswith(prefix):
                bit = status.is_set(db, uuid.UUID(url.removeprefix(prefix)), int(index))
        if bit is None:
            revoked = True
            reasons.append(f"status list entry {url}#{index} is unknown")
        elif bit:
            revoked = True
            reasons.append(f"revoked: bit {index} of {url} is set")
    return revoked, reasons


def verify(
    db: Session, *, token: str | None = None, document: dict[str, Any] | None = None
) -> VerificationReport:
    if token is None:
        if document is None:
            raise MalformedCredential("Nothing to verify")
        token = token_of(document)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise MalformedCredential("The credential is not a compact JWS") from exc
    kid = header.get("kid")
    if not isinstance(kid, str) or "#" not in kid:
        return VerificationReport(
            status="unknown_issuer",
            valid=False,
            reasons=["the JWS header has no kid naming a DID URL"],
        )
    signer, _, fragment = kid.partition("#")
    if signer != issuer.did():
        return VerificationReport(
            status="unknown_issuer",
            valid=False,
            reasons=[f"signed by {signer}, not by this issuer ({issuer.did()})"],
            kid=kid,
        )
    key = repository.key_by_kid(db, fragment)
    if key is None:
        return VerificationReport(
            status="unknown_issuer",
            valid=False,
            reasons=[f"{kid} is not a key of this issuer's DID document"],
            kid=kid,
        )
    if header.get("alg") != key.algorithm:
        return _tampered(f"signed with {header.get('alg')!r}, the key is {key.algorithm}", kid=kid)
    try:
        claims: dict[str, Any] = jwt.decode(
            token, issuer.public_key(key), algorithms=[key.algorithm], options={"require": []}
        )
    except jwt.PyJWTError:
        return _tampered("the signature does not match the signed contents", kid=kid)
    credential_issuer = claims.get("issuer")
    issuer_id = credential_issuer.get("id") if isinstance(credential_issuer, dict) else None
    issuer_id = credential_issuer if isinstance(credential_issuer, str) else issuer_id
    fields: dict[str, Any] = {
        "kid": kid,
        "issuer": issuer_id,
        "credential_id": claims.get("id"),
        "valid_from": claims.get("validFrom"),
        "achievement_name": (claims.get("credentialSubject") or {})
        .get("achievement", {})
        .get("name"),
    }
    if issuer_id != signer:
        return _tampered("the credential's issuer is not the key's controller", **fields)
    if document is not None and document.get("type") != "EnvelopedVerifiableCredential":
        unsigned = {name: value for name, value in document.items() if name != "proof"}
        if unsigned != claims:
            return _tampered("the credential's contents differ from what its proof signs", **fields)
    revoked, reasons = _status_reasons(db, claims)
    if revoked:
        return VerificationReport(status="revoked", valid=False, reasons=reasons, **fields)
    return VerificationReport(
        status="valid",
        valid=True,
        reasons=[f"signed by {kid}", "not revoked"],
        **fields,
    )
