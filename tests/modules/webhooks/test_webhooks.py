"""Outgoing webhooks: admin API, signed delivery to a real local receiver, retries with a
delivery log, redelivery, event filtering and the SSRF guard (including DNS rebinding)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.core.database import session_scope
from app.core.events import emit
from app.modules.webhooks import signing
from app.modules.webhooks.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint
from app.modules.webhooks.ssrf import UnsafeTarget, check_target
from tests.modules.payments.factories import create_course
from tests.modules.payments.helpers import sandbox_webhook
from tests.ops.fake_servers import self_signed_certificate, serve

ENDPOINTS = "/api/v1/webhooks/endpoints"


@dataclass
class Receiver:
    """A real HTTP server; answers the queued status codes in turn, then 200."""

    url: str = ""
    port: int = 0
    statuses: list[int] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    state.url = f"http://127.0.0.1:{state.port}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@dataclass
class FakeDns:
    """Answers chosen names with scripted addresses in turn, the last repeated (no address: the
    lookup fails); others resolve."""

    answers: dict[str, list[list[str]]] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    fake = FakeDns()
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in fake.answers:
            return real_getaddrinfo(host, port, *args, **kwargs)
        fake.lookups.append(host)
        answers = fake.answers[host]
        addresses = answers.pop(0) if len(answers) > 1 else answers[0]
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                socket.IPPROTO_TCP,
                "",
                (address, int(port)),
            )
            for address in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return fake


def _register(client: Any, headers: dict[str, str], url: str, events: list[str]) -> dict[str, Any]:
    response = client.post(ENDPOINTS, json={"url": url, "event_types": events}, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _emit(event_name: str, payload: dict[str, Any]) -> None:
    with session_scope() as session:
        emit(session, event_name, payload)


def _verify(secret: str, request: dict[str, Any]) -> dict[str, Any]:
    """What a receiver does: check the HMAC over "<t>.<body>" and the 5-minute window."""
    signing.verify(secret, request["body"], request["headers"]["X-LMS-Signature"])
    return dict(json.loads(request["body"]))


def test_endpoint_admin_api(client: Any, admin: Any, student: Any, auth_headers: Any) -> None:
    body = {"url": "https://hooks.example.com/lms", "event_types": ["payment.completed"]}
    assert client.post(ENDPOINTS, json=body, headers=auth_headers(student)).status_code == 403
    assert client.get(ENDPOINTS, headers=auth_headers(student)).status_code == 403
    created = _register(client, auth_headers(admin), body["url"], body["event_types"])
    assert created["secret"].startswith("whsec_")
    shown = client.get(f"{ENDPOINTS}/{created['id']}", headers=auth_headers(admin)).json()
    assert "secret" not in shown
    listed = client.get(ENDPOINTS, headers=auth_headers(admin)).json()
    assert listed["total"] == 1 and "secret" not in listed["items"][0]
    rotated = client.post(
        f"{ENDPOINTS}/{created['id']}/rotate-secret", headers=auth_headers(admin)
    ).json()
    assert rotated["secret"] != created["secret"]
    updated = client.patch(
        f"{ENDPOINTS}/{created['id']}",
        json={"event_types": ["*"], "is_active": False},
        headers=auth_headers(admin),
    )
    assert updated.json()["event_types"] == ["*"] and updated.json()["is_active"] is False
    for bad in (
        {"url": "ftp://example.com", "event_types": ["*"]},
        {"url": "https://example.com", "event_types": []},
        {"url": "https://example.com", "event_types": ["Not An Event"]},
    ):
        assert client.post(ENDPOINTS, json=bad, headers=auth_headers(admin)).status_code == 422
    assert (
        client.patch(
            f"{ENDPOINTS}/{created['id']}", json={"url": None}, headers=auth_headers(admin)
        ).status_code
        == 422
    )
    types = client.get("/api/v1/webhooks/event-types", headers=auth_headers(admin)).json()[
        "event_types"
    ]
    assert {
        "enrollment.created",
        "course.completed",
        "certificate.issued",
        "payment.completed",
        "payment.refunded",
        "quiz.attempt.graded",
        "assignment.graded",
    } <= set(types)
    assert (
        client.delete(f"{ENDPOINTS}/{created['id']}", headers=auth_headers(admin)).status_code
        == 204
    )
    assert (
        client.get(f"{ENDPOINTS}/{created['id']}", headers=auth_headers(admin)).status_code == 404
    )


def test_event_is_delivered_signed_to_a_real_receiver(
    client: Any, admin: Any, auth_headers: Any, receiver: Receiver
) -> None:
    endpoint = _register(client, auth_headers(admin), receiver.url, ["course.completed"])
    _emit("payment.completed", {"payment_id": "p1"})  # not subscribed
    _emit("course.completed", {"enrollment_id": "e1", "course_id": "c1"})
    assert len(receiver.received) == 1
    request = receiver.received[0]
    body = _verify(endpoint["secret"], request)
    assert body["type"] == "course.completed" and body["data"]["enrollment_id"] == "e1"
    assert request["headers"]["X-LMS-Event"] == "course.completed"
    assert request["headers"]["X-LMS-Event-Id"] == body["id"]
    with pytest.raises(signing.InvalidSignature):
        signing.verify("whsec_wrong", request["body"], request["headers"]["X-LMS-Signature"])

    log = client.get(f"{ENDPOINTS}/{endpoint['id']}/deliveries", headers=auth_headers(admin)).json()
    assert log["total"] == 1
    delivery = log["items"][0]
    assert delivery["status"] == "succeeded" and delivery["last_status_code"] == 200
    detail = client.get(
        f"/api/v1/webhooks/deliveries/{delivery['id']}", headers=auth_headers(admin)
    ).json()
    assert detail["payload"]["data"]["course_id"] == "c1"
    assert [a["status_code"] for a in detail["attempts"]] == [200]


def test_failed_delivery_is_retried_and_logged(
    client: Any, admin: Any, auth_headers: Any, receiver: Receiver
) -> None:
    endpoint = _register(client, auth_headers(admin), receiver.url, ["*"])
    receiver.statuses = [500]
    _emit("enrollment.created", {"enrollment_id": "e2"})
    assert len(receiver.received) == 2
    first, second = (_verify(endpoint["secret"], r) for r in receiver.received)
    assert first["id"] == second["id"]
    delivery = client.get(
        f"{ENDPOINTS}/{endpoint['id']}/deliveries", headers=auth_headers(admin)
    ).json()["items"][0]
    assert delivery["status"] == "succeeded" and delivery["attempts_count"] == 2
    detail = client.get(
        f"/api/v1/webhooks/deliveries/{delivery['id']}", headers=auth_headers(admin)
    ).json()
    assert [a["status_code"] for a in detail["attempts"]] == [500, 200]


def test_delivery_gives_up_after_the_configured_attempts_and_can_be_redelivered(
    client: Any, admin: Any, auth_headers: Any, receiver: Receiver, env: Any
) -> None:
    env(WEBHOOK_MAX_RETRIES="3")
    endpoint = _register(client, auth_headers(admin), receiver.url, ["*"])
    receiver.statuses = [503, 503, 503]
    _emit("certificate.issued", {"certificate_id": "c9"})
    deliveries = client.get(
        f"{ENDPOINTS}/{endpoint['id']}/deliveries",
        params={"status": "failed"},
        headers=auth_headers(admin),
    ).json()
    assert deliveries["total"] == 1
    failed = deliveries["items"][0]
    assert failed["attempts_count"] == 3 and failed["last_status_code"] == 503
    assert len(receiver.received) == 3

    anonymous = client.post(f"/api/v1/webhooks/deliveries/{failed['id']}/redeliver")
    assert anonymous.status_code == 401
    again = client.post(
        f"/api/v1/webhooks/deliveries/{failed['id']}/redeliver", headers=auth_headers(admin)
    )
    assert again.status_code == 202
    assert again.json()["redelivery_of_id"] == failed["id"]
    assert len(receiver.received) == 4
    body = _verify(endpoint["secret"], receiver.received[-1])
    assert body["id"] == failed["event_id"]
    final = client.get(
        f"/api/v1/webhooks/deliveries/{again.json()['id']}", headers=auth_headers(admin)
    ).json()
    assert final["status"] == "succeeded"


def test_payment_completion_reaches_subscribed_endpoints(
    client: Any, admin: Any, student: Any, instructor: Any, auth_headers: Any, receiver: Receiver
) -> None:
    endpoint = _register(
        client, auth_headers(admin), receiver.url, ["payment.completed", "enrollment.created"]
    )
    course = create_course(instructor)
    checkout = client.post(
        "/api/v1/payments/create-payment-intent",
        json={"course_id": str(course.id)},
        headers=auth_headers(student),
    ).json()
    body, headers = sandbox_webhook(checkout)
    assert (
        client.post("/api/v1/payments/webhooks/sandbox", content=body, headers=headers).status_code
        == 200
    )
    types = sorted(_verify(endpoint["secret"], r)["type"] for r in receiver.received)
    assert types == ["enrollment.created", "payment.completed"]


def test_replayed_signature_is_refused_by_the_verification_scheme() -> None:
    body = b'{"id":"x"}'
    old = signing.sign("whsec_s", body, timestamp=int(time.time()) - 301)
    with pytest.raises(signing.InvalidSignature):
        signing.verify("whsec_s", body, old)
    fresh = signing.sign("whsec_s", body)
    assert signing.verify("whsec_s", body, fresh) > 0
    with pytest.raises(signing.InvalidSignature):
        signing.verify("whsec_s", body + b" ", fresh)
    for header in ("", "t=abc,v1=00", "v1=00", "t=123"):
        with pytest.raises(signing.InvalidSignature):
            signing.verify("whsec_s", body, header)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost/x",
        "http://10.1.2.3/x",
        "http://192.168.0.10/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://100.64.0.1/x",
        "http://0.0.0.0/x",
        "gopher://example.com/x",
    ],
)
def test_ssrf_guard_refuses_non_public_targets(url: str) -> None:
    with pytest.raises(UnsafeTarget):
        check_target(url, allow_private=False)


def test_ssrf_guard_allows_public_addresses_and_the_override() -> None:
    check_target("https://93.184.216.34/hook", allow_private=False)
    check_target("http://127.0.0.1/x", allow_private=True)


def test_private_targets_are_refused_unless_allowed(
    client: Any, admin: Any, auth_headers: Any, receiver: Receiver, env: Any
) -> None:
    env(ENVIRONMENT="production", WEBHOOKS_ALLOW_PRIVATE_TARGETS=None)
    refused = client.post(
        ENDPOINTS, json={"url": receiver.url, "event_types": ["*"]}, headers=auth_headers(admin)
    )
    assert refused.status_code == 422 and refused.json()["code"] == "webhook_target_refused"
    # An endpoint already stored (or whose DNS changed) is checked again at send time.
    with session_scope() as session:
        session.add(
            WebhookEndpoint(url=receiver.url, secret="whsec_x", event_types=["*"], is_active=True)
        )
    _emit("course.completed", {"enrollment_id": "e3"})
    assert receiver.received == []
    with session_scope() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert delivery.status == "failed" and delivery.attempts_count == 1
        assert delivery.last_error is not None and delivery.last_error.startswith("target refused")
    env(WEBHOOKS_ALLOW_PRIVATE_TARGETS="true")
    allowed = client.post(
        ENDPOINTS, json={"url": receiver.url, "event_types": ["*"]}, headers=auth_headers(admin)
    )
    assert allowed.status_code == 201


def test_delivery_connects_to_the_checked_address_when_dns_rebinds(
    client: Any, receiver: Receiver, dns: FakeDns, env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    env(ENVIRONMENT="production", WEBHOOKS_ALLOW_PRIVATE_TARGETS=None, WEBHOOK_MAX_RETRIES="1")
    public = "93.184.216.34"
    # The attacker's DNS answers the check with a public address and any later lookup with
    # the loopback address where the receiver (standing in for an internal service) listens.
    dns.answers["rebind.test"] = [[public], ["127.0.0.1"]]
    dialled: list[tuple[str, int]] = []
    real_create_connection = socket.create_connection

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        if address[0] == public:  # the vetted address; nothing is reached on the internet
            dialled.append(address)
            raise ConnectionRefusedError(111, "Connection refused")
        return real_create_connection(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    with session_scope() as session:
        session.add(
            WebhookEndpoint(
                url=f"http://rebind.test:{receiver.port}/hooks",
                secret="whsec_x",
                event_types=["*"],
                is_active=True,
            )
        )
    _emit("course.completed", {"enrollment_id": "e4"})
    assert receiver.received == []
    assert dialled == [(public, receiver.port)]
    assert dns.lookups == ["rebind.test"]
    with session_scope() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert delivery.status == "failed" and delivery.attempts_count == 1
        assert delivery.last_error is not None and delivery.last_error.startswith("ConnectError")


def test_delivery_to_a_named_target_keeps_host_path_and_signature(
    client: Any, admin: Any, auth_headers: Any, receiver: Receiver, dns: FakeDns
) -> None:
    # The first address refuses (nothing listens on ::1), so the next one is tried, as a
    # dual-stack host whose IPv6 is unreachable would need.
    dns.answers["hooks.test"] = [["::1", "127.0.0.1"]]
    url = f"http://hooks.test:{receiver.port}/lms/hooks?source=lms"
    endpoint = _register(client, auth_headers(admin), url, ["course.completed"])
    _emit("course.completed", {"enrollment_id": "e5"})
    assert dns.lookups == ["hooks.test"]
    assert len(receiver.received) == 1
    request = receiver.received[0]
    assert request["path"] == "/lms/hooks?source=lms"
    assert request["headers"]["Host"] == f"hooks.test:{receiver.port}"
    assert _verify(endpoint["secret"], request)["data"]["enrollment_id"] == "e5"


def test_a_failed_dns_lookup_at_send_time_is_retried(
    client: Any, admin: Any, auth_headers: Any, receiver: Receiver, dns: FakeDns, env: Any
) -> None:
    """A passing DNS failure is not a refused target: the delivery is tried again."""
    env(WEBHOOK_MAX_RETRIES="3")
    dns.answers["flaky.test"] = [[], ["127.0.0.1"]]
    _register(client, auth_headers(admin), f"http://flaky.test:{receiver.port}/hooks", ["*"])
    _emit("course.completed", {"enrollment_id": "e7"})
    assert len(receiver.received) == 1
    with session_scope() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts_count) == ("succeeded", 2)
        attempts = session.execute(
            select(WebhookDeliveryAttempt.status_code, WebhookDeliveryAttempt.error)
            .where(WebhookDeliveryAttempt.delivery_id == delivery.id)
            .order_by(WebhookDeliveryAttempt.attempt_number)
        ).all()
    (_, first_error), (second_status, _) = attempts
    assert first_error is not None and "does not resolve" in first_error
    assert second_status == 200


def test_https_delivery_verifies_the_certificate_against_the_target_name(
    client: Any,
    admin: Any,
    auth_headers: Any,
    dns: FakeDns,
    env: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    env(WEBHOOK_MAX_RETRIES="1")
    tls = self_signed_certificate(tmp_path, "hooks.test")
    monkeypatch.setenv("SSL_CERT_FILE", str(tls[0]))  # trust the test CA
    dns.answers = {"hooks.test": [["127.0.0.1"]], "other.test": [["127.0.0.1"]]}
    with serve(lambda *_: (204, {}, b""), tls=tls) as server:
        port = server.url.rsplit(":", 1)[1]
        for name in ("hooks.test", "other.test"):
            _register(client, auth_headers(admin), f"https://{name}:{port}/hooks", ["*"])
        _emit("course.completed", {"enrollment_id": "e6"})
    # Both names dial 127.0.0.1; only the one the certificate names gets through.
    assert [(method, path, headers["host"]) for method, path, headers in server.requests] == [
        ("POST", "/hooks", f"hooks.test:{port}")
    ]
    with session_scope() as session:
        outcomes = {
            url: (status, error)
            for url, status, error in session.execute(
                select(
                    WebhookEndpoint.url, WebhookDelivery.status, WebhookDelivery.last_error
                ).join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            )
        }
    assert outcomes[f"https://hooks.test:{port}/hooks"] == ("succeeded", None)
    status, error = outcomes[f"https://other.test:{port}/hooks"]
    assert status == "failed" and error is not None and "CERTIFICATE_VERIFY_FAILED" in error
