"""Status list indexes: drawn at random among a list's free ones, never twice, in lists of
at least the specification's 131,072 entries, and migrated from sequential allocation."""

from __future__ import annotations

import uuid
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from sqlalchemy import create_engine, select

from app.cli.database import alembic_config
from app.core.database import session_scope, utcnow
from app.modules.credentials import status
from app.modules.credentials.models import StatusList


def _taken(bits: bytes) -> set[int]:
    return {i for i in range(len(bits) * 8) if bits[i // 8] & (0x80 >> (i % 8))}


def test_indexes_are_unique_random_and_recorded() -> None:
    with session_scope() as session:
        entries = [status.allocate(session) for _ in range(400)]
    indexes = [entry.index for entry in entries]
    assert len(set(indexes)) == 400
    assert len({entry.list_id for entry in entries}) == 1
    # Not handed out in order: 400 sequential indexes would all sit below 400.
    assert indexes != sorted(indexes) and max(indexes) > 10_000
    with session_scope() as session:
        row = session.scalars(select(StatusList)).one()
        assert row.length >= 131_072 and len(row.bits) * 8 == row.length
        assert row.allocated_count == 400
        assert _taken(row.allocated) == set(indexes)
        assert _taken(row.bits) == set()


def test_the_last_free_indexes_are_found_then_a_new_list_opens() -> None:
    free = {7, 65_000, 131_071}
    with session_scope() as session:
        first = status.allocate(session)
        row = session.get(StatusList, first.list_id)
        assert row is not None
        everything = bytearray(b"\xff" * (row.length // 8))
        for index in free:
            everything[index // 8] &= ~(0x80 >> (index % 8)) & 0xFF
        row.allocated, row.allocated_count = bytes(everything), row.length - len(free)
    with session_scope() as session:
        last = [status.allocate(session) for _ in free]
        assert {entry.index for entry in last} == free
        assert {entry.list_id for entry in last} == {first.list_id}
        overflow = status.allocate(session)
        assert overflow.list_id != first.list_id


def test_revoking_one_index_sets_only_its_bit() -> None:
    with session_scope() as session:
        entries = [status.allocate(session) for _ in range(3)]
        status.set_status(session, entries[1])
    with session_scope() as session:
        row = session.get(StatusList, entries[1].list_id)
        assert row is not None and _taken(row.bits) == {entries[1].index}
        assert status.is_set(session, row.id, entries[0].index) is False
        assert status.is_set(session, row.id, entries[1].index) is True


def test_sequentially_allocated_lists_are_migrated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'status.db'}"
    config = alembic_config(url)
    config.attributes["configure_logger"] = False
    command.upgrade(config, "0017_roster")
    lists = sa.table(
        "credential_status_lists",
        sa.column("id", sa.Uuid()),
        sa.column("purpose", sa.String()),
        sa.column("length", sa.Integer()),
        sa.column("next_index", sa.Integer()),
        sa.column("bits", sa.LargeBinary()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    list_id = uuid.uuid4()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            lists.insert().values(
                id=list_id,
                purpose="revocation",
                length=131_072,
                next_index=11,
                bits=bytes(16 * 1024),
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
    command.upgrade(config, "head")
    with engine.connect() as connection:
        count, allocated = connection.execute(
            sa.text("SELECT allocated_count, allocated FROM credential_status_lists")
        ).one()
    assert count == 11 and _taken(allocated) == set(range(11))
    command.downgrade(config, "0017_roster")
    with engine.connect() as connection:
        assert (
            connection.execute(sa.text("SELECT next_index FROM credential_status_lists")).scalar()
            == 11
        )
    engine.dispose()
