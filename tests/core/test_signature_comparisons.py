"""Signatures and tokens are compared in one place, as bytes."""

from __future__ import annotations

from pathlib import Path

import app
from app.core.security import tokens_equal


def test_text_of_any_kind_compares_without_raising() -> None:
    assert tokens_equal("é", "é")
    assert not tokens_equal("abc", "é")
    assert not tokens_equal("", "\U0001f600")


def test_only_the_shared_helper_calls_compare_digest() -> None:
    root = Path(app.__file__).parent
    callers = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "compare_digest" in path.read_text(encoding="utf-8")
    )
    assert callers == ["core/security.py"]
