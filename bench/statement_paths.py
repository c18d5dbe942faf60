"""What one heartbeat statement costs the API process on each way it could reach PostgreSQL.

    LMS_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/lms_bench_paths \\
    .venv/bin/python -m bench.statement_paths

Needs the `bench` extra (`make bench` installs it: SQLAlchemy's asyncio extension needs
greenlet). The database named in the URL is dropped and recreated, migrated and seeded with
a small learning dataset. The progress heartbeat's real statement (the credit, the touch and
the progress upsert, with the whole release rule) is then run one call after another from an
event loop, on random enrollments, along these paths:

- the single-statement path the heartbeat route takes (`record_heartbeat`: psycopg's async
  driver, autocommit, SQL compiled once);
- an `AsyncSession` per call on an async engine (psycopg async), committed, as a request's
  async session would run it;
- the same async engine's connection in autocommit, without a session;
- that connection's psycopg driver connection, with the single-statement path's own cursor
  and SQL (what is left of SQLAlchemy is its pool);
- a synchronous `Session` per call in a worker thread, committed, as a sync endpoint's
  request session runs it;
- the best synchronous shape for a statement that is its own transaction: the request's
  `Session` in a worker thread, its connection in autocommit, the single-statement path's
  cursor and SQL; then the same with one layer taken away at a time (the `Session`,
  SQLAlchemy's pool, the thread hop), which says what each layer costs. The last (a plain
  psycopg connection on the event loop) blocks the loop while the server works: a floor,
  not a shape a route could take.

It prints the CPU this process spent per statement (what the API worker pays, the database
server's own work excluded) and the wall time per call. The difference to the first path,
added to the heartbeat's CPU per request in `bench/learning_load.py`, says what the route
would cost on that path.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from bench.learning_load import prepare_server

Call = Callable[[], Awaitable[Any]]


ROUNDS = 5


async def _measure(name: str, call: Call, calls: int) -> tuple[float, float]:
    """CPU and wall microseconds per call over `calls` calls."""
    written = 0
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        written += bool(await call())
    cpu_us = (time.process_time() - cpu) * 1e6 / calls
    wall_us = (time.perf_counter() - wall) * 1e6 / calls
    # A path whose statement matched nothing would measure less work, not the heartbeat.
    if written != calls:
        raise SystemExit(f"{name}: {calls - written} of {calls} heartbeats wrote nothing")
    return cpu_us, wall_us


async def _compare(paths: list[tuple[str, Call]], calls: int) -> list[tuple[str, float, float]]:
    """Each path warmed, then measured in `ROUNDS` rounds taken in turn with the others, so
    the database's own drift (autovacuum, a growing table) reaches every path alike; the
    median round of each is kept."""
    for name, call in paths:  # caches, pools and prepared statements
        await _measure(name, call, max(100, calls // 10))
    rounds: dict[str, list[tuple[float, float]]] = {name: [] for name, _call in paths}
    for _ in range(ROUNDS):
        for name, call in paths:
            rounds[name].append(await _measure(name, call, max(1, calls // ROUNDS)))
    return [
        (name, statistics.median(c for c, _w in runs), statistics.median(w for _c, w in runs))
        for name, runs in rounds.items()
    ]


async def _run(database_url: str, calls: int) -> list[tuple[str, float, float]]:
    import psycopg
    from psycopg import AsyncRawCursor, RawCursor
    from psycopg.rows import dict_row
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
    from sqlalchemy.orm import Session
    from starlette.concurrency import run_in_threadpool

    from app.core.database import get_engine, utcnow
    from app.core.single_statement import _postgresql_sql as single_statement_sql
    from app.core.single_statement import close_async_pool
    from app.modules.enrollments import progress_repository
    from app.modules.users.principal import Principal
    from bench.learning_dataset import seed

    dataset = seed(get_engine(), courses=100, students=400, enrollments_per_student=3)
    rng = random.Random(11)
    # The statement and its values exactly as the route builds them. The other paths send its
    # SQL compiled once, as the route does (SQLAlchemy would add the progress values, which
    # share enrollments' column names, to the touch's SET clause if it compiled it with them).
    compiled = progress_repository._heartbeat_statement().compile(dialect=get_engine().dialect)
    sql, defaults = str(compiled), dict(compiled.params)
    clock = [utcnow()]

    def arguments() -> tuple[dict[str, Any], dict[str, Any]]:
        enrollment_id, student_id, lesson_ids = rng.choice(dataset.enrollments)
        lesson_id = rng.choice(lesson_ids)
        clock[0] += timedelta(milliseconds=1)
        touch = {
            "b_enrollment_id": enrollment_id,
            "b_student_id": student_id,
            "b_token_version": 0,
            "b_token_id": uuid.uuid4().hex,
            "b_lesson_id": lesson_id,
            "b_delta": 5,
            "b_now": clock[0],
        }
        values = progress_repository._progress_values(
            enrollment_id=enrollment_id,
            lesson_id=lesson_id,
            position_seconds=rng.randint(0, 1800),
            delta_seconds=5,
            completion_percentage=Decimal(rng.randint(0, 100)),
            now=clock[0],
            complete=False,
        )
        return touch, values

    async def single_statement() -> Any:
        enrollment_id, student_id, lesson_ids = rng.choice(dataset.enrollments)
        return await progress_repository.record_heartbeat(
            enrollment_id=enrollment_id,
            lesson_id=rng.choice(lesson_ids),
            principal=Principal(user_id=student_id, token_version=0, token_id=uuid.uuid4().hex),
            position_seconds=rng.randint(0, 1800),
            delta_seconds=5,
            completion_percentage=Decimal(rng.randint(0, 100)),
            now=utcnow(),
        )

    async_engine = create_async_engine(database_url, pool_size=5)
    autocommit = async_engine.execution_options(isolation_level="AUTOCOMMIT")

    async def async_session() -> Any:
        touch, values = arguments()
        async with AsyncSession(async_engine) as session, session.begin():
            connection = await session.connection()
            result = await connection.exec_driver_sql(sql, {**defaults, **touch, **values})
            return result.mappings().all()

    async def async_connection() -> Any:
        touch, values = arguments()
        async with autocommit.connect() as connection:
            result = await connection.exec_driver_sql(sql, {**defaults, **touch, **values})
            return result.mappings().all()

    native = single_statement_sql(progress_repository._heartbeat_statement())

    async def async_engine_raw_cursor() -> Any:
        touch, values = arguments()
        async with autocommit.connect() as connection:
            raw = await connection.get_raw_connection()
            cursor = AsyncRawCursor(raw.driver_connection, row_factory=dict_row)
            await cursor.execute(native.text, native.arguments({**touch, **values}))
            return await cursor.fetchall()

    def sync_call(params: dict[str, Any]) -> Any:
        with Session(get_engine()) as session, session.begin():
            return session.connection().exec_driver_sql(sql, params).mappings().all()

    async def sync_session_in_thread() -> Any:
        touch, values = arguments()
        return await run_in_threadpool(sync_call, {**defaults, **touch, **values})

    # The synchronous shapes again, one layer at a time, with the single-statement path's own
    # cursor and SQL: what the request's session, SQLAlchemy's pool and the thread hop each add.
    def raw_execute(driver_connection: Any, values: list[Any]) -> Any:
        cursor = RawCursor(driver_connection, row_factory=dict_row)
        cursor.execute(native.text, values)
        return cursor.fetchall()

    def session_autocommit_call(values: list[Any]) -> Any:
        with Session(get_engine()) as session:
            connection = session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            rows = raw_execute(connection.connection.driver_connection, values)
            session.commit()
            return rows

    def engine_autocommit_call(values: list[Any]) -> Any:
        with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            return raw_execute(connection.connection.driver_connection, values)

    # A connection of psycopg's own, outside any pool.
    plain = psycopg.connect(
        get_engine().url.set(drivername="postgresql").render_as_string(hide_password=False),
        autocommit=True,
    )

    def in_thread(call: Callable[[list[Any]], Any]) -> Call:
        async def run() -> Any:
            touch, values = arguments()
            return await run_in_threadpool(call, native.arguments({**touch, **values}))

        return run

    async def plain_on_loop() -> Any:
        touch, values = arguments()
        return raw_execute(plain, native.arguments({**touch, **values}))

    paths: list[tuple[str, Call]] = [
        ("single statement (the route today)", single_statement),
        ("AsyncSession per call, committed", async_session),
        ("async engine, autocommit, no session", async_connection),
        ("async engine's pool, the driver's cursor", async_engine_raw_cursor),
        ("sync Session per call in a thread", sync_session_in_thread),
        ("sync Session, autocommit, driver's cursor", in_thread(session_autocommit_call)),
        ("  the same without the Session", in_thread(engine_autocommit_call)),
        ("  the same without SQLAlchemy's pool", in_thread(lambda v: raw_execute(plain, v))),
        ("  the same on the loop (blocks it)", plain_on_loop),
    ]
    try:
        return await _compare(paths, calls)
    finally:
        plain.close()
        await async_engine.dispose()
        await close_async_pool()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=4000, help="statements per path")
    args = parser.parse_args(argv)
    url = os.environ.get("LMS_BENCH_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        parser.error("set LMS_BENCH_DATABASE_URL to a PostgreSQL URL (the paths differ there)")
    database_url, _redis_url, _env = prepare_server("lms-bench-paths-")
    from app.core.database import get_engine

    results = asyncio.run(_run(database_url, args.calls))
    get_engine().dispose()
    baseline = results[0][1]
    print(
        f"{args.calls} heartbeat statements per path, one after another, in {ROUNDS} rounds"
        " taken in turn (median round)"
    )
    print(f"{'path':40s} {'CPU us/stmt':>12s} {'vs today':>9s} {'wall us/call':>13s}")
    for name, cpu_us, wall_us in results:
        print(f"{name:40s} {cpu_us:12.0f} {cpu_us - baseline:+9.0f} {wall_us:13.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
