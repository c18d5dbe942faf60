"""`GET /certificates/{id}/credential`, the issuer's published documents, keys at rest, and
the credentials of certificates issued before credentials existed."""

from __future__ import annotations

import base64
import gzip
from collections.abc import Callable
from typing import Any

import jwt
from sqlalchemy import select, update

from app.cli import main as lms
from app.core.database import session_scope
from app.modules.certificates.models import Certificate
from app.modules.credentials.models import SigningKey, StatusList

OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


def test_the_credential_is_an_open_badge(
    client: Any,
    auth_headers: Any,
    issue_certificate: Callable[..., tuple[dict[str, Any], Any]],
    fetch_jwt: Callable[[str, Any], str],
) -> None:
    certificate, student = issue_certificate()
    response = client.get(
        f"/api/v1/certificates/{certificate['id']}/credential", headers=auth_headers(student)
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-store"
    document = response.json()
    token = fetch_jwt(certificate["id"], student)

    assert document["proof"] == {"type": "JwtProof2020", "jwt": token}
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "vc+jwt" and header["alg"] == "EdDSA"
    assert header["kid"] == f"{document['issuer']['id']}#{header['kid'].split('#')[1]}"
    assert document["@context"] == ["https://www.w3.org/ns/credentials/v2", OB_CONTEXT]
    assert document["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert document["id"] == (
        f"http://testserver/api/v1/certificates/verify/{certificate['certificate_number']}"
    )
    assert document["issuer"] == {
        "id": "did:web:testserver",
        "type": ["Profile"],
        "name": "LMS Backend",
        "url": "http://testserver",
    }
    assert document["validFrom"].endswith("Z")
    subject = document["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    identity = subject["identifier"][0]
    assert identity["type"] == "IdentityObject"
    assert identity["hashed"] is True and identity["identityType"] == "emailAddress"
    assert identity["identityHash"].startswith("sha256$") and len(identity["salt"]) == 32
    achievement = subject["achievement"]
    assert achievement["type"] == ["Achievement"]
    assert achievement["id"] == f"http://testserver/api/v1/courses/{certificate['course_id']}"
    assert achievement["achievementType"] == "Certificate"
    assert achievement["description"] == "Parsing, typing, codegen."
    assert achievement["criteria"]["narrative"]
    entry = document["credentialStatus"]
    assert entry["type"] == "BitstringStatusListEntry"
    assert entry["statusPurpose"] == "revocation"
    assert 0 <= int(entry["statusListIndex"]) < 131_072
    assert entry["statusListCredential"].startswith("http://testserver/api/v1/credentials/status/")
    assert entry["id"] == f"{entry['statusListCredential']}#{entry['statusListIndex']}"


def test_only_the_learner_and_admins_fetch_the_credential(
    client: Any,
    admin: Any,
    instructor: Any,
    make_user: Any,
    auth_headers: Any,
    issue_certificate: Callable[..., tuple[dict[str, Any], Any]],
) -> None:
    certificate, student = issue_certificate()
    url = f"/api/v1/certificates/{certificate['id']}/credential"

    for allowed in (student, admin):
        assert client.get(url, headers=auth_headers(allowed)).status_code == 200
    # The course's instructor reads the certificate but does not hold the learner's badge.
    assert client.get(url, headers=auth_headers(instructor)).status_code == 403
    for stranger in (make_user(), make_user(role="instructor")):
        assert client.get(url, headers=auth_headers(stranger)).status_code == 404
    assert client.get(url).status_code == 401
    assert (
        client.get(url, headers={"Authorization": "Bearer forged.token.value"}).status_code == 401
    )
    missing = "/api/v1/certificates/00000000-0000-0000-0000-000000000000/credential"
    assert client.get(missing, headers=auth_headers(admin)).status_code == 404


def test_did_document_jwks_and_status_list_are_public(
    client: Any,
    admin: Any,
    auth_headers: Any,
    issue_certificate: Callable[..., tuple[dict[str, Any], Any]],
    fetch_jwt: Callable[[str, Any], str],
) -> None:
    certificate, student = issue_certificate()
    kid = jwt.get_unverified_header(fetch_jwt(certificate["id"], student))["kid"]

    did = client.get("/.well-known/did.json").json()
    assert did["id"] == "did:web:testserver"
    assert did["assertionMethod"] == [kid]
    method = did["verificationMethod"][0]
    assert method["id"] == kid and method["type"] == "JsonWebKey"
    assert method["controller"] == "did:web:testserver"
    assert set(method["publicKeyJwk"]) == {"kty", "crv", "x"}  # nothing private
    keys = client.get("/api/v1/credentials/jwks").json()["keys"]
    assert [(key["kid"], key["alg"], key["crv"]) for key in keys] == [(kid, "EdDSA", "Ed25519")]

    client.post(
        f"/api/v1/certificates/{certificate['id']}/revoke",
        json={"reason": "Issued in error"},
        headers=auth_headers(admin),
    )
    document = client.get(
        f"/api/v1/certificates/{certificate['id']}/credential", headers=auth_headers(student)
    ).json()
    listing = client.get(document["credentialStatus"]["statusListCredential"])
    assert listing.status_code == 200
    assert listing.headers["content-type"].startswith("application/vc+jwt")
    claims = jwt.decode(listing.text, options={"verify_signature": False})
    assert claims["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    encoded = claims["credentialSubject"]["encodedList"]
    assert encoded[0] == "u" and "=" not in encoded
    bits = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert len(bits) == 16 * 1024
    # Exactly the revoked credential's bit is set, most significant bit first.
    index = int(document["credentialStatus"]["statusListIndex"])
    set_bits = [i for i in range(len(bits) * 8) if bits[i // 8] & (0x80 >> (i % 8))]
    assert set_bits == [index]

    unknown = client.get("/api/v1/credentials/status/00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404


def test_private_keys_are_stored_encrypted(
    issue_certificate: Callable[..., tuple[dict[str, Any], Any]],
) -> None:
    from cryptography.fernet import Fernet

    from app.core.config import get_settings

    issue_certificate()
    with session_scope() as session:
        key = session.scalars(select(SigningKey)).one()
        ciphertext = key.private_key_ciphertext
    secret = Fernet(get_settings().mfa_encryption_keys[0]).decrypt(ciphertext).decode()
    assert secret not in ciphertext and len(secret) == 43  # 32 raw bytes, base64url


def test_existing_certificates_get_credentials(
    client: Any,
    admin: Any,
    auth_headers: Any,
    issue_certificate: Callable[..., tuple[dict[str, Any], Any]],
) -> None:
    kept, _ = issue_certificate()
    revoked, _ = issue_certificate()
    client.post(
        f"/api/v1/certificates/{revoked['id']}/revoke",
        json={"reason": "Issued in error"},
        headers=auth_headers(admin),
    )
    with session_scope() as session:
        # As certificates issued before credentials existed look.
        session.execute(
            update(Certificate).values(
                credential_jwt=None, credential_status_list_id=None, credential_status_index=None
            )
        )
        session.execute(
            update(StatusList).values(
                bits=bytes(16 * 1024), allocated=bytes(16 * 1024), allocated_count=0
            )
        )

    assert lms(["credentials-issue-missing", "--batch", "1"]) == 0

    with session_scope() as session:
        rows = session.scalars(select(Certificate)).all()
        assert all(row.credential_jwt for row in rows)
        indexes = {row.credential_status_index for row in rows}
        assert len(indexes) == 2 and all(0 <= i < 131_072 for i in indexes)
    answers = {
        certificate["id"]: client.post(
            "/api/v1/credentials/verify",
            json={
                "jwt": client.get(
                    f"/api/v1/certificates/{certificate['id']}/credential",
                    headers={**auth_headers(admin), "Accept": "application/vc+jwt"},
                ).text
            },
        ).json()["status"]
        for certificate in (kept, revoked)
    }
    assert answers == {kept["id"]: "valid", revoked["id"]: "revoked"}
