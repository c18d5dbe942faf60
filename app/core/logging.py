"""Logging: JSON lines (or plain text for a terminal), with sensitive values redacted."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

SENSITIVE_KEYS = re.compile(
    r"pass(word)?|secret|token|authorization|cookie|api[_-]?key|mfa|otp|code", re.IGNORECASE
)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def redact_text(text: str) -> str:
    text = _BEARER.sub(r"\1[REDACTED]", text)
    text = _JWT.sub("[REDACTED]", text)
    return _EMAIL.sub("[EMAIL]", text)


def redact(value: Any, key: str = "") -> Any:
    if key and SENSITIVE_KEYS.search(key):
        return "[REDACTED]"
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": redact_text(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                payload[key] = redact(value, key)
        if record.exc_info:
            payload["exc"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(payload, default=str)


# The project's own loggers (and its servers') log at LOG_LEVEL; every other library's only
# from LOG_LEVEL_LIBRARIES (default WARNING): font subsetting alone writes ~100 INFO lines
# per certificate.
OWN_LOGGERS = ("app", "uvicorn", "celery")
# Client libraries log full URLs (query strings may carry tokens) at INFO: never below WARNING.
URL_LOGGERS = ("httpx", "httpcore", "botocore", "urllib3")


def configure_logging(
    level: str = "INFO", json_lines: bool = True, libraries_level: str = "WARNING"
) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if json_lines else logging.Formatter("%(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(libraries_level.upper())
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level.upper())
    for name in URL_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
