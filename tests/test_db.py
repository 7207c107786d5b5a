"""The database layer on SQLite (WAL) and PostgreSQL: migrations, schema drift, engine settings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from overcast.core import models
from overcast.core.db import Base, Database, alembic_config
from overcast.core.identity import Identity
from overcast.core.secretbox import SecretBox

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def head_revision(db: Database) -> str:
    head = ScriptDirectory.from_config(alembic_config(db.engine)).get_current_head()
    assert head is not None
    return head


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def model_tables() -> set[str]:
    return set(Base.metadata.tables)


def test_upgrade_from_empty_reaches_head(db_url: str) -> None:
    db = Database(db_url)
    try:
        assert set(inspect(db.engine).get_table_names()) == set()
        assert current_revision(db) is None
        db.upgrade()
        assert current_revision(db) == head_revision(db)
        assert set(inspect(db.engine).get_table_names()) == model_tables() | {"alembic_version"}
        if db.engine.dialect.name == "postgresql":      # each test has its own schema; nothing leaks out
            assert inspect(db.engine).get_table_names(schema="public") == []
    finally:
        db.dispose()


def test_upgrade_twice_is_a_noop(database: Database) -> None:
    with database.session() as s:
        s.add(models.Account(id="123456789012", name="keep-me", created_at=NOW))
    before = current_revision(database)
    database.upgrade()
    assert current_revision(database) == before == head_revision(database)
    with database.session() as s:
        assert s.scalars(select(models.Account.name)).all() == ["keep-me"]


def test_migrations_go_down_to_base_and_back_up(database: Database) -> None:
    command.downgrade(alembic_config(database.engine), "base")
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
    assert current_revision(database) is None
    database.upgrade()
    assert current_revision(database) == head_revision(database)


def test_migrated_schema_matches_the_models(database: Database) -> None:
    """Every model change must ship with its migration: autogenerate finds nothing to do."""
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        diffs = compare_metadata(context, Base.metadata)
    assert diffs == [], "the models and the migrations disagree; add a migration:\n" + "\n".join(map(repr, diffs))


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/overcast.db")
    try:
        db.upgrade()
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert (conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) >= 1000
    finally:
        db.dispose()


def test_foreign_keys_are_enforced(database: Database) -> None:
    with pytest.raises(IntegrityError), database.session() as s:
        s.add(models.Principal(id="AIDAXXXXXXXXXXXXXXXXX", account_id="999999999999", kind="user", name="admin",
                               arn="arn:aws:iam::999999999999:user/admin", created_at=NOW))


def test_deleting_an_account_cascades(database: Database) -> None:
    with database.session() as s:
        s.add(models.Account(id="123456789012", name="doomed", created_at=NOW))
        s.flush()
        s.add(models.Principal(id="AIDAXXXXXXXXXXXXXXXXX", account_id="123456789012", kind="user", name="admin",
                               arn="arn:aws:iam::123456789012:user/admin", created_at=NOW))
        s.add(models.Tag(account_id="123456789012", resource_id="vpc-0123456789abcdef0", key="k", value="v",
                         resource_type="vpc"))
    with database.engine.begin() as conn:
        conn.execute(text("DELETE FROM accounts WHERE id = '123456789012'"))
    with database.session() as s:
        assert s.scalars(select(models.Principal)).all() == []
        assert s.scalars(select(models.Tag)).all() == []


def test_timestamps_come_back_timezone_aware(database: Database) -> None:
    with database.session() as s:
        s.add(models.Account(id="123456789012", name="tz", created_at=NOW))
    with database.session() as s:
        account = s.get(models.Account, "123456789012")
        assert account is not None
        created = account.created_at
    assert created == NOW if created.tzinfo else created.replace(tzinfo=UTC) == NOW


def test_a_failed_session_rolls_back(database: Database) -> None:
    with pytest.raises(RuntimeError), database.session() as s:
        s.add(models.Account(id="123456789012", name="ghost", created_at=NOW))
        s.flush()
        raise RuntimeError("boom")
    with database.session() as s:
        assert s.get(models.Account, "123456789012") is None


def test_rebuilding_a_parent_table_in_a_migration_keeps_its_children(tmp_path: Path) -> None:
    """SQLite batch migrations copy a table and drop the original: that must not cascade."""
    database = Database(f"sqlite:///{tmp_path}/overcast.db")
    database.upgrade()
    Identity(database, SecretBox.ephemeral()).create_account("survivor")
    with database.migration_engine() as engine, engine.begin() as conn:
        with Operations(MigrationContext.configure(conn)).batch_alter_table("accounts", recreate="always"):
            pass
    with database.session() as s:
        assert len(s.scalars(select(models.Principal)).all()) == 1
        assert len(s.scalars(select(models.AccessKey)).all()) == 1
    database.dispose()


def test_a_migration_that_breaks_foreign_keys_is_rolled_back(database: Database) -> None:
    with database.session() as s:
        s.add(models.Account(id="123456789012", name="parent", created_at=NOW))
        s.flush()
        s.add(models.Tag(account_id="123456789012", resource_id="vpc-0123456789abcdef0", key="k", value="v",
                         resource_type="vpc"))
    with pytest.raises(Exception, match="foreign key|violates"), database.migration_engine() as engine:
        with engine.begin() as conn:
            conn.execute(text("UPDATE accounts SET id = '210987654321'"))
    with database.session() as s:
        assert s.scalars(select(models.Account.id)).all() == ["123456789012"]
