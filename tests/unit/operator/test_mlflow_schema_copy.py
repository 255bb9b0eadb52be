"""The suite's fresh MLflow stores start from one migrated copy (tests/support/mlflow_schema.py):
a copied store must be the store MLflow's own migration makes, and work as one."""

from __future__ import annotations

import sqlite3

import sqlalchemy

from tests.support import mlflow_schema


def schema_of(path) -> list[tuple]:
    """Every table and index with its definition's clauses, and the alembic revision. The clauses
    are compared as a set: MLflow's own migration writes a table's constraints in an order that
    changes from one process to the next (a set's order)."""
    with sqlite3.connect(path) as connection:
        objects = connection.execute(
            "SELECT type, name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
        revision = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    clauses = [
        (kind, name, sorted(line.strip().rstrip(",") for line in (sql or "").splitlines()))
        for kind, name, sql in objects
    ]
    return clauses + revision


def test_a_seeded_database_has_the_migrated_schema_and_revision(tmp_path):
    migrated = tmp_path / "migrated.db"
    engine = sqlalchemy.create_engine(f"sqlite:///{migrated}")
    mlflow_schema.MLFLOW_MIGRATION(engine)  # MLflow's own _initialize_tables, every migration
    engine.dispose()
    seeded = tmp_path / "seeded.db"
    mlflow_schema.seed(seeded)
    assert len(schema_of(migrated)) > 40 and schema_of(seeded) == schema_of(migrated)


def test_a_store_opened_in_the_test_process_starts_from_the_copy_and_records_runs(tmp_path):
    import mlflow
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'store.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.create_experiment("copied", artifact_location=(tmp_path / "art").as_uri())
    run = client.create_run(experiment)
    client.log_metric(run.info.run_id, "auc", 0.78)
    client.create_registered_model("flights")
    assert client.get_run(run.info.run_id).data.metrics == {"auc": 0.78}
    assert [m.name for m in client.search_registered_models()] == ["flights"]
    assert mlflow.store.db.utils._initialize_tables is mlflow_schema._initialize_from_copy
    assert schema_of(tmp_path / "store.db")[-1] == schema_of_template(tmp_path)[-1]


def schema_of_template(tmp_path):
    mlflow_schema.seed(tmp_path / "template.db")
    return schema_of(tmp_path / "template.db")
