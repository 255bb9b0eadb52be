"""A new local store written from `core/registry_seed.sql` is the store MLflow's own migrations
make (same tables, indexes, triggers and rows, schema at MLflow's head revision), MLflow reads
and writes it, and a store that exists, a tracking server or another MLflow is left to MLflow."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from mlflow.store.db import utils as db_utils

from core import registry, registry_seed
from core.paths import tracking_uri
from core.registry_file import sqlite_path
from tests.support import mlflow_schema

REGENERATE = "the seed is not what this MLflow makes: write it again with `python -m core.registry_seed`"


def _clauses(sql: str | None) -> list[str]:
    """A statement's lines (one column or constraint each), sorted: MLflow's migrations rebuild
    tables with their constraints in an order that changes from run to run (two stores it made
    differ so), which SQLite ignores."""
    return sorted(line.strip().rstrip(",").strip() for line in (sql or "").splitlines())


def _contents(database: Path) -> tuple[dict, dict]:
    """({(type, name): clauses} of the schema, {table: sorted rows}) of a SQLite file."""
    with closing(sqlite3.connect(database)) as connection:
        schema = {
            (kind, name): _clauses(sql)
            for kind, name, sql in connection.execute("SELECT type, name, sql FROM sqlite_master")
        }
        rows = {
            name: sorted(map(repr, connection.execute(f'SELECT * FROM "{name}"')))
            for kind, name in schema
            if kind == "table"
        }
    return schema, rows


def test_a_seeded_store_is_the_store_mlflows_migrations_make(tmp_path, monkeypatch):
    # MLflow's own migrations, not the test run's copy of them (tests/support/mlflow_schema.py)
    monkeypatch.setattr(db_utils, "_initialize_tables", mlflow_schema.MLFLOW_MIGRATION)
    migrated = tmp_path / "migrated.db"
    registry_seed.migrate_new_store(migrated)
    seeded = tmp_path / "seeded.db"
    assert registry_seed.seed_new_store(f"sqlite:///{seeded}")
    migrated_schema, migrated_rows = _contents(migrated)
    seeded_schema, seeded_rows = _contents(seeded)
    assert len(migrated_schema) > 50
    assert seeded_schema == migrated_schema, REGENERATE
    assert seeded_rows == migrated_rows, REGENERATE
    assert seeded_rows["alembic_version"] == [repr((db_utils._get_latest_schema_revision(),))], REGENERATE


def test_mlflow_reads_and_writes_a_seeded_store(fresh_store, tmp_path):
    assert registry_seed.seed_new_store(tracking_uri())
    client = registry.client()  # MLflow checks the schema's revision as it opens the store
    experiment = registry.experiment_id("seeded")
    run = client.create_run(experiment)
    client.log_metric(run.info.run_id, "auc", 0.75)
    (tmp_path / "model.txt").write_text("weights")
    client.log_artifact(run.info.run_id, str(tmp_path / "model.txt"), "bundle")
    client.set_terminated(run.info.run_id)
    client.create_registered_model("m")
    version = client.create_model_version(
        "m", source=f"{run.info.artifact_uri}/bundle", run_id=run.info.run_id
    )
    client.set_registered_model_alias("m", "champion", version.version)

    assert client.get_run(run.info.run_id).data.metrics == {"auc": 0.75}
    assert client.get_model_version_by_alias("m", "champion").run_id == run.info.run_id
    assert client.get_experiment_by_name("Default") is not None  # made by MLflow on first open
    assert registry.alias_version("m", "champion") == str(version.version)


def test_the_registry_opens_a_new_store_without_migrating_it(fresh_store, tmp_path, monkeypatch):
    """MLflow makes a store's tables in `_initialize_tables` (mlflow/store/db/utils.py, called
    by both of its SQLAlchemy stores): watched here, it runs for a store MLflow makes, not for
    the one the registry opens."""
    made: list[str] = []
    initialize = db_utils._initialize_tables

    def watched(engine):
        made.append(str(engine.url))
        return initialize(engine)

    monkeypatch.setattr(db_utils, "_initialize_tables", watched)
    registry.client().create_registered_model("m")
    assert sqlite_path(tracking_uri()).is_file()
    assert made == []
    registry_seed.migrate_new_store(tmp_path / "other.db")
    assert made == [f"sqlite:///{tmp_path / 'other.db'}"]


def test_a_store_that_exists_a_server_or_another_mlflow_is_left_to_mlflow(fresh_store, tmp_path, monkeypatch):
    registry.client().create_registered_model("kept")  # a store MLflow made and wrote
    database = sqlite_path(tracking_uri())
    before = database.read_bytes()
    assert not registry_seed.seed_new_store(tracking_uri())
    assert database.read_bytes() == before
    assert not registry_seed.seed_new_store("http://127.0.0.1:5000")

    other = tmp_path / "other.sql"
    other.write_text(registry_seed.SEED_FILE.read_text().replace(registry_seed.header(), "-- mlflow 0.0.1\n"))
    monkeypatch.setattr(registry_seed, "SEED_FILE", other)
    assert not registry_seed.seed_new_store(f"sqlite:///{tmp_path / 'new.db'}")
    assert not (tmp_path / "new.db").exists()
    assert list(tmp_path.glob(".new.db-*")) == []
