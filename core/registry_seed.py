"""A new local SQLite registry written from MLflow's migrated schema, without running migrations.

MLflow makes a store's tables the first time a process opens it: its initial tables, then every
alembic migration since (`mlflow db upgrade`, mlflow/store/db/utils.py), about 1 s with mlflow
3.17, paid by every new store (a first `make demo`, every test or benchmark with a store of its
own). `registry_seed.sql` is the SQL dump (`sqlite3`'s `iterdump`) of an empty store as
`mlflow db upgrade` leaves it, for the MLflow version its first line names; `seed_new_store`
writes a store that does not exist yet from it, in milliseconds. A store that exists, a tracking
server, or another MLflow version: nothing is done, and MLflow makes or checks the store as it
always does (its schema check would also refuse a seeded store at another revision).
tests/unit/pipeline/test_registry_seed.py holds the dump to what MLflow's migrations make; after
an MLflow upgrade it fails, and `python -m core.registry_seed` writes the dump again.
"""

from __future__ import annotations

import importlib.metadata
import os
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

from core.registry_file import NotReadableHere, sqlite_path

SEED_FILE = Path(__file__).with_name("registry_seed.sql")
HEADER = "-- mlflow {version}: an empty SQLite store as `mlflow db upgrade` leaves it\n"


def header() -> str:
    """The first line of a dump made with the installed MLflow."""
    return HEADER.format(version=importlib.metadata.version("mlflow"))


def migrate_new_store(database: Path) -> None:
    """An empty store at `database` made by MLflow itself (its `mlflow db upgrade` command)."""
    from mlflow.db import upgrade

    upgrade.main([f"sqlite:///{database}"], standalone_mode=False)


def migrated_dump() -> str:
    """The dump of an empty store migrated by MLflow, headed by the installed MLflow's version."""
    with tempfile.TemporaryDirectory(prefix="registry-seed-") as tmp:
        database = Path(tmp) / "mlflow.db"
        migrate_new_store(database)
        with closing(sqlite3.connect(database)) as connection:
            return header() + "\n".join(connection.iterdump()) + "\n"


def seed_script() -> str | None:
    """The dump of an empty migrated store when it is of the installed MLflow, else None."""
    if not SEED_FILE.is_file():
        return None
    dump = SEED_FILE.read_text()
    return dump if dump.startswith(header()) else None


def seed_new_store(tracking_uri: str) -> bool:
    """Write the store of `tracking_uri` from the dump when it is a local SQLite file that does
    not exist yet and the dump is of the installed MLflow; True when it did."""
    try:
        database = sqlite_path(tracking_uri)
    except NotReadableHere:
        return False  # a tracking server, or a URI with options: MLflow's business
    if database.exists():
        return False
    dump = seed_script()
    if dump is None:
        return False  # another MLflow: its own migrations make the store
    database.parent.mkdir(parents=True, exist_ok=True)
    handle, seeded = tempfile.mkstemp(dir=database.parent, prefix=f".{database.name}-", suffix=".seed")
    os.close(handle)
    try:
        with closing(sqlite3.connect(seeded)) as connection:
            connection.executescript(dump)
        os.link(seeded, database)  # never over a store another process made meanwhile
    except FileExistsError:
        return False
    finally:
        os.unlink(seeded)
    return True


if __name__ == "__main__":
    SEED_FILE.write_text(migrated_dump())
    print(f"wrote {SEED_FILE}")
