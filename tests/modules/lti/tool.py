"""pylti1p3 as the tool, driven against the running application: its request, session and
cookie abstractions over plain dicts, and a `requests` transport adapter that carries its
HTTP calls (key set, token, AGS, NRPS) into the ASGI app."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from pylti1p3.cookie import CookieService
from pylti1p3.message_launch import MessageLaunch
from pylti1p3.oidc_login import OIDCLogin
from pylti1p3.redirect import Redirect
from pylti1p3.registration import Registration
from pylti1p3.request import Request
from pylti1p3.session import SessionService
from pylti1p3.tool_config import ToolConfDict
from requests.structures import CaseInsensitiveDict

TOOL_LOGIN = "https://tool.example/login"
TOOL_LAUNCH = "https://tool.example/launch"


class AsgiAdapter(requests.adapters.BaseAdapter):
    """Sends each `requests` request to the app through its TestClient."""

    def __init__(self, client: TestClient) -> None:
        super().__init__()
        self.client = client
        self.sent: list[tuple[str, str]] = []

    def send(self, request: requests.PreparedRequest, **_: Any) -> requests.Response:  # type: ignore[override]
        body = request.body.encode() if isinstance(request.body, str) else request.body
        assert request.method is not None and request.url is not None
        self.sent.append((request.method, request.url))
        answer = self.client.request(
            request.method, request.url, content=body, headers=dict(request.headers)
        )
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers = CaseInsensitiveDict(answer.headers)
        response._content = answer.content
        response.url = request.url
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


def routed_session(client: TestClient) -> requests.Session:
    session = requests.Session()
    adapter = AsgiAdapter(client)
    session.mount("http://testserver/", adapter)
    return session


class ToolRequest(Request):
    def __init__(self, params: dict[str, str], session: dict[str, Any]) -> None:
        self._params = params
        self._session = session

    @property
    def session(self) -> dict[str, Any]:
        return self._session

    def is_secure(self) -> bool:
        return True

    def get_param(self, key: str) -> str:
        return self._params.get(key)  # type: ignore[return-value]


class ToolCookies(CookieService):
    def __init__(self) -> None:
        self.jar: dict[str, str] = {}

    def get_cookie(self, name: str) -> str | None:
        return self.jar.get(f"{self._cookie_prefix}-{name}")

    def set_cookie(self, name: str, value: str | int, exp: int | None = 3600) -> None:
        self.jar[f"{self._cookie_prefix}-{name}"] = str(value)


class ToolRedirect(Redirect[str]):
    def __init__(self, location: str) -> None:
        self.location = location

    def do_redirect(self) -> str:
        return self.location

    def do_js_redirect(self) -> str:
        return self.location

    def set_redirect_url(self, location: str) -> None:
        self.location = location

    def get_redirect_url(self) -> str:
        return self.location


class ToolLogin(OIDCLogin):  # type: ignore[type-arg]
    def get_redirect(self, url: str) -> ToolRedirect:
        return ToolRedirect(url)


class ToolLaunch(MessageLaunch):  # type: ignore[type-arg]
    def _get_request_param(self, key: str) -> str:
        return self._request.get_param(key)


def tool_keys() -> tuple[str, str]:
    """(private PEM, public PEM) of a new tool key."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


def public_jwk(public_pem: str) -> dict[str, Any]:
    """The JWK the tool publishes for its key (pylti1p3's own rendering)."""
    return dict(Registration.get_jwk(public_pem))


class Tool:
    """One pylti1p3 tool registered with the platform, with a browser's tool-side state."""

    def __init__(self, client: TestClient, registered: dict[str, Any], keys: tuple[str, str]):
        platform = registered["platform"]
        self.client = client
        self.registered = registered
        self.issuer = platform["issuer"]
        self.client_id = platform["client_id"]
        self.config = ToolConfDict(
            {
                self.issuer: [
                    {
                        "default": True,
                        "client_id": platform["client_id"],
                        "auth_login_url": platform["authorization_endpoint"],
                        "auth_token_url": platform["token_endpoint"],
                        "auth_audience": None,
                        "key_set_url": platform["jwks_url"],
                        "key_set": None,
                        "deployment_ids": [d["deployment_id"] for d in registered["deployments"]],
                    }
                ]
            }
        )
        self.config.set_private_key(self.issuer, keys[0], client_id=self.client_id)
        self.config.set_public_key(self.issuer, keys[1], client_id=self.client_id)
        self.session: dict[str, Any] = {}
        self.cookies = ToolCookies()
        self.http = routed_session(client)

    def login(self, initiation: dict[str, Any]) -> str:
        """The tool's answer to the login initiation: the authorization URL to redirect to."""
        request = ToolRequest(initiation["params"], self.session)
        login = ToolLogin(request, self.config, SessionService(request), self.cookies)
        return str(login.redirect(TOOL_LAUNCH))

    def launch(self, form: dict[str, str]) -> ToolLaunch:
        """Validate the id_token posted to the tool's launch URL."""
        request = ToolRequest(form, self.session)
        message = ToolLaunch(
            request,
            self.config,
            session_service=SessionService(request),
            cookie_service=self.cookies,
            requests_session=self.http,
        )
        message.validate()
        return message


def form_fields(html: str) -> tuple[str, dict[str, str]]:
    """(action, hidden fields) of an auto-submitting form page."""
    action = re.search(r'<form[^>]*action="([^"]*)"', html)
    assert action is not None, html
    fields = dict(re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"\s*/?>', html))
    return unescape(action.group(1)), {unescape(k): unescape(v) for k, v in fields.items()}
