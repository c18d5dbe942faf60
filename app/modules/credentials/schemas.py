"""Credential verification as the API takes and answers it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from app.core.validation import RequestModel


class VerifyRequest(RequestModel):
    """Exactly one of `jwt` (the compact vc+jwt) or `credential` (the JSON credential with
    its `proof`, or an `EnvelopedVerifiableCredential`)."""

    jwt: str | None = Field(default=None, min_length=1, max_length=100_000)
    credential: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> VerifyRequest:
        if (self.jwt is None) == (self.credential is None):
            raise ValueError("give exactly one of jwt or credential")
        return self


class VerificationReport(BaseModel):
    """What a verifier learns: the verdict, why, and what the credential states."""

    status: Literal["valid", "revoked", "tampered", "unknown_issuer"]
    valid: bool
    reasons: list[str]
    credential_id: str | None = None
    issuer: str | None = None
    kid: str | None = None
    valid_from: str | None = None
    achievement_name: str | None = None
