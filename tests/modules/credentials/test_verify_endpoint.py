"""`POST /api/v1/credentials/verify`: the issuer's own answer for the same cases, for a JWT or
the JSON credential with its embedded proof, to anyone without an account."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.cli import main as lms
from tests.modules.credentials.verifier import tamper

VERIFY = "/api/v1/credentials/verify"


def verify(client: Any, **body: Any) -> dict[str, Any]:
    response = client.post(VERIFY, json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_valid_then_revoked(
    client: Any,
    admin: Any,
    auth_headers: Any,
    issue_certificate: Callable[..., tuple[dict[str, Any], Any]],
    fetch_jwt: Callable[[str, Any], str],
) -> None:
    certificate, student = issue_certificate()
    token = fetch_jwt(certificate["id"], student)
    document = client.get(
        f"/api/v1/certificates/{certificate['id']}/credential", headers=auth_headers(student)
    ).json()

    for answer in (verify(client, jwt=token), verify(client, credential=document)):
        assert answer["status"] == "valid" and answer["valid"] is True
        assert answer["credential_id"].endswith(
            f"/certificates/verify/{certificate['certificate_number']}"
        )
        assert answer["achievement_name"] == certificate["course_title"]
    enveloped = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": "EnvelopedVerifiableCredential",
        "id": f"data:application/vc+jwt,{token}",
    }
    assert verify(client, credential=enveloped)["status"] == "valid"

    client.post(
        f"/api/v1/certificates/{certificate['id']}/revoke",
        json={"reason": "Issued in error"},
        headers=auth_headers(admin),
    )
    for answer in (verify(client, jwt=token), verify(client, credential=document)):
        assert answer["status"] == "revoked" and answer["valid"] is False
        assert "revoked" in answer["reasons"][0]


def test_tampered_subject_in_the_jwt_or_the_json(
    client: Any,
    auth_headers: Any,
    issue_certificate: Callable[..., tuple[dict[str, Any], Any]],
    fetch_jwt: Callable[[str, Any], str],
) -> None:
    certificate, student = issue_certificate()
    token = fetch_jwt(certificate["id"], student)

    def rename(claims: dict[str, Any]) -> None:
        claims["credentialSubject"]["achievement"]["name"] = "Brain Surgery"

    assert verify(client, jwt=tamper(token, rename))["status"] == "tampered"
    # The JSON edited while its proof still signs the original contents.
    document = client.get(
        f"/api/v1/certificates/{certificate['id']}/credential", headers=auth_headers(student)
    ).json()
    rename(document)
    answer = verify(client, credential=document)
    assert answer["status"] == "tampered"
    assert "differ" in answer["reasons"][0]


def test_wrong_key_and_unknown_issuer(
    client: Any,
    issue_certificate: Callable[..., tuple[dict[str, Any], Any]],
    fetch_jwt: Callable[[str, Any], str],
) -> None:
    certificate, student = issue_certificate()
    token = fetch_jwt(certificate["id"], student)
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    forger = Ed25519PrivateKey.generate()

    assert (
        verify(client, jwt=jwt.encode(claims, forger, algorithm="EdDSA", headers=header))["status"]
        == "tampered"
    )
    for kid in (f"{claims['issuer']['id']}#not-a-key", "did:web:evil.example#key-1", "key-1"):
        forged = jwt.encode(claims, forger, algorithm="EdDSA", headers={**header, "kid": kid})
        assert verify(client, jwt=forged)["status"] == "unknown_issuer"
    # An HMAC token under the issuer's kid (algorithm confusion) is refused, never checked
    # with the public key as a shared secret.
    confused = jwt.encode(claims, "s" * 32, algorithm="HS256", headers={"kid": header["kid"]})
    assert verify(client, jwt=confused)["status"] == "tampered"


def test_rotated_key_still_verifies(
    client: Any,
    issue_certificate: Callable[..., tuple[dict[str, Any], Any]],
    fetch_jwt: Callable[[str, Any], str],
) -> None:
    before, first = issue_certificate()
    old_token = fetch_jwt(before["id"], first)
    assert lms(["credentials-rotate-key"]) == 0
    after, second = issue_certificate()

    assert verify(client, jwt=old_token)["status"] == "valid"
    assert verify(client, jwt=fetch_jwt(after["id"], second))["status"] == "valid"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 422),
        ({"jwt": "a.b.c", "credential": {}}, 422),
        ({"jwt": "not a jws"}, 400),
        ({"credential": {"type": ["VerifiableCredential"]}}, 400),
        ({"credential": {"proof": {"type": "JwtProof2020", "jwt": "x"}}}, 400),
    ],
)
def test_bad_input_is_a_problem(client: Any, body: dict[str, Any], status: int) -> None:
    response = client.post(VERIFY, json=body)

    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")


def test_verification_is_rate_limited(env: Callable[..., None]) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    env(CERTIFICATE_VERIFY_RATE_LIMIT_PER_MINUTE="3")
    with TestClient(create_app()) as limited:
        codes = [limited.post(VERIFY, json={"jwt": "not a jws"}).status_code for _ in range(5)]
    assert codes == [400, 400, 400, 429, 429]
