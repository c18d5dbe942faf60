"""Shared helpers for the auth tests: signing in, reading the outbox, TOTP codes."""

from __future__ import annotations

import email
import json
import re
import time
from collections.abc import Callable
from email.message import Message
from pathlib import Path
from typing import Any, TypeVar

import pyotp
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.database import session_scope
from tests.factories import DEFAULT_PASSWORD

API = "/api/v1"
T = TypeVar("T")


def login(client: Any, email_address: str, password: str = DEFAULT_PASSWORD, **kwargs: Any) -> Any:
    return client.post(
        f"{API}/auth/login", json={"email": email_address, "password": password}, **kwargs
    )


def tokens_for(client: Any, email_address: str, password: str = DEFAULT_PASSWORD) -> dict[str, Any]:
    response = login(client, email_address, password)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _outbox() -> Path:
    return get_settings().VAR_DIR / "outbox"


def sent_mails(to: str) -> list[Message]:
    """Every mail the console backend wrote for `to`, oldest first."""
    index = _outbox() / "index.jsonl"
    if not index.exists():
        return []
    mails = []
    for line in index.read_text().splitlines():
        entry = json.loads(line)
        if entry["to"] == to:
            mails.append(email.message_from_bytes((_outbox() / entry["file"]).read_bytes()))
    return mails


def text_body(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no text/plain part")


def token_in(message: Message) -> str:
    match = re.search(r"token: (\S+)", text_body(message))
    assert match, text_body(message)
    return match.group(1)


def next_totp(secret: str, steps_ahead: int = 0) -> str:
    """The code of the current step (or one ahead, still inside the accepted window)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def fetch(query: Callable[[Session], T]) -> T:
    """Run `query` in its own short transaction (a long-lived test session would hold
    SQLite's write lock and block the requests under test)."""
    with session_scope() as session:
        return query(session)
