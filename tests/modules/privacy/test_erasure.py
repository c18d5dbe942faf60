"""Erasing a person: no trace of their personal strings in any text or JSON column of any
table, none of their files in storage, sessions ended for good, and the records the law
requires kept."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import JSON, String, Text, select

from app.core.database import Base, get_engine
from app.core.registry import load_models
from app.core.storage import get_storage
from app.modules.certificates.models import Certificate
from app.modules.payments.models import Payment
from app.modules.privacy.models import Erasure
from app.modules.users.models import User
from tests.factories import DEFAULT_PASSWORD
from tests.modules.privacy.conftest import Learner


def _traces(needles: list[str]) -> list[str]:
    """Every (table.column) of every table whose text or JSON holds one of `needles`."""
    load_models()
    found = []
    with get_engine().connect() as connection:
        for table in Base.metadata.sorted_tables:
            textual = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
            if not textual:
                continue
            for row in connection.execute(select(*textual)):
                for column, value in zip(textual, row, strict=True):
                    if value is None:
                        continue
                    text = value if isinstance(value, str) else json.dumps(value)
                    found += [
                        f"{table.name}.{column.name}: {n}"
                        for n in needles
                        if n.lower() in text.lower()
                    ]
    return found


def _erase(
    client: Any, headers: dict[str, str], user_id: Any, reason: str = "GDPR art. 17 #88"
) -> Any:
    return client.post(f"/api/v1/users/{user_id}/erase", json={"reason": reason}, headers=headers)


def test_erasure_leaves_no_personal_data_anywhere(
    client: Any, learner: Learner, admin: Any, auth_headers: Any
) -> None:
    export = client.post("/api/v1/users/me/export", headers=learner.headers).json()
    needles = [*learner.personal.values(), "zelda-notes.txt"]
    assert len(_traces(needles)) >= 8  # the check finds what is there
    storage = get_storage("uploads")
    assert storage.exists(learner.file_key) and storage.exists(f"exports/{export['id']}.zip")

    response = _erase(client, auth_headers(admin), learner.user.id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user_id"] == str(learner.user.id) and body["performed_by_id"] == str(admin.id)
    assert body["summary"]["files"] == 1 and body["summary"]["exports"] == 1

    assert _traces(needles) == []
    assert not storage.exists(learner.file_key)
    assert not storage.exists(f"exports/{export['id']}.zip")
    assert not get_storage("certificates").exists(learner.certificate_key)


def test_what_the_law_requires_is_kept(
    client: Any, learner: Learner, admin: Any, auth_headers: Any, db: Any
) -> None:
    assert _erase(client, auth_headers(admin), learner.user.id).status_code == 200
    payment = db.scalar(select(Payment).where(Payment.user_id == learner.user.id))
    assert str(payment.amount) == "49.00" and payment.currency == "USD"
    assert payment.status == "completed" and payment.completed_at is not None
    certificate = db.scalar(select(Certificate).where(Certificate.student_id == learner.user.id))
    assert certificate.certificate_number == "LMS-2026-ZQ0001"
    assert certificate.is_revoked is False and certificate.student_name == "deleted user"
    user = db.get(User, learner.user.id)
    assert user.full_name == "deleted user" and user.is_active is False
    assert user.password_hash is None and user.email.endswith("@erased.invalid")


def test_the_erased_account_cannot_come_back(
    client: Any, learner: Learner, admin: Any, auth_headers: Any
) -> None:
    assert client.get("/api/v1/users/me", headers=learner.headers).status_code == 200
    assert _erase(client, auth_headers(admin), learner.user.id).status_code == 200
    assert client.get("/api/v1/users/me", headers=learner.headers).status_code == 401
    login = client.post(
        "/api/v1/auth/login",
        json={"email": learner.personal["email"], "password": DEFAULT_PASSWORD},
    )
    assert login.status_code == 401
    refreshed = client.post(
        "/api/v1/auth/refresh", json={"refresh_token": learner.tokens["refresh_token"]}
    )
    assert refreshed.status_code == 401
    forgot = client.post("/api/v1/auth/forgot-password", json={"email": learner.personal["email"]})
    assert forgot.status_code == 202


def test_erasure_is_idempotent_and_audited(
    client: Any, learner: Learner, admin: Any, auth_headers: Any, db: Any
) -> None:
    headers = auth_headers(admin)
    first = _erase(client, headers, learner.user.id)
    before = db.get(User, learner.user.id)
    snapshot = (before.email, before.full_name, before.token_version, before.updated_at)
    db.commit()
    second = _erase(client, headers, learner.user.id, reason="asked again")
    assert second.status_code == first.status_code == 200
    assert second.json() == first.json()
    db.expire_all()
    after = db.get(User, learner.user.id)
    assert (after.email, after.full_name, after.token_version, after.updated_at) == snapshot
    records = db.scalars(select(Erasure)).all()
    assert [(r.user_id, r.reason) for r in records] == [(learner.user.id, "GDPR art. 17 #88")]


def test_only_administrators_erase_and_never_themselves(
    client: Any, learner: Learner, admin: Any, instructor: Any, auth_headers: Any, db: Any
) -> None:
    path = f"/api/v1/users/{learner.user.id}/erase"
    assert client.post(path, json={"reason": "because"}).status_code == 401
    for who in (learner.headers, auth_headers(instructor)):
        assert client.post(path, json={"reason": "because"}, headers=who).status_code == 403
    own = _erase(client, auth_headers(admin), admin.id)
    assert own.status_code == 422 and own.json()["code"] == "self_lockout"
    missing = _erase(client, auth_headers(admin), "00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    no_reason = client.post(path, json={}, headers=auth_headers(admin))
    assert no_reason.status_code == 422
    assert db.scalars(select(Erasure)).all() == []
    assert db.get(User, learner.user.id).full_name == learner.personal["name"]
