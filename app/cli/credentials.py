"""`lms credentials-rotate-key` and `lms credentials-issue-missing`: the issuer's signing key
and the Open Badges credentials of certificates issued before credentials existed."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    rotate = subparsers.add_parser("credentials-rotate-key")
    rotate.set_defaults(handler=rotate_key_command)
    backfill = subparsers.add_parser("credentials-issue-missing")
    backfill.add_argument(
        "--batch", type=int, default=200, help="certificates per transaction (default 200)"
    )
    backfill.set_defaults(handler=issue_missing_command)


def rotate_key_command(args: argparse.Namespace) -> int:
    from app.cli.database import require_schema
    from app.core.database import session_scope
    from app.core.registry import load_models
    from app.modules.credentials import issuer

    require_schema()
    load_models()
    with session_scope() as session:
        key = issuer.rotate_key(session)
        kid = issuer.key_url(key.kid)
    print(f"Signing with {kid}; earlier keys stay published in the DID document.")
    return 0


def issue_missing_command(args: argparse.Namespace) -> int:
    from app.cli.database import require_schema
    from app.core.database import session_scope
    from app.core.registry import load_models
    from app.modules.certificates import credential

    require_schema()
    load_models()
    total = 0
    while True:
        with session_scope() as session:
            issued = credential.issue_missing(session, batch=max(1, args.batch))
        total += issued
        if issued == 0:
            break
    print(f"Issued {total} credential(s).")
    return 0
