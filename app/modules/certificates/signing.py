"""Tamper evidence: an HMAC-SHA256 over a certificate's canonical fields.

The key is derived from the installation's signing key for this one purpose. Anyone who
edits a stored certificate (name, course, dates, revocation, the PDF's hash) without the
key produces a row whose signature no longer matches, and verification reports it.
Rotating SECRET_KEY invalidates every stored signature, so rotate it only together with a
re-signing of the certificates.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from app.core.security import purpose_digest, tokens_equal
from app.modules.certificates.models import Certificate

SCHEME = "hmac-sha256-v1"


def _instant(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="microseconds") if value else None


def canonical_bytes(certificate: Certificate) -> bytes:
    """The signed statement: sorted-key JSON, so the same fields always give the same bytes."""
    fields = {
        "certificate_number": certificate.certificate_number,
        "enrollment_id": str(certificate.enrollment_id),
        "student_id": str(certificate.student_id),
        "course_id": str(certificate.course_id),
        "student_name": certificate.student_name,
        "course_title": certificate.course_title,
        "instructor_name": certificate.instructor_name,
        "completion_date": _instant(certificate.completion_date),
        "issued_at": _instant(certificate.issued_at),
        "pdf_sha256": certificate.pdf_sha256,
        "is_revoked": bool(certificate.is_revoked),
        "revoked_at": _instant(certificate.revoked_at),
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(certificate: Certificate) -> str:
    digest = purpose_digest("lms:certificate-signature:v1", canonical_bytes(certificate))
    return f"{SCHEME}:{digest.hex()}"


def signature_is_valid(certificate: Certificate) -> bool:
    return tokens_equal(certificate.signature or "", sign(certificate))
