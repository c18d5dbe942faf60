from __future__ import annotations

import email
import json
import re
import shutil
from collections.abc import Callable
from typing import Any

import pytest

from app.core.config import get_settings

Upload = Callable[..., Any]


@pytest.fixture(autouse=True)
def empty_outbox(clean_state: None) -> None:
    """Each test reads only the mail it caused."""
    shutil.rmtree(get_settings().VAR_DIR / "outbox", ignore_errors=True)


@pytest.fixture
def upload(client: Any, admin: Any, auth_headers: Any) -> Upload:
    """POST a zip to the import route as the administrator (or `as_user`)."""

    def _upload(content: bytes, *, dry_run: bool = False, as_user: Any = None) -> Any:
        return client.post(
            "/api/v1/rostering/oneroster",
            params={"dry_run": str(dry_run).lower()},
            files={"file": ("roster.zip", content, "application/zip")},
            headers=auth_headers(as_user or admin),
        )

    return _upload


def mail_to(address: str) -> list[dict[str, Any]]:
    """Emails the console backend wrote for `address`, with their text bodies."""
    outbox = get_settings().VAR_DIR / "outbox"
    index = outbox / "index.jsonl"
    if not index.exists():
        return []
    sent = []
    for line in index.read_text().splitlines():
        entry = json.loads(line)
        if entry["to"] == address:
            message = email.message_from_bytes((outbox / entry["file"]).read_bytes())
            part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            entry["text"] = payload.decode()
            sent.append(entry)
    return sent


def invitation_token(address: str) -> str:
    text = mail_to(address)[-1]["text"]
    match = re.search(r"Token: (\S+)", text)
    assert match, text
    return match.group(1)
