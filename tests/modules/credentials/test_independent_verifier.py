"""A verifier that knows only the specifications checks credentials against what the issuer
publishes over HTTP: its did:web DID document and its signed status lists."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.cli import main as lms
from tests.modules.credentials.verifier import Verifier, tamper


def test_an_issued_credential_verifies_from_published_documents(
    served: str,
    verifier: Verifier,
    issue_certificate: Callable[..., tuple[dict[str, Any], Any]],
    fetch_jwt: Callable[[str, Any], str],
) -> None:
    certificate, student = issue_certificate()
    token = fetch_jwt(certificate["id"], student)

    verdict = verifier.verify(token)

    assert verdict.status == "valid", verdict.reasons
    claims = verdict.claims
    assert claims is not None
    port = served.rsplit(":", 1)[1]
    assert claims["issuer"]["id"] == f"did:web:127.0.0.1%3A{port}"
    assert jwt.get_unverified_header(token)["kid"].startswith(f"did:web:127.0.0.1%3A{port}#")
    subject = claims["credentialSubject"]
    identity = subject["identifier"][0]
    # A verifier who is told the learner's email can match it; the credential never says it.
    expected = hashlib.sha256(f"{student.email}{identity['salt']}".encode()).hexdigest()
    assert identity["identityHash"] == f"sha256${expected}"
    assert student.email not in token
    assert subject["achievement"]["name"] == certificate["course_title"]


def test_a_revoked_credential_is_revoked_in_the_status_list(
    client: Any,
    admin: Any,
    auth_headers: Any,
    verifier: Verifier,
    issue_certificate: Callable[..., tuple[dict[str, Any], Any]],
    fetch_jwt: Callable[[str, Any], str],
) -> None:
    certificate, student = issue_certificate()
    kept, kept_student = issue_certificate()
    token = fetch_jwt(certificate["id"], student)
    assert verifier.verify(token).status == "valid"

    response = client.post(
        f"/api/v1/certificates/{certificate['id']}/revoke",
        json={"reason": "Academic misconduct"},
        headers=auth_headers(admin),
    )
    assert response.status_code == 200, response.text

    assert verifier.verify(token).status == "revoked"
    # Only its own bit: the other credential of the same list stays valid.
    assert verifier.verify(fetch_jwt(kept["id"], kept_student)).status == "valid"


def test_an_edited_subject_breaks_the_signature(
    verifier: Verifier,
    issue_certificate: Callable[..., tuple[dict[str, Any], Any]],
    fetch_jwt: Callable[[str, Any], str],
) -> None:
    certificate, student = issue_certificate()
    token = fetch_jwt(certificate["id"], student)

    def rename(claims: dict[str, Any]) -> None:
        claims["credentialSubject"]["achievement"]["name"] = "Brain Surgery"

    verdict = verifier.verify(tamper(token, rename))

    assert verdict.status == "tampered"
    assert "signature" in verdict.reasons[0]


def test_a_credential_signed_with_another_key_fails(
    verifier: Verifier,
    issue_certificate: Callable[..., tuple[dict[str, Any], Any]],
    fetch_jwt: Callable[[str, Any], str],
) -> None:
    certificate, student = issue_certificate()
    token = fetch_jwt(certificate["id"], student)
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    forger = Ed25519PrivateKey.generate()

    # The issuer's kid with a forger's key: the published key rejects the signature.
    forged = jwt.encode(claims, forger, algorithm="EdDSA", headers=header)
    assert verifier.verify(forged).status == "tampered"
    # A kid the issuer never published.
    unknown = jwt.encode(
        claims, forger, algorithm="EdDSA", headers={**header, "kid": f"{claims['issuer']['id']}#x"}
    )
    assert verifier.verify(unknown).status == "unknown_issuer"


def test_a_rotated_key_leaves_earlier_credentials_valid(
    served: str,
    verifier: Verifier,
    issue_certificate: Callable[..., tuple[dict[str, Any], Any]],
    fetch_jwt: Callable[[str, Any], str],
) -> None:
    before, first_student = issue_certificate()
    old_token = fetch_jwt(before["id"], first_student)

    assert lms(["credentials-rotate-key"]) == 0
    after, second_student = issue_certificate()
    new_token = fetch_jwt(after["id"], second_student)

    old_kid = jwt.get_unverified_header(old_token)["kid"]
    new_kid = jwt.get_unverified_header(new_token)["kid"]
    assert old_kid != new_kid
    assert verifier.verify(old_token).status == "valid"
    assert verifier.verify(new_token).status == "valid"
    jwks = verifier.http.get(f"{served}/api/v1/credentials/jwks").json()
    assert {key["kid"] for key in jwks["keys"]} == {old_kid, new_kid}
