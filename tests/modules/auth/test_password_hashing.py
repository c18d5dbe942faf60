"""Password hashing: argon2id at the chosen parameters, stored hashes with other parameters
upgraded at sign-in, and a per-process memory budget that bounds hashes in flight."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import update

from app.core import security
from app.core.database import session_scope
from app.modules.users.models import User
from tests.factories import DEFAULT_PASSWORD
from tests.modules.auth.helpers import fetch, login

CURRENT = "$argon2id$v=19$m=19456,t=2,p=1$"


def _stored_hash(user: Any) -> str:
    value = fetch(lambda db: db.get(User, user.id).password_hash)
    assert isinstance(value, str)
    return value


def test_new_hashes_use_the_chosen_argon2id_parameters() -> None:
    assert security.hash_password(DEFAULT_PASSWORD).startswith(CURRENT)


@pytest.mark.parametrize(
    "parameters",
    [{}, {"memory_cost": 7168, "time_cost": 5}],  # pwdlib's default: m=64 MiB, t=3, p=4
    ids=["pwdlib-default", "weaker"],
)
def test_a_hash_with_other_parameters_is_rewritten_at_sign_in(
    client: Any, student: Any, parameters: dict[str, int]
) -> None:
    old = Argon2Hasher(**parameters).hash(DEFAULT_PASSWORD)
    with session_scope() as db:
        db.execute(update(User).where(User.id == student.id).values(password_hash=old))
    assert not old.startswith(CURRENT)
    assert login(client, "student@example.com").status_code == 200
    upgraded = _stored_hash(student)
    assert upgraded.startswith(CURRENT)
    # The upgraded hash is the same password.
    assert login(client, "student@example.com").status_code == 200
    assert _stored_hash(student) == upgraded  # nothing left to upgrade


def test_the_memory_budget_bounds_hashes_in_flight(
    env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    env(PASSWORD_HASHING_MEMORY_MB="40")  # room for two 19 MiB hashes
    stored = security.hash_password(DEFAULT_PASSWORD)
    real = security._password_hash.verify_and_update
    in_flight, peak, lock = [0], [0], threading.Lock()

    def counted(password: str, hash_: str) -> tuple[bool, str | None]:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        try:
            time.sleep(0.05)
            return real(password, hash_)
        finally:
            with lock:
                in_flight[0] -= 1

    monkeypatch.setattr(security._password_hash, "verify_and_update", counted)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(lambda _: security.verify_password(DEFAULT_PASSWORD, stored), range(8))
        )
    assert all(valid for valid, _ in results)
    assert peak[0] == 2


def test_a_sign_in_that_finds_no_room_answers_503_with_retry_after(
    env: Any, client: Any, student: Any
) -> None:
    env(PASSWORD_HASHING_MEMORY_MB="19", PASSWORD_HASHING_QUEUE_SECONDS="0.2")
    with security._budget.reserve(security.ARGON2_MEMORY_KIB):  # another hash in flight
        busy = login(client, "student@example.com")
    assert busy.status_code == 503
    assert busy.headers["content-type"].startswith("application/problem+json")
    assert busy.json()["code"] == "password_hashing_busy"
    assert int(busy.headers["Retry-After"]) >= 1
    assert login(client, "student@example.com").status_code == 200
