"""The transaction owners are the only code that commits or opens connections: `get_db` and
the route commit (`finish_request_transaction`, called by `app.core.routing` and by a route
that must commit a step before a gateway call), `session_scope` for jobs and commands
(`app/core/database.py`), and `connection_scope` / `fetch_single_statement` for one-statement
hot paths (`app/core/single_statement.py`). Operator commands (`app/cli/`: backup and
restore, the benchmark data set, the schema check before serving) work on a whole database
outside any request or job and may open their own connections."""

from __future__ import annotations

import re
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
OWNERS = {APP / "core" / "database.py", APP / "core" / "single_statement.py"}
OPERATOR_COMMANDS = set((APP / "cli").rglob("*.py"))

COMMIT = re.compile(r"\.commit\(\)")
CONNECTION = re.compile(
    r"(get_engine\(\)|\bengine)\.(begin|connect)\(|\bsessionmaker\(|Session\(\)"
)


def _offenders(pattern: re.Pattern[str], allowed: set[Path]) -> list[str]:
    found = []
    for path in sorted(APP.rglob("*.py")):
        if path in allowed:
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if pattern.search(line):
                found.append(f"{path.relative_to(APP.parent)}:{number}: {line.strip()}")
    return found


def test_only_the_transaction_owners_commit() -> None:
    assert _offenders(COMMIT, OWNERS) == []


def test_only_the_transaction_owners_open_connections_or_sessions() -> None:
    assert _offenders(CONNECTION, OWNERS | OPERATOR_COMMANDS) == []


def test_the_scan_finds_what_it_looks_for() -> None:
    # The patterns match the forms they forbid (a scan that matches nothing proves nothing).
    assert COMMIT.search("        db.commit()")
    assert CONNECTION.search("    with get_engine().begin() as connection:")
    assert CONNECTION.search("session = get_sessionmaker()()") is None
    assert _offenders(COMMIT, set()) != []
