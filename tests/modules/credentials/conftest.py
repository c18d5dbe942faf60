from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import uvicorn

from tests.live import free_port
from tests.modules.analytics.factories import create_course, create_enrollment
from tests.modules.credentials.verifier import Verifier


@pytest.fixture(autouse=True)
def empty_certificate_dir() -> None:
    from app.core.config import get_settings

    shutil.rmtree(get_settings().CERTIFICATES_DIR, ignore_errors=True)


@pytest.fixture
def served(app: Any, env: Callable[..., None]) -> Iterator[str]:
    """The application on a real port, PUBLIC_BASE_URL pointing at it, so the issuer is
    `did:web:127.0.0.1%3A<port>` and resolves over HTTP like any did:web DID."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env(PUBLIC_BASE_URL=base_url)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield base_url
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def verifier(served: str) -> Iterator[Verifier]:
    third_party = Verifier(insecure_loopback=True)
    yield third_party
    third_party.close()


@pytest.fixture
def issue_certificate(
    client: Any, admin: Any, instructor: Any, make_user: Any, auth_headers: Any
) -> Callable[..., tuple[dict[str, Any], Any]]:
    """Issue a certificate of a completed enrollment: (certificate JSON, its student)."""

    def _issue(student: Any = None, course: Any = None) -> tuple[dict[str, Any], Any]:
        student = student or make_user()
        course = course or create_course(instructor, description="Parsing, typing, codegen.")
        enrollment = create_enrollment(student, course, completed=True)
        response = client.post(
            f"/api/v1/certificates/enrollments/{enrollment.id}/generate",
            headers=auth_headers(admin),
        )
        assert response.status_code == 201, response.text
        return dict(response.json()), student

    return _issue


@pytest.fixture
def fetch_jwt(client: Any, auth_headers: Any) -> Callable[[str, Any], str]:
    def _fetch(certificate_id: str, user: Any) -> str:
        response = client.get(
            f"/api/v1/certificates/{certificate_id}/credential",
            headers={**auth_headers(user), "Accept": "application/vc+jwt"},
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/vc+jwt")
        return response.text

    return _fetch
