"""`lms create-user`: create (or update) an account of any role from the command line."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from app.cli import CommandError
from app.core.permissions import Role


def register(subparsers: Any) -> None:
    create = subparsers.add_parser("create-user")
    create.add_argument("--email", required=True)
    create.add_argument(
        "--password",
        help="password (default: $LMS_USER_PASSWORD, else asked on the terminal)",
    )
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.STUDENT.value)
    create.add_argument("--full-name", required=True)
    create.add_argument(
        "--update-existing",
        action="store_true",
        help="when the email exists, set its password, role and name and reactivate it",
    )
    create.set_defaults(handler=create_user_command)


def _password(args: argparse.Namespace) -> str:
    if args.password:
        return str(args.password)
    from_env = os.environ.get("LMS_USER_PASSWORD")
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        raise CommandError("no password: pass --password or set LMS_USER_PASSWORD")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise CommandError("the passwords do not match")
    return first


def create_user_command(args: argparse.Namespace) -> int:
    from app.cli.database import require_schema
    from app.core.database import session_scope, utcnow
    from app.core.errors import DomainError
    from app.core.registry import load_models
    from app.modules.users import service

    password = _password(args)
    require_schema()
    load_models()
    role = Role(args.role)
    try:
        with session_scope() as session:
            user = service.get_by_email(session, args.email)
            if user is not None and not args.update_existing:
                print(
                    f"{user.email} already exists; pass --update-existing to update it.",
                    file=sys.stderr,
                )
                return 1
            if user is None:
                user = service.create_user(
                    session,
                    email=args.email,
                    password=password,
                    full_name=args.full_name,
                    role=role,
                    email_verified=True,  # the operator vouches for the address
                )
                action = "Created"
            else:
                service.set_password(session, user, password)
                user.role = role.value
                user.full_name = args.full_name
                user.is_active = True
                user.email_verified_at = user.email_verified_at or utcnow()
                action = "Updated"
            print(f"{action} {user.role} {user.email} ({user.id}).")
    except DomainError as exc:
        print(f"Refused: {exc.detail}", file=sys.stderr)
        return 1
    return 0
