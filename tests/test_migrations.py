"""The migrations build exactly the tables the model declares (a column added to a model
without its migration, or the other way round, fails here), on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import simpul.model  # noqa: F401 - the tables


def test_the_migrations_build_exactly_the_model(db) -> None:  # noqa: ANN001
    with db.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), SQLModel.metadata)
    assert diff == []
