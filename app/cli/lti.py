"""`lms lti-rotate-key`: a new LTI platform signing key; the previous one stays published in
the JWK set until the tokens it signed have expired."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    rotate = subparsers.add_parser("lti-rotate-key")
    rotate.set_defaults(handler=rotate_key_command)


def rotate_key_command(args: argparse.Namespace) -> int:
    from app.cli.database import require_schema
    from app.core.database import session_scope
    from app.core.registry import load_models
    from app.modules.lti import keys

    require_schema()
    load_models()
    with session_scope() as session:
        key = keys.rotate(session)
        kid = key.kid
        published = len(keys.published(session))
    print(f"new signing key {kid}; {published} key(s) published")
    return 0
