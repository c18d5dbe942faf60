"""Each security rule of the launch and service flows, tried: only RS256 with a known key,
one minute of clock skew, single-use login hints, nonces and assertion ids, exact redirect
URIs, scopes and deployments enforced on every service call."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from fastapi.testclient import TestClient

from app.core.database import session_scope
from app.modules.lti import claims as c
from app.modules.lti import keys
from app.modules.users.models import User
from tests.factories import bearer_headers, create_user
from tests.modules.courses.factories import SeededCourse, create_course
from tests.modules.lti.conftest import Placement, add_link, register_tool, sub_of
from tests.modules.lti.tool import Tool, public_jwk, tool_keys

TOKEN_URL = "http://testserver/api/v1/lti/token"


def _authorization(client: TestClient, placed: Placement, user: User) -> dict[str, str]:
    initiation = client.get(placed.launch_url, headers=bearer_headers(user)).json()
    query = parse_qs(urlsplit(placed.tool.login(initiation)).query)
    return {key: values[0] for key, values in query.items()}


def _authorize(client: TestClient, params: dict[str, str]) -> Any:
    return client.get("/api/v1/lti/authorize?" + urlencode(params))


def _assertion(tool: Tool, **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": tool.client_id,
        "sub": tool.client_id,
        "aud": TOKEN_URL,
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
        **overrides,
    }
    private = tool.config.get_private_key(tool.issuer, tool.client_id)
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": _kid(tool)})


def _kid(tool: Tool) -> str:
    """The kid of the tool's registered key (pylti1p3 signs with it in the header)."""
    return str(public_jwk(tool.config.get_public_key(tool.issuer, tool.client_id))["kid"])


def _token(client: TestClient, assertion: str, scope: str = c.SCOPE_SCORE) -> Any:
    return client.post(
        "/api/v1/lti/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": c.CLIENT_ASSERTION_TYPE,
            "client_assertion": assertion,
            "scope": scope,
        },
    )


def test_the_launch_and_authorize_pages_are_strict_and_never_cached(
    client: TestClient, placed: Placement, student: User
) -> None:
    page = client.get(placed.launch_url, headers={**bearer_headers(student), "Accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'action="https://tool.example/login"' in page.text
    for name in ("iss", "login_hint", "target_link_uri", "lti_message_hint", "client_id"):
        assert f'name="{name}"' in page.text
    assert "lti_deployment_id" in page.text
    answer = _authorize(client, _authorization(client, placed, student))
    for response in (page, answer):
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'nonce-" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["cache-control"] == "no-store"


def test_a_login_hint_is_accepted_once(
    client: TestClient, placed: Placement, student: User
) -> None:
    params = _authorization(client, placed, student)
    assert _authorize(client, params).status_code == 200
    replay = _authorize(client, {**params, "nonce": "another-nonce"})
    assert replay.status_code == 401 and replay.json()["code"] == "lti_replay"


def test_a_nonce_is_accepted_once(client: TestClient, placed: Placement, student: User) -> None:
    first = _authorization(client, placed, student)
    assert _authorize(client, first).status_code == 200
    second = _authorization(client, placed, student)
    reused = _authorize(client, {**second, "nonce": first["nonce"]})
    assert reused.status_code == 401 and reused.json()["code"] == "lti_replay"


def test_an_unregistered_redirect_uri_is_refused(
    client: TestClient, placed: Placement, student: User
) -> None:
    params = _authorization(client, placed, student)
    for uri in ("https://tool.example/launch/", "https://evil.example/launch"):
        answer = _authorize(client, {**params, "redirect_uri": uri})
        assert answer.status_code == 400 and answer.json()["code"] == "lti_invalid_redirect_uri"
    assert _authorize(client, params).status_code == 200  # the hint was not spent


@pytest.mark.parametrize(
    "change",
    [
        {"scope": "openid profile"},
        {"response_type": "code"},
        {"response_mode": "query"},
        {"prompt": "login"},
        {"client_id": "unknown"},
        {"state": ""},
        {"nonce": ""},
    ],
)
def test_wrong_oidc_parameters_are_refused(
    client: TestClient, placed: Placement, student: User, change: dict[str, str]
) -> None:
    answer = _authorize(client, {**_authorization(client, placed, student), **change})
    assert answer.status_code == 400


def test_forged_expired_and_foreign_login_hints_are_refused(
    client: TestClient, placed: Placement, student: User, admin: User
) -> None:
    params = _authorization(client, placed, student)
    claims = jwt.decode(params["login_hint"], options={"verify_signature": False})
    header = jwt.get_unverified_header(params["login_hint"])
    other_key = tool_keys()[0]
    forged = jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": header["kid"]})
    unsigned = jwt.encode(claims, None, algorithm="none")
    with session_scope() as db:
        expired = keys.sign(db, {**claims, "exp": int(time.time()) - 120})
    for hint in (forged, unsigned, expired, params["login_hint"][:-4] + "AAAA"):
        answer = _authorize(client, {**params, "login_hint": hint})
        assert answer.status_code == 401 and answer.json()["code"] == "lti_invalid_login_hint"
    # Another tool with the same redirect URI cannot spend this tool's login hint.
    other = register_tool(client, admin)
    foreign = _authorize(client, {**params, "client_id": other.client_id})
    assert foreign.status_code == 401 and foreign.json()["code"] == "lti_invalid_login_hint"
    altered = _authorize(client, {**params, "lti_message_hint": str(uuid.uuid4())})
    assert altered.status_code == 401
    assert _authorize(client, params).status_code == 200  # none of these spent it


def test_who_may_launch(
    client: TestClient, placed: Placement, student: User, instructor: User
) -> None:
    link_url = f"/api/v1/courses/{placed.course.id}/lti-links/{placed.link['id']}/launch"
    stranger = create_user(role="student")
    other_instructor = create_user(role="instructor")
    for url in (placed.launch_url, link_url):
        assert client.get(url).status_code == 401
        assert client.get(url, headers=bearer_headers(stranger)).status_code == 403
        assert client.get(url, headers=bearer_headers(other_instructor)).status_code == 403
        assert client.get(url, headers=bearer_headers(student)).status_code == 200
    deep = f"/api/v1/courses/{placed.course.id}/lti/tools/{placed.tool.registered['id']}/deep-link"
    assert client.get(deep, headers=bearer_headers(student)).status_code == 403
    assert client.get(deep, headers=bearer_headers(instructor)).status_code == 200


def _oauth_error(answer: Any, error: str) -> str:
    """The RFC 6749 §5.2 error answer: its status, body and headers; its description."""
    assert answer.status_code == (401 if error == "invalid_client" else 400), answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert set(body) == {"error", "error_description"} and body["error"] == error, body
    return str(body["error_description"])


def test_the_token_endpoint_checks_the_client_assertion(
    client: TestClient, placed: Placement
) -> None:
    tool = placed.tool
    granted = _token(client, _assertion(tool))
    assert granted.status_code == 200 and granted.headers["cache-control"] == "no-store"
    # Clock skew: an assertion expired 30 s ago still passes, 90 s ago does not.
    assert _token(client, _assertion(tool, exp=int(time.time()) - 30)).status_code == 200
    late = _token(client, _assertion(tool, exp=int(time.time()) - 90))
    assert "expired" in _oauth_error(late, "invalid_client")
    replayed = _assertion(tool)
    assert _token(client, replayed).status_code == 200
    assert "already used" in _oauth_error(_token(client, replayed), "invalid_client")
    claims = {"iss": tool.client_id, "sub": tool.client_id, "aud": TOKEN_URL}
    claims |= {"exp": int(time.time()) + 60, "jti": uuid.uuid4().hex}
    for bad in (
        jwt.encode(claims, None, algorithm="none"),
        jwt.encode(claims, "a-shared-secret-of-enough-length-0123456789", algorithm="HS256"),
        jwt.encode(claims, tool_keys()[0], algorithm="RS256"),  # another key
        _assertion(tool, aud="http://testserver/api/v1/lti/authorize"),
        _assertion(tool, sub="someone-else"),
        _assertion(tool, jti=None),
        _assertion(tool, iss="unknown-client", sub="unknown-client"),
        "not a jwt",
    ):
        _oauth_error(_token(client, bad), "invalid_client")
    _oauth_error(
        _token(client, _assertion(tool), scope="https://example.com/other"), "invalid_scope"
    )
    _oauth_error(_token(client, _assertion(tool), scope=""), "invalid_scope")


def test_every_token_request_refusal_is_an_oauth_error(
    client: TestClient, placed: Placement
) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": c.CLIENT_ASSERTION_TYPE,
        "client_assertion": _assertion(placed.tool),
        "scope": c.SCOPE_SCORE,
    }
    for name in ("grant_type", "client_assertion_type", "client_assertion"):
        missing = {key: value for key, value in form.items() if key != name}
        assert name in _oauth_error(
            client.post("/api/v1/lti/token", data=missing), "invalid_request"
        )
    as_json = client.post("/api/v1/lti/token", json=form)
    _oauth_error(as_json, "invalid_request")
    _oauth_error(
        client.post("/api/v1/lti/token", data={**form, "grant_type": "password"}),
        "unsupported_grant_type",
    )
    _oauth_error(
        client.post("/api/v1/lti/token", data={**form, "client_assertion_type": "basic"}),
        "invalid_client",
    )
    # An unknown scope beside a granted one is refused, and spends nothing: the same
    # assertion still buys a token afterwards.
    unknown = {**form, "scope": f"{c.SCOPE_SCORE} https://example.com/unknown"}
    assert "https://example.com/unknown" in _oauth_error(
        client.post("/api/v1/lti/token", data=unknown), "invalid_scope"
    )
    assert client.post("/api/v1/lti/token", data=form).status_code == 200


def test_an_unknown_kid_is_refused_for_a_key_set(
    client: TestClient, admin: User, env: Callable[..., None]
) -> None:
    from tests.modules.lti.test_tools import served_jwks

    with served_jwks() as (url, private, _jwk):
        tool = register_tool(client, admin, public_jwk=None, jwks_url=url)
        claims = {"iss": tool.client_id, "sub": tool.client_id, "aud": TOKEN_URL}
        claims |= {"exp": int(time.time()) + 60, "jti": uuid.uuid4().hex}
        answer = _token(
            client, jwt.encode(claims, private, algorithm="RS256", headers={"kid": "x"})
        )
        assert "unknown key" in _oauth_error(answer, "invalid_client")


def _service_token(client: TestClient, tool: Tool, scope: str) -> dict[str, str]:
    answer = _token(client, _assertion(tool), scope=scope)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_services_are_refused_outside_the_token_scopes_and_deployments(
    client: TestClient, placed: Placement, admin: User, instructor: User
) -> None:
    course_id = placed.course.id
    items = f"/api/v1/lti/contexts/{course_id}/lineitems"
    readonly = _service_token(client, placed.tool, c.SCOPE_LINEITEM_READONLY)
    assert client.get(items, headers=readonly).status_code == 200
    refused = client.post(items, json={"label": "x", "scoreMaximum": 5}, headers=readonly)
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
    members = f"/api/v1/lti/contexts/{course_id}/memberships"
    assert client.get(members, headers=readonly).status_code == 403
    # A course the tool has no link in is not a context it is deployed in.
    elsewhere = create_course(instructor, lessons=0)
    outside = client.get(f"/api/v1/lti/contexts/{elsewhere.id}/lineitems", headers=readonly)
    assert outside.status_code == 403 and outside.json()["code"] == "lti_not_deployed"
    # A tool registered without the NRPS scope is never granted it.
    narrow = register_tool(client, admin, scopes=[c.SCOPE_SCORE])
    add_link(client, instructor, placed.course, narrow)
    _oauth_error(_token(client, _assertion(narrow), scope=c.SCOPE_NRPS), "invalid_scope")
    # Neither another tool's line items nor an id_token or a forged token serve.
    other_items = client.get(items, headers=_service_token(client, narrow, c.SCOPE_SCORE))
    assert other_items.status_code == 403
    line_item = placed.link["line_item"]["id"]
    score = {
        "userId": str(uuid.uuid4()),
        "scoreGiven": 1,
        "scoreMaximum": 2,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "timestamp": "2026-12-01T10:00:00Z",
    }
    foreign_item = client.post(
        f"{items}/{line_item}/scores",
        json=score,
        headers=_service_token(client, narrow, c.SCOPE_SCORE),
    )
    assert foreign_item.status_code == 404
    for bad in ("Bearer nonsense", "", "Basic abc"):
        assert client.get(items, headers={"Authorization": bad}).status_code == 401
    with session_scope() as db:
        not_service = keys.sign(
            db,
            {
                "iss": "http://testserver",
                "aud": "http://testserver#services",
                "sub": placed.tool.client_id,
                "scope": c.SCOPE_LINEITEM,
                "exp": int(time.time()) + 60,
            },
        )
    assert client.get(items, headers={"Authorization": f"Bearer {not_service}"}).status_code == 401


def test_scores_for_users_not_enrolled_are_refused(
    client: TestClient, placed: Placement, instructor: User, student: User
) -> None:
    url = (
        f"/api/v1/lti/contexts/{placed.course.id}/lineitems/{placed.link['line_item']['id']}/scores"
    )
    headers = {**_service_token(client, placed.tool, c.SCOPE_SCORE), "Content-Type": c.MEDIA_SCORE}
    score = {
        "scoreGiven": 1,
        "scoreMaximum": 2,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "timestamp": "2026-12-01T10:00:00Z",
    }
    # The tool's subs of the instructor and of a stranger, and the student's user id (not the
    # sub this tool knows them by).
    strangers_sub = sub_of(placed.tool, create_user())
    for user_id in (sub_of(placed.tool, instructor), strangers_sub, str(student.id), "x"):
        answer = client.post(url, json={**score, "userId": user_id}, headers=headers)
        assert answer.status_code == 422 and answer.json()["code"] == "lti_user_not_enrolled"
    missing_max = client.post(
        url, json={**score, "scoreMaximum": None, "userId": "x"}, headers=headers
    )
    assert missing_max.status_code == 422
    wrong = client.post(
        url, json={**score, "gradingProgress": "Done", "userId": "x"}, headers=headers
    )
    assert wrong.status_code == 422


def test_deep_linking_responses_must_match_their_request(
    client: TestClient, tool: Tool, course: SeededCourse, instructor: User, admin: User
) -> None:
    from pylti1p3.deep_link_resource import DeepLinkResource

    from tests.modules.lti.tool import form_fields

    initiation = client.get(
        f"/api/v1/courses/{course.id}/lti/tools/{tool.registered['id']}/deep-link",
        headers=bearer_headers(instructor),
    ).json()
    _action, fields = form_fields(client.get(tool.login(initiation)).text)
    deep_link = tool.launch(fields).get_deep_link()
    message = deep_link.get_message_jwt([DeepLinkResource().set_title("A")])
    private = tool.config.get_private_key(tool.issuer, tool.client_id)
    return_url = "/api/v1/lti/deep-link/return"

    def post(claims: dict[str, Any], key: str = private, kid: str = _kid(tool)) -> Any:
        token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})
        return client.post(return_url, data={"JWT": token})

    assert post({**message, c.DL_DATA: "tampered"}).status_code == 401
    assert post({**message, c.DEPLOYMENT_ID: "another"}).status_code == 401
    assert post({**message, "aud": ["https://elsewhere.example"]}).status_code == 401
    assert post(message, key=tool_keys()[0]).status_code == 401
    assert post({**message, c.MESSAGE_TYPE: c.RESOURCE_LINK_REQUEST}).status_code == 400
    other = register_tool(client, admin)
    other_private = other.config.get_private_key(other.issuer, other.client_id)
    signed_by_other = post({**message, "iss": other.client_id}, key=other_private, kid=_kid(other))
    assert signed_by_other.status_code == 401
    listed = client.get(
        f"/api/v1/courses/{course.id}/lti-links", headers=bearer_headers(instructor)
    )
    assert listed.json()["total"] == 0
    assert post(message).status_code == 201
