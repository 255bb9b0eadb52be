"""The champion's metadata read from the local SQLite registry's file gives MLflow's answers, and
the training's per-run registry read (`tasks.data.judged_holdout`) never sets MLflow up."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from contract.bundle import Metadata, TrainingWindow, write_metadata
from core import registry, registry_file
from core.paths import PROJECT_ROOT, tracking_uri


def _register(client, name: str, fit_end: str, tmp_path) -> str:
    """A version of `name` whose run's bundle/ holds a metadata.json fit up to `fit_end`."""
    bundle = tmp_path / f"bundle-{fit_end}"
    bundle.mkdir()
    write_metadata(bundle, Metadata(name=name, training_window=TrainingWindow(fit_end=fit_end)))
    experiment = registry.experiment_id()
    run = client.create_run(experiment)
    client.log_artifacts(run.info.run_id, str(bundle), registry.BUNDLE_ARTIFACT_DIR)
    client.set_terminated(run.info.run_id)
    version = client.create_model_version(
        name, source=f"{run.info.artifact_uri}/{registry.BUNDLE_ARTIFACT_DIR}", run_id=run.info.run_id
    )
    return str(version.version)


@pytest.fixture
def champion_registry(fresh_store, tmp_path):
    """Model `m`: version 1, and version 2 as champion; model `n` with no alias."""
    client = registry.client()
    client.create_registered_model("m")
    client.create_registered_model("n")
    _register(client, "m", "2013-06-30", tmp_path)
    champion = _register(client, "m", "2013-07-31", tmp_path)
    client.set_registered_model_alias("m", "champion", champion)
    return champion


def test_the_file_read_gives_mlflows_answers(champion_registry):
    read = registry_file.alias_metadata(tracking_uri(), "m", "champion")
    assert read == registry.version_metadata("m", champion_registry)
    assert read.training_window.deployed_fit_end == "2013-07-31"
    assert registry.alias_metadata("m", "champion") == read
    for name, alias in (("m", "challenger"), ("n", "champion"), ("absent", "champion")):
        assert registry.alias_version(name, alias) is None
        assert registry_file.alias_metadata(tracking_uri(), name, alias) is None


def test_a_store_not_created_yet_has_no_champion_and_stays_uncreated(fresh_store):
    database = registry_file.sqlite_path(tracking_uri())
    assert registry_file.alias_metadata(tracking_uri(), "m", "champion") is None
    assert not database.exists()


def test_what_the_file_cannot_answer_goes_to_mlflow(champion_registry):
    with pytest.raises(registry_file.NotReadableHere, match="not a plain SQLite store"):
        registry_file.alias_metadata("http://127.0.0.1:5000", "m", "champion")
    # a version whose artifacts are not on a local path: MLflow resolves it
    with sqlite3.connect(registry_file.sqlite_path(tracking_uri())) as connection:
        connection.execute("UPDATE model_versions SET source = 'mlflow-artifacts:/x' WHERE version = ?", (2,))
    with pytest.raises(registry_file.NotReadableHere, match="not local"):
        registry_file.alias_metadata(tracking_uri(), "m", "champion")
    assert registry.alias_metadata("m", "champion") == registry.version_metadata("m", champion_registry)


def test_the_champions_fit_end_is_read_without_setting_mlflow_up(champion_registry):
    """The read every training run makes, the cached re-run's included, in a process of its own
    as `pyflyte run` makes it: the answer, and MLflow never imported."""
    script = (
        "import json, sys\n"
        "from core.promotion import champion_fit_end\n"
        "print(json.dumps([champion_fit_end('m'), champion_fit_end('n'), 'mlflow' in sys.modules]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, env=dict(os.environ), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.splitlines()[-1]) == ["2013-07-31", "", False]
