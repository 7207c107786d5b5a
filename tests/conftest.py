"""Shared fixtures for the unit tests.

``db_url`` runs a test once per database backend: SQLite (a WAL file in ``tmp_path``) and
PostgreSQL (a fresh schema on a throwaway server started once per session, see ``pg.py``).
``database`` is that database, migrated to head.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from pg import PostgresError, PostgresServer

from overcast.core.db import Database
from overcast.core.identity import Identity
from overcast.core.secretbox import SecretBox
from overcast.core.tags import TagStore

BACKENDS = [pytest.param("sqlite", id="sqlite"),
            pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)]
TEST_DATABASE = "overcast_test"
_schemas = itertools.count(1)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session; never skipped: if it cannot start the tests fail."""
    server = PostgresServer()
    try:
        server.start()
    except PostgresError as exc:
        server.stop()
        pytest.fail(f"could not start PostgreSQL for the tests:\n{exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_database(postgres: PostgresServer) -> str:
    """The database that holds one fresh schema per test."""
    postgres.create_database(TEST_DATABASE)
    return TEST_DATABASE


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of an empty database, one per test: a SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'overcast.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    database = request.getfixturevalue("postgres_database")
    schema = f"test_{next(_schemas)}"
    yield server.create_schema(database, schema)
    server.drop_schema(database, schema)


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    """A fresh database migrated to head."""
    db = Database(db_url)
    try:
        db.upgrade()
        yield db
    finally:
        db.dispose()


@pytest.fixture
def box() -> SecretBox:
    return SecretBox.ephemeral()


@pytest.fixture
def identity(database: Database, box: SecretBox) -> Identity:
    return Identity(database, box)


@pytest.fixture
def tag_store(database: Database) -> TagStore:
    return TagStore(database)
