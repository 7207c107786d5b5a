"""Alembic environment: runs against the engine handed in by ``Database.upgrade``."""

from __future__ import annotations

from alembic import context

from overcast.core import models  # noqa: F401  (registers the tables)
from overcast.core.db import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
