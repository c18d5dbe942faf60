from __future__ import annotations

import shutil

import pytest


@pytest.fixture(autouse=True)
def empty_certificate_dir() -> None:
    """Each test starts with an empty local certificate folder (tables are emptied too)."""
    from app.core.config import get_settings

    shutil.rmtree(get_settings().CERTIFICATES_DIR, ignore_errors=True)
