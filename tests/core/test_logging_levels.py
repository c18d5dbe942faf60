"""Third-party loggers stay at LOG_LEVEL_LIBRARIES (WARNING) while the project's own follow
LOG_LEVEL; URL-logging client libraries never go below WARNING."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from app.core.logging import configure_logging


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    names = ("", "app", "uvicorn", "celery", "fontTools.subset", "httpx")
    levels = {name: logging.getLogger(name).level for name in names}
    handlers = logging.getLogger().handlers[:]
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    logging.getLogger().handlers[:] = handlers


def test_libraries_log_warnings_only_by_default() -> None:
    configure_logging("INFO", json_lines=True)
    assert not logging.getLogger("fontTools.subset").isEnabledFor(logging.INFO)
    assert logging.getLogger("fontTools.subset").isEnabledFor(logging.WARNING)
    for own in ("app.certificates", "uvicorn.error", "celery.worker"):
        assert logging.getLogger(own).isEnabledFor(logging.INFO), own


def test_libraries_log_more_when_asked_but_url_loggers_never() -> None:
    configure_logging("DEBUG", json_lines=False, libraries_level="INFO")
    assert logging.getLogger("fontTools.subset").isEnabledFor(logging.INFO)
    assert logging.getLogger("app.request").isEnabledFor(logging.DEBUG)
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)


def test_a_certificate_pdf_logs_nothing_from_font_subsetting() -> None:
    from app.modules.certificates.pdf import CertificateContent, render_certificate

    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    configure_logging("INFO", json_lines=True)
    logging.getLogger().addHandler(Collect())
    content = CertificateContent(
        student_name="Zoë Ångström",
        course_title="Data Literacy",
        instructor_name="Ivan",
        completion_date=datetime(2026, 1, 1, tzinfo=UTC),
        certificate_number="LMS-2026-000001",
        verify_url="http://127.0.0.1:8000/api/v1/certificates/verify/LMS-2026-000001",
        issuer="LMS Backend",
    )
    assert render_certificate(content).startswith(b"%PDF")
    assert [r.name for r in records if not r.name.startswith("app")] == []
