"""Database engine, sessions and migrations (SQLite with WAL by default, PostgreSQL by URL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool, StaticPool

MIGRATIONS = Path(__file__).parent / "migrations"


class Base(DeclarativeBase):
    pass


def _sqlite_pragmas(dbapi_conn: Any, _record: Any, *, foreign_keys: bool = True) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _sqlite_migration_engine(url: str) -> Engine:
    """An engine for running migrations on SQLite.

    Foreign keys are off while migrating: alembic's batch mode rebuilds a table by copying it and
    dropping the original, and with foreign keys on, dropping ``accounts`` would cascade-delete
    every principal, key and tag.  sqlite3's legacy mode would also autocommit each DDL statement;
    here SQLAlchemy emits BEGIN itself, so a migration is one transaction, and the foreign keys
    are checked before it commits.
    """
    engine = create_engine(url, connect_args={"check_same_thread": False}, poolclass=NullPool)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, record: Any) -> None:
        _sqlite_pragmas(dbapi_conn, record, foreign_keys=False)
        dbapi_conn.isolation_level = None          # we emit BEGIN, sqlite3 must not

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    @event.listens_for(engine, "commit")
    def _check_foreign_keys(conn: Connection) -> None:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            broken = cursor.execute("PRAGMA foreign_key_check").fetchall()
        finally:
            cursor.close()
        if broken:
            raise RuntimeError(f"migration left rows with dangling foreign keys (table, rowid, parent, fk): {broken}")

    return engine


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (idempotent)."""
        from alembic import command

        with self.migration_engine() as engine:
            command.upgrade(alembic_config(engine), "head")

    @contextmanager
    def migration_engine(self) -> Iterator[Engine]:
        """The engine to change the schema with (on a SQLite file: one without foreign keys)."""
        if self.engine.dialect.name != "sqlite" or self.url in ("sqlite://", "sqlite:///:memory:"):
            yield self.engine
            return
        engine = _sqlite_migration_engine(self.url)
        try:
            yield engine
        finally:
            engine.dispose()

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg
