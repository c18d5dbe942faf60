"""Revocation by W3C Bitstring Status List v1.0.

A credential carries a `BitstringStatusListEntry` naming a list and its index in it. The list
is published as a signed `BitstringStatusListCredential` whose `encodedList` is the multibase
(prefix `u`) base64url, unpadded, of the GZIP-compressed bitstring; its first bit is the most
significant bit of the first byte. Each list holds 131,072 entries, the specification's
16 KB minimum, so one revoked credential hides among many, and a credential's index is drawn
at random among the list's free ones (the specification's advice): sequential indexes would
tell a verifier how many credentials were issued before it and which were issued together.
"""

from __future__ import annotations

import base64
import gzip
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy.orm import Session

from app.core.database import utcnow
from app.core.errors import NotFound
from app.modules.credentials import issuer, repository
from app.modules.credentials.models import StatusList

REVOCATION = "revocation"
LIST_LENGTH = 131_072  # bits: 16 KB, the minimum the specification allows
CONTEXT_V2 = "https://www.w3.org/ns/credentials/v2"


class StatusListNotFound(NotFound):
    code = "status_list_not_found"
    title = "Status list not found"


@dataclass(frozen=True)
class StatusEntry:
    list_id: uuid.UUID
    index: int


def lists_url() -> str:
    """Where this issuer's status lists live; a list's URL is this followed by its id."""
    return f"{issuer.base_url()}/credentials/status/"


def list_url(list_id: uuid.UUID) -> str:
    return f"{lists_url()}{list_id}"


# Random draws before falling back to picking among the free indexes directly: a list stays
# in use until full, and the last free indexes are rarely hit by chance.
RANDOM_DRAWS = 32


def _free_index(allocated: bytes, length: int) -> int:
    """A uniformly random index whose bit is clear in `allocated` (at least one is)."""
    for _ in range(RANDOM_DRAWS):
        index = secrets.randbelow(length)
        if not _bit(allocated, index):
            return index
    free = [i for i in range(length) if not _bit(allocated, i)]
    return free[secrets.randbelow(len(free))]


def allocate(db: Session, purpose: str = REVOCATION) -> StatusEntry:
    """A random free index of the open list (a new list when every one is full). The list
    row stays locked until commit, so two issuers never draw the same index."""
    status_list = repository.open_status_list(db, purpose)
    if status_list is None:
        status_list = StatusList(
            purpose=purpose,
            length=LIST_LENGTH,
            allocated_count=0,
            allocated=bytes(LIST_LENGTH // 8),
            bits=bytes(LIST_LENGTH // 8),
        )
        db.add(status_list)
        db.flush()
    index = _free_index(status_list.allocated, status_list.length)
    status_list.allocated = _with_bit(status_list.allocated, index, True)
    status_list.allocated_count += 1
    db.flush()
    return StatusEntry(list_id=status_list.id, index=index)


def entry(status: StatusEntry, purpose: str = REVOCATION) -> dict[str, Any]:
    """The `credentialStatus` of a credential holding this index."""
    url = list_url(status.list_id)
    return {
        "id": f"{url}#{status.index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(status.index),
        "statusListCredential": url,
    }


def _bit(bits: bytes, index: int) -> bool:
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def _with_bit(bits: bytes, index: int, value: bool) -> bytes:
    changed = bytearray(bits)
    mask = 0x80 >> (index % 8)
    if value:
        changed[index // 8] |= mask
    else:
        changed[index // 8] &= ~mask & 0xFF
    return bytes(changed)


def set_status(db: Session, status: StatusEntry, value: bool = True) -> None:
    """Set (revoke) or clear the credential's bit; the list row is locked meanwhile."""
    status_list = repository.get_status_list(db, status.list_id, lock=True)
    if status_list is None or not 0 <= status.index < status_list.length:
        raise StatusListNotFound("The credential's status entry does not exist")
    status_list.bits = _with_bit(status_list.bits, status.index, value)
    db.flush()


def is_set(db: Session, list_id: uuid.UUID, index: int) -> bool | None:
    """The credential's bit, or None when no list of ours has this index."""
    status_list = repository.get_status_list(db, list_id)
    if status_list is None or not 0 <= index < status_list.length:
        return None
    return _bit(status_list.bits, index)


def encode(bits: bytes) -> str:
    compressed = gzip.compress(bits, mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode()


def status_list_credential(db: Session, list_id: uuid.UUID) -> str:
    """The list as a signed `BitstringStatusListCredential` (a vc+jwt), valid from now."""
    status_list = repository.get_status_list(db, list_id)
    if status_list is None:
        raise StatusListNotFound("No status list has this id")
    url = list_url(status_list.id)
    credential = {
        "@context": [CONTEXT_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer.did(),
        "validFrom": utcnow().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": status_list.purpose,
            "encodedList": encode(status_list.bits),
        },
    }
    return issuer.sign(db, credential)
