"""What a person browsing the registry sees, read through a real `mlflow server` the way its UI
reads it: the version's description and tags, its input schema (the UI parses the `MLmodel` file
at the version's source through `/model-versions/get-artifact`), the run's evaluation figures, and
a Flyte execution id that tells two local runs apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
import yaml

from core import registry
from tests.integration.operator.conftest import AS_OF
from usecases.flights.schemas import FEATURES

pytestmark = pytest.mark.slow
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def registered(loop):
    """The conftest's two local training runs against a real tracking server."""
    return loop.tracking_uri, loop.decisions


def test_version_page_shows_the_input_schema(registered):
    uri, decisions = registered
    for version in decisions:
        page = requests.get(
            f"{uri}/model-versions/get-artifact",
            params={"name": registry.MODEL_NAME, "version": version, "path": "MLmodel"},
            timeout=10,
        )
        assert page.status_code == 200, page.text
        signature = yaml.safe_load(page.text)["signature"]
        inputs = yaml.safe_load(signature["inputs"])
        assert [column["name"] for column in inputs] == FEATURES
        kinds = {column["name"]: (column["type"], column.get("required", True)) for column in inputs}
        assert kinds["carrier"] == ("string", True)
        assert kinds["distance"] == ("double", True)
        assert kinds["wind_gust"] == ("double", False)  # nullable in schema.json
        outputs = [column["name"] for column in yaml.safe_load(signature["outputs"])]
        assert outputs[0] == "probability" and len(outputs) == 2


def test_version_has_a_description_and_tags_for_as_of_auc_and_the_gate(registered, monkeypatch, tmp_path):
    uri, decisions = registered
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow_client = registry.client()
    for version, decision in decisions.items():
        found = mlflow_client.get_model_version(registry.MODEL_NAME, version)
        run = mlflow_client.get_run(found.run_id)
        auc = f"{run.data.metrics['holdout_roc_auc']:.4f}"
        assert found.tags["as_of"] == f"{AS_OF:%Y-%m-%d}"
        assert found.tags["holdout_roc_auc"] == auc
        # the latest decision on this version (a retrain that reproduces a registered model
        # re-judges that version), as on its run; the description keeps every decision
        latest = json.loads(
            Path(
                mlflow_client.download_artifacts(found.run_id, "promotion/decision.json", str(tmp_path))
            ).read_text()
        )
        assert found.tags["gate_decision"] == run.data.tags["promotion"] == latest["alias"]
        assert found.tags["gate_reasons"] == "; ".join(latest["reasons"])
        assert f"as of {AS_OF:%Y-%m-%d}" in found.description
        assert f"holdout ROC AUC {auc}" in found.description
        at_training = decision.alias or "rejected"
        assert f"Promotion gate: {at_training} ({'; '.join(decision.reasons)})." in found.description
        assert f"Promotion gate: {latest['alias']} ({'; '.join(latest['reasons'])})." in found.description
    assert mlflow_client.get_registered_model(registry.MODEL_NAME).description


def test_run_keeps_the_evaluation_figures(registered, monkeypatch, tmp_path):
    uri, decisions = registered
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow_client = registry.client()
    run_id = mlflow_client.get_model_version(registry.MODEL_NAME, next(iter(decisions))).run_id
    listed = {a.path for a in mlflow_client.list_artifacts(run_id, "evaluation")}
    assert listed == {"evaluation/evaluation.png", "evaluation/slices.csv"}
    local = mlflow_client.download_artifacts(run_id, "evaluation", str(tmp_path))
    assert (tmp_path / "evaluation" / "evaluation.png").read_bytes().startswith(PNG_MAGIC), local
    assert (tmp_path / "evaluation" / "slices.csv").read_text().count("\n") > 3


def test_two_local_runs_record_different_flyte_execution_ids(registered, monkeypatch):
    uri, decisions = registered
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow_client = registry.client()
    ids = [
        mlflow_client.get_model_version(registry.MODEL_NAME, v).tags["flyte_execution_id"] for v in decisions
    ]
    assert len(set(ids)) == 2, ids
    for execution_id in ids:
        assert execution_id.startswith("local:local:local-") and len(execution_id) > len("local:local:local-")
        run = mlflow_client.get_run(
            mlflow_client.search_model_versions(
                f"name = '{registry.MODEL_NAME}' and tag.flyte_execution_id = '{execution_id}'"
            )[0].run_id
        )
        assert run.data.tags["flyte_execution_id"] == execution_id
