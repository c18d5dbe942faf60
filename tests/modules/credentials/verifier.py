"""A third party's verifier of Open Badges 3.0 credentials, written from the specifications
alone (VC Data Model 2.0, VC-JOSE-COSE, did:web, Bitstring Status List v1.0) with PyJWT and
HTTP. It imports nothing of the application: all it knows comes from the credential and the
documents the issuer publishes.

1. The JWS header: `typ` vc+jwt, an asymmetric `alg`, a `kid` that is a DID URL.
2. did:web: `did:web:<host>[:<path>]` -> `https://<host>/.well-known/did.json` (or
   `https://<host>/<path>/did.json`), the host's `%3A` decoded to the port's colon.
3. The verification method the `kid` names, listed under `assertionMethod`, its
   `publicKeyJwk` checks the signature; the credential's issuer is that DID.
4. Each `BitstringStatusListEntry`: fetch `statusListCredential`, verify it the same way
   (same issuer), gunzip the multibase-base64url `encodedList` (at least 16 KB) and read bit
   `statusListIndex`, most significant bit first.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import httpx
import jwt

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
MIN_BITS = 131_072
ALGORITHMS = ("EdDSA", "ES256")


@dataclass
class Verdict:
    status: str  # valid | revoked | tampered | unknown_issuer
    reasons: list[str] = field(default_factory=list)
    claims: dict[str, Any] | None = None


class Unverifiable(Exception):
    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def did_web_url(did: str, *, insecure_loopback: bool = False) -> str:
    """The did:web resolution URL; plain HTTP only for a loopback host when allowed."""
    if not did.startswith("did:web:"):
        raise Unverifiable("unknown_issuer", f"{did} is not a did:web DID")
    segments = [unquote(part) for part in did.removeprefix("did:web:").split(":")]
    host, path = segments[0], segments[1:]
    loopback = host.split(":")[0] in ("127.0.0.1", "localhost")
    scheme = "http" if insecure_loopback and loopback else "https"
    suffix = "/".join([*path, "did.json"]) if path else ".well-known/did.json"
    return f"{scheme}://{host}/{suffix}"


class Verifier:
    def __init__(self, *, insecure_loopback: bool = False, timeout: float = 10) -> None:
        self.insecure_loopback = insecure_loopback
        self.http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def _did_document(self, did: str) -> dict[str, Any]:
        response = self.http.get(did_web_url(did, insecure_loopback=self.insecure_loopback))
        if response.status_code != 200:
            raise Unverifiable("unknown_issuer", f"DID document of {did}: {response.status_code}")
        document: dict[str, Any] = response.json()
        if document.get("id") != did:
            raise Unverifiable("unknown_issuer", "the DID document is for another DID")
        return document

    def _key(self, kid: str, algorithm: str) -> Any:
        did, _, fragment = kid.partition("#")
        document = self._did_document(did)

        def absolute(reference: str) -> str:
            return f"{did}{reference}" if reference.startswith("#") else reference

        methods = {absolute(m["id"]): m for m in document.get("verificationMethod", [])}
        assertion = {
            absolute(item if isinstance(item, str) else item["id"])
            for item in document.get("assertionMethod", [])
        }
        method = methods.get(kid)
        if not fragment or method is None or kid not in assertion:
            raise Unverifiable("unknown_issuer", f"{kid} is not an assertion key of {did}")
        return jwt.PyJWK(method["publicKeyJwk"], algorithm=algorithm).key

    def _verified_claims(self, token: str) -> tuple[str, dict[str, Any]]:
        """(issuer DID, claims) of a vc+jwt whose signature holds."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unverifiable("tampered", "not a compact JWS") from exc
        if header.get("typ") != "vc+jwt":
            raise Unverifiable("tampered", f"typ is {header.get('typ')!r}, not vc+jwt")
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise Unverifiable("tampered", f"alg {algorithm!r} is not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid.startswith("did:"):
            raise Unverifiable("unknown_issuer", "kid is not a DID URL")
        key = self._key(kid, algorithm)
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=[algorithm], options={"require": []}
            )
        except jwt.PyJWTError as exc:
            raise Unverifiable("tampered", f"signature check failed: {exc}") from exc
        issuer = claims.get("issuer")
        issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
        did = kid.partition("#")[0]
        if issuer_id != did:
            raise Unverifiable("tampered", f"issuer {issuer_id} did not sign it ({did} did)")
        contexts = claims.get("@context") or []
        if not contexts or contexts[0] != VC_CONTEXT:
            raise Unverifiable("tampered", "the first @context is not VC Data Model 2.0")
        if "VerifiableCredential" not in claims.get("type", []):
            raise Unverifiable("tampered", "not a VerifiableCredential")
        valid_from = claims.get("validFrom")
        if valid_from and datetime.fromisoformat(valid_from) > datetime.now(UTC):
            raise Unverifiable("tampered", "not valid yet")
        return did, claims

    def _bit_is_set(self, entry: dict[str, Any], issuer: str) -> bool:
        response = self.http.get(entry["statusListCredential"])
        if response.status_code != 200:
            raise Unverifiable("tampered", f"status list: HTTP {response.status_code}")
        list_issuer, listing = self._verified_claims(response.text)
        if list_issuer != issuer:
            raise Unverifiable("tampered", "the status list has another issuer")
        if "BitstringStatusListCredential" not in listing["type"]:
            raise Unverifiable("tampered", "not a BitstringStatusListCredential")
        subject = listing["credentialSubject"]
        if subject.get("statusPurpose") != entry["statusPurpose"]:
            raise Unverifiable("tampered", "the status list has another purpose")
        encoded = subject["encodedList"]
        if not encoded.startswith("u"):
            raise Unverifiable("tampered", "encodedList is not multibase base64url")
        payload = encoded[1:]
        bits = gzip.decompress(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        if len(bits) * 8 < MIN_BITS:
            raise Unverifiable("tampered", "the bitstring is shorter than 16 KB")
        index = int(entry["statusListIndex"])
        return bool(bits[index // 8] & (0x80 >> (index % 8)))

    def verify(self, token: str) -> Verdict:
        try:
            issuer, claims = self._verified_claims(token)
            status = claims.get("credentialStatus") or []
            entries = status if isinstance(status, list) else [status]
            for entry in entries:
                if entry.get("type") != "BitstringStatusListEntry":
                    continue
                if entry["statusPurpose"] == "revocation" and self._bit_is_set(entry, issuer):
                    return Verdict("revoked", ["the revocation bit is set"], claims)
        except Unverifiable as exc:
            return Verdict(exc.status, [exc.reason])
        return Verdict("valid", [], claims)


def tamper(token: str, change: Callable[[dict[str, Any]], None]) -> str:
    """The token with its claims edited and the original signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    change(claims)
    edited = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{edited}.{signature}"
