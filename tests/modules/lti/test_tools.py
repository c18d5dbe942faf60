"""Tool registration (admins only), deployments, resource links (course managers only), the
platform's keys and their rotation, and tool key sets fetched through the SSRF guard."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import jwt
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.database import session_scope
from app.modules.lti import claims as c
from app.modules.lti import keys
from app.modules.lti.models import LtiPlatformKey
from app.modules.users.models import User
from tests.factories import bearer_headers, create_user
from tests.modules.courses.factories import SeededCourse
from tests.modules.lti.conftest import Placement, add_link, register_tool
from tests.modules.lti.tool import TOOL_LAUNCH, TOOL_LOGIN, Tool, public_jwk, tool_keys
from tests.ops.fake_servers import json_response, serve

TOKEN_URL = "http://testserver/api/v1/lti/token"


@contextmanager
def served_jwks() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(url, private PEM, JWK with kid "k1") of a tool key set served on loopback."""
    private, public = tool_keys()
    jwk = {**public_jwk(public), "kid": "k1"}
    with serve(lambda *_: json_response(200, {"keys": [jwk]})) as server:
        yield f"{server.url}/jwks.json", private, jwk


def test_registration_answers_what_the_tool_needs(client: TestClient, tool: Tool) -> None:
    registered = tool.registered
    platform = registered["platform"]
    assert platform == {
        "issuer": "http://testserver",
        "client_id": registered["client_id"],
        "deployment_id": registered["deployment_id"],
        "authorization_endpoint": "http://testserver/api/v1/lti/authorize",
        "token_endpoint": TOKEN_URL,
        "jwks_url": "http://testserver/api/v1/lti/jwks",
    }
    assert registered["redirect_uris"] == [TOOL_LAUNCH]
    assert len(registered["deployments"]) == 1


def test_only_admins_manage_tools(
    client: TestClient, admin: User, instructor: User, tool: Tool
) -> None:
    tool_id = tool.registered["id"]
    for headers in ({}, bearer_headers(instructor)):
        assert client.get("/api/v1/lti/tools", headers=headers).status_code in (401, 403)
        assert client.patch(
            f"/api/v1/lti/tools/{tool_id}", json={"name": "x"}, headers=headers
        ).status_code in (401, 403)
        assert client.delete(f"/api/v1/lti/tools/{tool_id}", headers=headers).status_code in (
            401,
            403,
        )
    admin_headers = bearer_headers(admin)
    listed = client.get("/api/v1/lti/tools", headers=admin_headers).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == tool_id
    added = client.post(
        f"/api/v1/lti/tools/{tool_id}/deployments", json={"label": "second"}, headers=admin_headers
    )
    assert added.status_code == 201
    shown = client.get(f"/api/v1/lti/tools/{tool_id}", headers=admin_headers).json()
    assert [d["deployment_id"] for d in shown["deployments"]][1] == added.json()["deployment_id"]
    changed = client.patch(
        f"/api/v1/lti/tools/{tool_id}",
        json={"send_name": True, "scopes": [c.SCOPE_NRPS]},
        headers=admin_headers,
    ).json()
    assert changed["send_name"] is True and changed["scopes"] == [c.SCOPE_NRPS]
    assert client.delete(f"/api/v1/lti/tools/{tool_id}", headers=admin_headers).status_code == 204
    assert client.get(f"/api/v1/lti/tools/{tool_id}", headers=admin_headers).status_code == 404


def test_bad_registrations_are_refused(client: TestClient, admin: User) -> None:
    private, public = tool_keys()
    base = {
        "name": "T",
        "oidc_initiation_url": TOOL_LOGIN,
        "target_link_uri": TOOL_LAUNCH,
        "redirect_uris": [TOOL_LAUNCH],
    }
    private_jwk = jwt.algorithms.RSAAlgorithm.to_jwk(
        jwt.algorithms.RSAAlgorithm.from_jwk(public_jwk(public)), as_dict=True
    )
    for body in (
        base,  # no keys
        {**base, "public_jwk": public_jwk(public), "jwks_url": "https://tool.example/jwks"},
        {**base, "public_jwk": {"kty": "oct", "k": "abc"}},
        {**base, "public_jwk": {**private_jwk, "d": "secret"}},
        {**base, "public_jwk": public_jwk(public), "scopes": ["https://example.com/any"]},
        {**base, "public_jwk": public_jwk(public), "redirect_uris": []},
        {**base, "public_jwk": public_jwk(public), "oidc_initiation_url": "ftp://tool.example"},
    ):
        answer = client.post("/api/v1/lti/tools", json=body, headers=bearer_headers(admin))
        assert answer.status_code == 422, body
    assert client.get("/api/v1/lti/tools", headers=bearer_headers(admin)).json()["total"] == 0
    assert private  # the key pair is real


def test_key_set_urls_on_private_addresses_are_refused_in_production(
    client: TestClient, admin: User, env: Callable[..., None]
) -> None:
    env(WEBHOOKS_ALLOW_PRIVATE_TARGETS="false")
    answer = client.post(
        "/api/v1/lti/tools",
        json={
            "name": "T",
            "oidc_initiation_url": TOOL_LOGIN,
            "target_link_uri": TOOL_LAUNCH,
            "redirect_uris": [TOOL_LAUNCH],
            "jwks_url": "http://127.0.0.1:9/jwks.json",
        },
        headers=bearer_headers(admin),
    )
    assert answer.status_code == 422 and answer.json()["code"] == "lti_jwks_url_refused"


def test_a_tool_key_set_is_fetched_once_and_cached(client: TestClient, admin: User) -> None:
    with served_jwks() as (url, private, _jwk):
        tool = register_tool(client, admin, public_jwk=None, jwks_url=url, scopes=[c.SCOPE_SCORE])
        for _ in range(2):
            now = int(time.time())
            claims = {"iss": tool.client_id, "sub": tool.client_id, "aud": TOKEN_URL}
            claims |= {"exp": now + 60, "jti": uuid.uuid4().hex}
            answer = client.post(
                "/api/v1/lti/token",
                data={
                    "grant_type": "client_credentials",
                    "client_assertion_type": c.CLIENT_ASSERTION_TYPE,
                    "client_assertion": jwt.encode(
                        claims, private, algorithm="RS256", headers={"kid": "k1"}
                    ),
                    "scope": f"{c.SCOPE_SCORE} {c.SCOPE_NRPS}",  # NRPS: not granted
                },
            )
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["scope"] == c.SCOPE_SCORE and body["expires_in"] == 3600
            assert body["token_type"] == "Bearer"


def test_the_key_set_fetch_is_counted(client: TestClient, admin: User) -> None:
    private, public = tool_keys()
    jwk = {**public_jwk(public), "kid": "k1"}
    with serve(lambda *_: json_response(200, {"keys": [jwk]})) as server:
        tool = register_tool(client, admin, public_jwk=None, jwks_url=f"{server.url}/k")
        _assert_token(client, tool, private, "k1")
        _assert_token(client, tool, private, "k1")
        assert len(server.requests) == 1
        # An unknown kid makes one fresh fetch (the tool may have rotated its keys).
        _assert_token(client, tool, private, "k2", status=401)
        assert len(server.requests) == 2


def _assert_token(
    client: TestClient, tool: Tool, private: str, kid: str, status: int = 200
) -> None:
    now = int(time.time())
    claims = {"iss": tool.client_id, "sub": tool.client_id, "aud": TOKEN_URL}
    claims |= {"exp": now + 60, "jti": uuid.uuid4().hex}
    answer = client.post(
        "/api/v1/lti/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": c.CLIENT_ASSERTION_TYPE,
            "client_assertion": jwt.encode(
                claims, private, algorithm="RS256", headers={"kid": kid}
            ),
            "scope": c.SCOPE_SCORE,
        },
    )
    assert answer.status_code == status, answer.text


def test_platform_keys_rotate_and_the_previous_stays_published(client: TestClient) -> None:
    first = client.get("/api/v1/lti/jwks").json()["keys"]
    assert len(first) == 1 and first[0]["alg"] == "RS256" and first[0]["kty"] == "RSA"
    assert "d" not in first[0] and first[0]["kid"]
    with session_scope() as db:
        stored = db.scalar(select(LtiPlatformKey))
        assert stored is not None and "PRIVATE KEY" not in stored.private_key_ciphertext
        new = keys.rotate(db)
        signed = keys.sign(db, {"aud": "x"})
    assert jwt.get_unverified_header(signed)["kid"] == new.kid
    published = [key["kid"] for key in client.get("/api/v1/lti/jwks").json()["keys"]]
    assert published == [new.kid, first[0]["kid"]]
    with session_scope() as db:
        later = [
            k.kid for k in keys.published(db, now=new.created_at + keys.PUBLISH_RETIRED_FOR * 2)
        ]
    assert later == [new.kid]


def test_the_rotate_key_command(client: TestClient) -> None:
    from app.cli import main

    first = client.get("/api/v1/lti/jwks").json()["keys"][0]["kid"]
    assert main(["lti-rotate-key"]) == 0
    assert len(client.get("/api/v1/lti/jwks").json()["keys"]) == 2
    assert client.get("/api/v1/lti/jwks").json()["keys"][1]["kid"] == first


def test_only_course_managers_manage_links(
    client: TestClient, placed: Placement, student: User, instructor: User, admin: User
) -> None:
    course_id = placed.course.id
    base = f"/api/v1/courses/{course_id}/lti-links"
    other = create_user(role="instructor")
    body = {"tool_id": placed.tool.registered["id"], "title": "x"}
    for user in (student, other):
        headers = bearer_headers(user)
        assert client.post(base, json=body, headers=headers).status_code == 403
        assert client.get(base, headers=headers).status_code == 403
        link_url = f"{base}/{placed.link['id']}"
        assert client.patch(link_url, json={"title": "y"}, headers=headers).status_code == 403
        assert client.delete(link_url, headers=headers).status_code == 403
    assert client.post(base, json=body).status_code == 401
    unknown_tool = client.post(
        base, json={**body, "tool_id": str(uuid.uuid4())}, headers=bearer_headers(instructor)
    )
    assert unknown_tool.status_code == 404
    bad_deployment = client.post(
        base, json={**body, "deployment_id": "nope"}, headers=bearer_headers(instructor)
    )
    assert bad_deployment.status_code == 404
    listed = client.get(base, headers=bearer_headers(admin)).json()
    assert listed["total"] == 1 and listed["items"][0]["line_item"]["score_maximum"] == "20.0000"
    link_url = f"{base}/{placed.link['id']}"
    changed = client.patch(
        link_url, json={"title": "Renamed", "url": None}, headers=bearer_headers(instructor)
    )
    assert changed.status_code == 200 and changed.json()["title"] == "Renamed"
    assert (
        client.patch(link_url, json={"title": None}, headers=bearer_headers(instructor)).status_code
        == 422
    )
    assert client.delete(link_url, headers=bearer_headers(instructor)).status_code == 204
    assert client.get(link_url, headers=bearer_headers(instructor)).status_code == 404


def test_a_link_of_another_course_is_not_found(
    client: TestClient, placed: Placement, instructor: User, course: SeededCourse
) -> None:
    from tests.modules.courses.factories import create_course

    elsewhere = create_course(instructor, lessons=0)
    url = f"/api/v1/courses/{elsewhere.id}/lti-links/{placed.link['id']}"
    assert client.get(url, headers=bearer_headers(instructor)).status_code == 404
    assert client.get(f"{url}/launch", headers=bearer_headers(instructor)).status_code == 404
    assert add_link(client, instructor, elsewhere, placed.tool)["course_id"] == str(elsewhere.id)
    assert course.id == placed.course.id
