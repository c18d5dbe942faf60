"""PostgreSQL databases of the services pass: the base database named by
`LMS_TEST_DATABASE_URL` (created when the server answers but it does not exist) and one
scratch database per xdist worker (dropped after the run)."""

from __future__ import annotations

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url


def _connect(url: URL, dbname: str | None = None) -> psycopg.Connection:
    return psycopg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        dbname=dbname or url.database,
        connect_timeout=3,
        autocommit=True,
    )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def postgres_problem(url_text: str) -> str | None:
    """None when the server answers with the database (created when it is missing); else the
    real cause, in one line."""
    url = make_url(url_text)
    try:
        _connect(url).close()
        return None
    except psycopg.OperationalError as exc:
        if f'database "{url.database}" does not exist' not in str(exc):
            return _one_line(exc)
    try:
        with _connect(url, "postgres") as connection:
            connection.execute(
                sql.SQL("CREATE DATABASE {}").format(sql.Identifier(str(url.database)))
            )
    except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
        pass  # another xdist worker created it first
    except psycopg.Error as exc:
        return f'database "{url.database}" does not exist and cannot be created: {_one_line(exc)}'
    return None


def recreate_database(base_url: str, name: str) -> str:
    """Drop and create the database `name` on the server of `base_url`; returns its URL."""
    url = make_url(base_url)
    with _connect(url) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(base_url: str, name: str) -> None:
    with _connect(make_url(base_url)) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def database_exists(base_url: str, name: str) -> bool:
    with _connect(make_url(base_url)) as connection:
        row = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        return row.fetchone() is not None
