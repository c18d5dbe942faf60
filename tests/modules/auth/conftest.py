from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def empty_outbox(clean_state: None) -> Iterator[None]:
    """Each test reads only the mails it caused; lockout memory starts empty too."""
    from app.core import lockout
    from app.core.config import get_settings

    shutil.rmtree(get_settings().VAR_DIR / "outbox", ignore_errors=True)
    lockout.clear_memory()
    yield
    lockout.clear_memory()
