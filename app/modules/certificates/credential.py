"""A certificate as an Open Badges 3.0 `OpenBadgeCredential` (W3C VC Data Model 2.0), signed
by the issuer's key as a VC-JOSE compact JWS and revocable through a Bitstring Status List.

The learner is named only by a salted SHA-256 of their email (an OB 3.0 IdentityObject): a
verifier who knows the email can check it, nobody else learns it from the credential.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any

import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.modules.certificates.models import Certificate
from app.modules.courses.models import Course
from app.modules.credentials import issuer, status
from app.modules.users.models import User

CONTEXTS = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
TYPES = ["VerifiableCredential", "OpenBadgeCredential"]
PROOF_TYPE = "JwtProof2020"
CRITERIA = (
    "Complete every lesson of the course and pass each of its graded quizzes; the "
    "certificate is issued on completion."
)


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def identity_hash(email: str, salt: str) -> str:
    """OB 3.0 IdentityObject hash: `sha256$` + hex SHA-256 of the identity followed by salt."""
    return "sha256$" + hashlib.sha256(f"{email.strip().lower()}{salt}".encode()).hexdigest()


def credential_id(certificate: Certificate) -> str:
    """The credential's URL: the certificate's public verification page."""
    return f"{issuer.base_url()}/certificates/verify/{certificate.certificate_number}"


def build(
    certificate: Certificate,
    *,
    email: str,
    description: str | None,
    entry: status.StatusEntry,
) -> dict[str, Any]:
    salt = secrets.token_hex(16)
    return {
        "@context": CONTEXTS,
        "id": credential_id(certificate),
        "type": TYPES,
        "issuer": issuer.issuer_profile(),
        "validFrom": _instant(certificate.issued_at),
        "name": f"{certificate.course_title}: Certificate of Completion",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": identity_hash(email, salt),
                    "identityType": "emailAddress",
                    "hashed": True,
                    "salt": salt,
                }
            ],
            "activityEndDate": _instant(certificate.completion_date),
            "achievement": {
                "id": f"{issuer.base_url()}/courses/{certificate.course_id}",
                "type": ["Achievement"],
                "name": certificate.course_title,
                "description": description
                or f"Completion of the course {certificate.course_title}",
                "criteria": {"narrative": CRITERIA},
                "achievementType": "Certificate",
            },
        },
        "credentialStatus": status.entry(entry),
    }


def issue(db: Session, certificate: Certificate, *, email: str, description: str | None) -> str:
    """Sign the certificate's credential, drawing a revocation index (set at once when the
    certificate is already revoked)."""
    entry = status.allocate(db)
    certificate.credential_status_list_id = entry.list_id
    certificate.credential_status_index = entry.index
    if certificate.is_revoked:
        status.set_status(db, entry)
    claims = build(certificate, email=email, description=description, entry=entry)
    certificate.credential_jwt = issuer.sign(db, claims)
    db.flush()
    return certificate.credential_jwt


def ensure(db: Session, certificate: Certificate) -> str:
    """The certificate's credential, issued now when it predates credentials."""
    if certificate.credential_jwt is not None:
        return certificate.credential_jwt
    student = db.get(User, certificate.student_id)
    course = db.get(Course, certificate.course_id)
    return issue(
        db,
        certificate,
        email=student.email if student else "",
        description=course.description if course else None,
    )


def revoke(db: Session, certificate: Certificate) -> None:
    """Set the certificate's bit in its status list (a no-op before its credential exists:
    issuing it later sets the bit from `is_revoked`)."""
    if certificate.credential_status_list_id is None or certificate.credential_status_index is None:
        return
    status.set_status(
        db,
        status.StatusEntry(
            list_id=certificate.credential_status_list_id,
            index=certificate.credential_status_index,
        ),
    )


def as_json(token: str) -> dict[str, Any]:
    """The credential as JSON with its proof embedded: the claims the JWS signs, and the
    JWS itself under `proof.jwt`."""
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return {**claims, "proof": {"type": PROOF_TYPE, "jwt": token}}


def issue_missing(db: Session, *, batch: int = 200) -> int:
    """Issue the credentials of up to `batch` certificates that have none; how many."""
    certificates = db.scalars(
        select(Certificate)
        .where(Certificate.credential_jwt.is_(None))
        .order_by(Certificate.issued_at, Certificate.id)
        .limit(batch)
    ).all()
    # Loaded once for the batch, so `ensure` finds each in the session instead of a query.
    db.scalars(select(User).where(User.id.in_({c.student_id for c in certificates}))).all()
    db.scalars(select(Course).where(Course.id.in_({c.course_id for c in certificates}))).all()
    for certificate in certificates:
        ensure(db, certificate)
    return len(certificates)
