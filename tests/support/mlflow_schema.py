"""One migrated MLflow schema for the whole test run.

The suite opens dozens of fresh SQLite MLflow stores (a training run in its own data dir, a
registry per test, a tracking server per fixture). MLflow builds each one by running its ~60
alembic migrations, about 2 s apiece here. Every fresh store of the run starts from one copy
of an empty migrated database (the project's seed, or one run of MLflow's own `_initialize_tables`):
the same tables, indexes and alembic revision, so the store is the one MLflow would have made.

`install()` covers stores opened in the test process; `seed(path)` puts the copy where a
subprocess (`mlflow server`, `pyflyte run`, a sidecar) is about to create its store.
"""

from __future__ import annotations

import sqlite3
import tempfile
from functools import cache
from pathlib import Path

import mlflow.store.db.utils as db_utils
import mlflow.store.model_registry.sqlalchemy_store as registry_store
import sqlalchemy

MLFLOW_MIGRATION = db_utils._initialize_tables  # MLflow's own, kept before install() replaces it


@cache
def schema_script() -> str:
    """The SQL that rebuilds an empty, fully migrated MLflow database (tables and alembic row):
    the project's own seed (`core/registry_seed.sql`) when it is of the installed MLflow, else
    MLflow's migrations run once."""
    from core.registry_seed import seed_script

    script = seed_script()
    if script is not None:
        return script
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "template.db"
        engine = sqlalchemy.create_engine(f"sqlite:///{path}")
        MLFLOW_MIGRATION(engine)
        engine.dispose()
        with sqlite3.connect(path) as connection:
            return "\n".join(connection.iterdump())


def seed(database: Path) -> None:
    """Write the migrated empty schema at `database` unless a database is already there."""
    if database.exists() and database.stat().st_size > 0:
        return
    database.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(database) as connection:
        connection.executescript(schema_script())


def _initialize_from_copy(engine) -> None:
    """`_initialize_tables` for an empty SQLite file: the copy; anything else: MLflow's migration."""
    empty = not sqlalchemy.inspect(engine).get_table_names()
    if engine.dialect.name != "sqlite" or not engine.url.database or not empty:
        MLFLOW_MIGRATION(engine)
        return
    raw = engine.raw_connection()
    try:
        raw.driver_connection.executescript(schema_script())
    finally:
        raw.close()


def install() -> None:
    """Fresh SQLite stores opened in this process start from the copy (both stores' call sites)."""
    db_utils._initialize_tables = _initialize_from_copy
    registry_store._initialize_tables = _initialize_from_copy
