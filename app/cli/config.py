"""`lms check-config`: the effective settings (secrets masked) and any production problems."""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from app.core.config import get_settings

_SECRET_NAMES = re.compile(
    r"SECRET|PASSWORD|TOKEN|_KEY$|API_KEY|CONNECTION_STRING|DSN", re.IGNORECASE
)
_URL_CREDENTIALS = re.compile(r"(//[^:/@]+:)[^@]+@")


def register(subparsers: Any) -> None:
    check = subparsers.add_parser("check-config")
    check.set_defaults(handler=check_config_command)


def mask(name: str, value: Any) -> str:
    if value is None:
        return "(unset)"
    text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    if _SECRET_NAMES.search(name) and text:
        return "********"
    return _URL_CREDENTIALS.sub(r"\1********@", text)


def check_config_command(_args: argparse.Namespace) -> int:
    settings = get_settings()
    for name in type(settings).model_fields:
        print(f"{name}={mask(name, getattr(settings, name))}")
    problems = settings.production_problems()
    if problems:
        print("\nProduction problems:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(
        "\nNo production problems."
        if settings.is_production
        else f"\nEnvironment is {settings.ENVIRONMENT}; production checks apply when "
        "ENVIRONMENT=production."
    )
    return 0
