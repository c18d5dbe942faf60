"""`/users`: profiles, administration, visibility rules and role guards."""

from __future__ import annotations

from typing import Any

import pytest

API = "/api/v1"


def test_me_reads_and_updates_own_profile(client: Any, student: Any, auth_headers: Any) -> None:
    headers = auth_headers(student)
    assert client.get(f"{API}/users/me", headers=headers).json()["id"] == str(student.id)
    response = client.patch(
        f"{API}/users/me",
        json={"full_name": "Renamed", "bio": "Learner", "email_opt_out": True},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["full_name"], body["bio"], body["email_opt_out"]) == ("Renamed", "Learner", True)


@pytest.mark.parametrize(
    "payload",
    [{"role": "admin"}, {"is_active": False}, {"email": "new@example.com"}, {"mfa_enabled": True}],
)
def test_me_cannot_change_privileged_fields(
    client: Any, student: Any, auth_headers: Any, payload: dict[str, Any]
) -> None:
    response = client.patch(f"{API}/users/me", json=payload, headers=auth_headers(student))
    assert response.status_code == 422
    me = client.get(f"{API}/users/me", headers=auth_headers(student)).json()
    assert me["role"] == "student" and me["is_active"] is True


def test_avatar_must_be_a_web_url(client: Any, student: Any, auth_headers: Any) -> None:
    headers = auth_headers(student)
    bad = client.patch(
        f"{API}/users/me", json={"avatar_url": "javascript:alert(1)"}, headers=headers
    )
    assert bad.status_code == 422
    good = client.patch(
        f"{API}/users/me", json={"avatar_url": "https://cdn.example.com/a.png"}, headers=headers
    )
    assert good.json()["avatar_url"] == "https://cdn.example.com/a.png"


def test_me_rejects_null_full_name(client: Any, student: Any, auth_headers: Any) -> None:
    response = client.patch(
        f"{API}/users/me", json={"full_name": None}, headers=auth_headers(student)
    )
    assert response.status_code == 422


def test_admin_lists_filters_and_searches(
    client: Any, admin: Any, make_user: Any, auth_headers: Any
) -> None:
    make_user(email="alice@example.com", full_name="Alice Smith", role="instructor")
    make_user(email="bob@example.com", full_name="Bob Jones")
    make_user(email="carol@example.com", full_name="Carol_Underscore", is_active=False)
    headers = auth_headers(admin)

    everyone = client.get(f"{API}/users", headers=headers).json()
    assert everyone["total"] == 4 and everyone["page"] == 1
    assert "password_hash" not in everyone["items"][0]

    instructors = client.get(f"{API}/users", params={"role": "instructor"}, headers=headers).json()
    assert [u["email"] for u in instructors["items"]] == ["alice@example.com"]

    inactive = client.get(f"{API}/users", params={"is_active": "false"}, headers=headers).json()
    assert [u["email"] for u in inactive["items"]] == ["carol@example.com"]

    by_name = client.get(f"{API}/users", params={"search": "smith"}, headers=headers).json()
    assert [u["email"] for u in by_name["items"]] == ["alice@example.com"]
    by_email = client.get(f"{API}/users", params={"search": "BOB@"}, headers=headers).json()
    assert [u["email"] for u in by_email["items"]] == ["bob@example.com"]
    # "_" is matched literally, not as a LIKE wildcard.
    literal = client.get(f"{API}/users", params={"search": "l_u"}, headers=headers).json()
    assert [u["email"] for u in literal["items"]] == ["carol@example.com"]

    paged = client.get(f"{API}/users", params={"page_size": 2, "page": 2}, headers=headers).json()
    assert len(paged["items"]) == 2 and paged["pages"] == 2
    too_big = client.get(f"{API}/users", params={"page_size": 101}, headers=headers)
    assert too_big.status_code == 422


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/users"), ("post", "/users"), ("patch", "/users/{id}"), ("delete", "/users/{id}")],
)
def test_students_and_instructors_cannot_use_admin_routes(
    client: Any, student: Any, instructor: Any, auth_headers: Any, method: str, path: str
) -> None:
    for user in (student, instructor):
        url = API + path.replace("{id}", str(student.id))
        kwargs: dict[str, Any] = {"headers": auth_headers(user)}
        if method in ("post", "patch"):
            kwargs["json"] = (
                {"role": "admin"}
                if method == "patch"
                else {
                    "email": "x@example.com",
                    "password": "Strong-pass-1",
                    "full_name": "X",
                    "role": "admin",
                }
            )
        response = getattr(client, method)(url, **kwargs)
        assert response.status_code == 403, (user.role, response.text)
        assert response.json()["code"] == "permission_denied"
    me = client.get(f"{API}/users/me", headers=auth_headers(student)).json()
    assert me["role"] == "student"


def test_reading_another_user_is_not_found(
    client: Any, student: Any, make_user: Any, auth_headers: Any
) -> None:
    other = make_user(email="other@example.com")
    response = client.get(f"{API}/users/{other.id}", headers=auth_headers(student))
    assert response.status_code == 404
    own = client.get(f"{API}/users/{student.id}", headers=auth_headers(student))
    assert own.status_code == 200


def test_admin_reads_any_user_and_unknown_is_404(
    client: Any, admin: Any, student: Any, auth_headers: Any
) -> None:
    assert client.get(f"{API}/users/{student.id}", headers=auth_headers(admin)).status_code == 200
    missing = client.get(
        f"{API}/users/00000000-0000-0000-0000-000000000000", headers=auth_headers(admin)
    )
    assert missing.status_code == 404
    # A segment that is not a UUID names no user: no route matches it.
    assert client.get(f"{API}/users/not-a-uuid", headers=auth_headers(admin)).status_code == 404


def test_admin_creates_any_role(client: Any, admin: Any, auth_headers: Any) -> None:
    response = client.post(
        f"{API}/users",
        json={
            "email": "Second.Admin@example.com",
            "password": "Strong-pass-1",
            "full_name": "Second Admin",
            "role": "admin",
            "email_verified": True,
        },
        headers=auth_headers(admin),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["role"] == "admin" and body["email"] == "second.admin@example.com"
    assert body["email_verified_at"] is not None
    weak = client.post(
        f"{API}/users",
        json={"email": "w@example.com", "password": "short", "full_name": "W"},
        headers=auth_headers(admin),
    )
    assert weak.status_code == 422 and weak.json()["code"] == "weak_password"
    duplicate = client.post(
        f"{API}/users",
        json={"email": "admin@example.com", "password": "Strong-pass-1", "full_name": "D"},
        headers=auth_headers(admin),
    )
    assert duplicate.status_code == 409


def test_admin_changes_role_and_deactivates(
    client: Any, admin: Any, student: Any, auth_headers: Any
) -> None:
    headers = auth_headers(admin)
    promoted = client.patch(
        f"{API}/users/{student.id}", json={"role": "instructor", "bio": "Teacher"}, headers=headers
    )
    assert promoted.status_code == 200
    assert promoted.json()["role"] == "instructor" and promoted.json()["bio"] == "Teacher"

    student_headers = auth_headers(student)  # token minted before deactivation
    deactivated = client.delete(f"{API}/users/{student.id}", headers=headers)
    assert deactivated.status_code == 200
    assert deactivated.json()["is_active"] is False
    assert client.get(f"{API}/users/me", headers=student_headers).status_code == 401
    # Still there (no hard delete), findable by filter.
    listed = client.get(f"{API}/users", params={"is_active": "false"}, headers=headers).json()
    assert [u["id"] for u in listed["items"]] == [str(student.id)]


def test_admin_cannot_demote_or_deactivate_themselves(
    client: Any, admin: Any, auth_headers: Any
) -> None:
    headers = auth_headers(admin)
    for payload in ({"role": "student"}, {"is_active": False}):
        response = client.patch(f"{API}/users/{admin.id}", json=payload, headers=headers)
        assert response.status_code == 422
        assert response.json()["code"] == "self_lockout"
    assert client.delete(f"{API}/users/{admin.id}", headers=headers).status_code == 422
    assert client.get(f"{API}/users/me", headers=headers).json()["role"] == "admin"


def test_users_routes_need_authentication(client: Any) -> None:
    assert client.get(f"{API}/users/me").status_code == 401
    assert client.get(f"{API}/users").status_code == 401


def test_require_permissions_follows_the_role_map(
    client: Any, student: Any, instructor: Any, admin: Any, auth_headers: Any
) -> None:
    from fastapi import APIRouter, Depends
    from fastapi.testclient import TestClient

    from app.core.permissions import Permission
    from app.main import create_app
    from app.modules.users.dependencies import require_permissions

    app = create_app()
    probe = APIRouter()

    @probe.post(
        "/probe/courses", dependencies=[Depends(require_permissions(Permission.CREATE_COURSE))]
    )
    def create_course() -> dict[str, bool]:
        return {"ok": True}

    app.include_router(probe, prefix=API)
    with TestClient(app) as probe_client:
        allowed = {
            user.role: probe_client.post(
                f"{API}/probe/courses", headers=auth_headers(user)
            ).status_code
            for user in (student, instructor, admin)
        }
    assert allowed == {"student": 403, "instructor": 200, "admin": 200}


def test_every_way_of_making_an_account_refuses_a_reserved_email_domain(
    client: Any, admin: Any, auth_headers: Any
) -> None:
    """Admin API, self-registration and the service every other path calls (CLI, Firebase
    sign-in, imports) apply the one rule sign-in applies."""
    from app.core.database import session_scope
    from app.core.errors import BusinessRuleViolation
    from app.core.permissions import Role
    from app.modules.users import service

    account = {"email": "student@sec.test", "password": "Strong-pass-1", "full_name": "S"}
    by_admin = client.post(f"{API}/users", json=account, headers=auth_headers(admin))
    registered = client.post(f"{API}/auth/register", json=account)
    signed_in = client.post(f"{API}/auth/login", json=account)
    for response in (by_admin, registered, signed_in):
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "email"]
    with pytest.raises(BusinessRuleViolation) as refused, session_scope() as session:
        service.create_user(session, **account, role=Role.STUDENT)
    assert refused.value.code == "invalid_email"
