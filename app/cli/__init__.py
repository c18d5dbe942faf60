"""The `lms` command. Each subcommand lives in a module listed in `COMMANDS` with its one-line
help; only the module of the command being run is imported (so `lms --help` starts at once,
without loading the application), and it registers the command's arguments itself.

Errors are one line on stderr and a non-zero exit; `lms --debug COMMAND` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

# command -> (module that registers and runs it, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("app.cli.server", "serve the API with uvicorn"),
    "openapi": ("app.cli.server", "write the OpenAPI schema as JSON"),
    "migrate": ("app.cli.database", "apply migrations (upgrade to head)"),
    "wait-for-db": ("app.cli.database", "wait until the database answers"),
    "check-config": ("app.cli.config", "print settings and production problems"),
    "create-user": ("app.cli.users", "create an account of any role (admins are made this way)"),
    "worker": ("app.cli.worker", "run a Celery worker on every queue"),
    "beat": ("app.cli.worker", "run Celery beat (scheduled jobs)"),
    "postman": ("app.cli.postman", "write Postman collections and the local environment"),
    "docs": ("app.cli.apidocs", "write a Markdown API reference from OpenAPI"),
    "check-smtp": (
        "app.cli.checks",
        "connect, STARTTLS and log in to SMTP_HOST; optionally send a test",
    ),
    "check-worker": (
        "app.cli.checks",
        "send a ping task to each queue and wait for a worker to run it",
    ),
    "backup": ("app.cli.backup", "back up the database (pg_dump or SQLite)"),
    "restore": ("app.cli.backup", "restore a backup over the database"),
    "restore-drill": (
        "app.cli.backup",
        "restore a backup into a scratch database and check row counts",
    ),
    "credentials-rotate-key": (
        "app.cli.credentials",
        "sign credentials with a new issuer key (earlier keys stay published)",
    ),
    "credentials-issue-missing": (
        "app.cli.credentials",
        "sign the Open Badges credentials of certificates that have none",
    ),
    "seed-demo": ("app.cli.demo", "create demo accounts and a demo course"),
    "lti-rotate-key": (
        "app.cli.lti",
        "add a new LTI signing key (the previous one stays published until its tokens expire)",
    ),
    "seed-bench": ("app.cli.bench", "bulk-insert a large dataset for the analytics benchmark"),
}


class CommandError(Exception):
    """A failure the operator can act on; its message is printed as the command's one line."""


class _Subcommands:
    """What a command module's `register` receives: `add_parser(name, ...)` with the help
    from `COMMANDS`."""

    def __init__(self, subparsers: Any) -> None:
        self._subparsers = subparsers

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        help_text = COMMANDS[name][1]
        kwargs.setdefault("description", help_text)
        parser: argparse.ArgumentParser = self._subparsers.add_parser(
            name, help=help_text, **kwargs
        )
        return parser


def _chosen_command(argv: Sequence[str]) -> str | None:
    return next((arg for arg in argv if not arg.startswith("-")), None)


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lms", description="LMS backend operations")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = _chosen_command(argv)
    module = COMMANDS[chosen][0] if chosen in COMMANDS else None
    if module is not None:
        importlib.import_module(module).register(_Subcommands(subparsers))
    for name, (owner, help_text) in COMMANDS.items():
        if owner != module:
            # Listed for `lms --help`; its module is imported only when it runs.
            subparsers.add_parser(name, help=help_text)
    return parser


def describe(exc: BaseException) -> str:
    """One line for an unexpected error; a database without tables says what to do."""
    if "sqlalchemy" in sys.modules:
        from sqlalchemy.exc import OperationalError, ProgrammingError

        if isinstance(exc, OperationalError | ProgrammingError):
            text = str(exc.orig)
            if "no such table" in text or ("relation" in text and "does not exist" in text):
                return "the database has no tables: run `lms migrate` first"
            return f"database error: {text.splitlines()[0] if text else type(exc.orig).__name__}"
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(arguments).parse_args(arguments)
    try:
        result = args.handler(args)
    except CommandError as exc:
        if args.debug:
            raise
        print(f"lms {args.command}: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        if args.debug:
            raise
        print(f"lms {args.command}: {describe(exc)} (--debug shows the traceback)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"lms {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)
