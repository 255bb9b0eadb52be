"""The training workflow as a user runs it: `pyflyte run`, twice, on a small real window."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from contract.bundle import TRUSTED_TYPES, load_bundle, sha256_file
from core import registry
from core.features import month_window, split_by_time
from core.model import Hyperparameters, fit, predict_scores, refit
from core.paths import PROJECT_ROOT
from scripts.flyte_log import deck_paths
from tests.support.pipeline import (
    SMALL_AS_OF,
    SMALL_DATA,
    SMALL_HYPERPARAMETERS,
    cache_outcomes,
    train_small,
)
from usecases.flights.features import build_features
from usecases.flights.source import load_window
from workflows.training import training_workflow

pytestmark = pytest.mark.slow

CACHED_TASKS = {
    "tasks.data.data_window",
    "tasks.data.load_source",
    "tasks.data.build_feature_table",
    "tasks.data.split_train_holdout",
    "tasks.training.train_model",
    "tasks.training.refit_model",
    "tasks.training.evaluate_model",
    "tasks.util.date_label",
    "tasks.training.register_model",
    "tasks.training.promotion_gate",
}


def run_small(env: dict) -> str:
    result = train_small(env)
    assert result.returncode == 0, result.stderr[-5000:]
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def first_run_clock() -> dict[str, datetime]:
    """When the first run of `two_runs` began and ended (UTC), filled by that fixture."""
    return {}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, first_run_clock):
    """Two identical `pyflyte run`s against a fresh Flyte cache and MLflow store, in this checkout
    (GIT_COMMIT left unset: the commit is read from git)."""
    root = tmp_path_factory.mktemp("training-e2e")
    env = {"HOME": str(root / "home"), "MLOPS_DATA_DIR": str(root / "mlops"), "GIT_COMMIT": ""}
    first_run_clock["began"] = datetime.now(UTC)
    first = run_small(env)
    first_run_clock["ended"] = datetime.now(UTC)
    return env, first, run_small(env)


def test_every_cached_task_is_cached(two_runs):
    cached = {
        task.name
        for task in _tasks_of(training_workflow)
        if task.metadata.cache and task.metadata.cache_version
    }
    assert cached == CACHED_TASKS


def test_first_run_executes_every_task_and_promotes(two_runs):
    _, first, _ = two_runs
    outcomes = cache_outcomes(first)
    assert set(outcomes) == CACHED_TASKS
    assert set(outcomes.values()) == {"miss"}, outcomes
    assert "alias='champion'" in first and "no champion yet" in first


def test_second_identical_run_recomputes_nothing(two_runs, monkeypatch):
    env, _, second = two_runs
    outcomes = cache_outcomes(second)
    assert set(outcomes) == CACHED_TASKS
    assert [task for task, outcome in outcomes.items() if outcome != "hit"] == []
    # the registry saw one run, not two: the registration body did not run again
    monkeypatch.setenv("MLOPS_DATA_DIR", env["MLOPS_DATA_DIR"])
    versions = registry.client().search_model_versions(f"name = '{registry.MODEL_NAME}'")
    assert [str(v.version) for v in versions] == ["1"]


def test_registered_bundle_is_verified_and_predicts_like_the_in_memory_model(two_runs, monkeypatch, tmp_path):
    env, _, _ = two_runs
    monkeypatch.setenv("MLOPS_DATA_DIR", env["MLOPS_DATA_DIR"])
    directory = registry.download_bundle(
        registry.MODEL_NAME, registry.alias_version(registry.MODEL_NAME, "champion"), tmp_path
    )
    bundle = load_bundle(directory)  # skops allowlist + sha256 check
    assert bundle.metadata.model_sha256 == sha256_file(directory / "model.skops")
    assert (bundle.metadata.name, bundle.metadata.version) == (registry.MODEL_NAME, "1")
    assert bundle.metadata.flyte_execution_id.startswith("local:local:")
    assert set(bundle.metadata.dataset_digests) == {"training", "holdout"}
    assert bundle.metadata.training_window.as_of == "2013-03-01"
    compiled = bundle.metadata.compiled  # registered only after the holdout parity check
    assert compiled is not None and compiled.sha256 == sha256_file(directory / compiled.file)
    assert compiled.parity_rows == bundle.metadata.metrics["n_rows"] and compiled.parity_max_abs_diff <= 1e-9

    import skops.io as sio

    assert set(sio.get_untrusted_types(file=directory / "model.skops")) <= TRUSTED_TYPES
    window = month_window(SMALL_AS_OF, SMALL_DATA["train_months"], SMALL_DATA["holdout_months"])
    # the truth as the data workflow reads it: as of the window's end
    table = build_features(load_window("", window.train_start, window.end), window.end)
    train, holdout = split_by_time(table, window.holdout_start)
    hp = Hyperparameters(**SMALL_HYPERPARAMETERS)
    judged = fit(train, hp)
    # the registered model is the judged configuration refit on every label known at as_of
    in_memory = refit(pd.concat([train, holdout], ignore_index=True), hp, judged)
    np.testing.assert_array_equal(predict_scores(bundle.model, holdout), predict_scores(in_memory, holdout))
    assert bundle.model[-1].n_iter_ == judged[-1].n_iter_
    assert bundle.metadata.metrics["n_rows"] == len(holdout)
    window_record = bundle.metadata.training_window
    assert (window_record.train_end, window_record.holdout_start) == ("2013-01-31", "2013-02-01")
    assert (window_record.fit_start, window_record.fit_end) == ("2013-01-01", "2013-02-28")


def test_mlflow_run_holds_params_metrics_datasets_and_the_flyte_execution(two_runs, monkeypatch):
    env, _, _ = two_runs
    monkeypatch.setenv("MLOPS_DATA_DIR", env["MLOPS_DATA_DIR"])
    mlflow_client = registry.client()
    version = mlflow_client.get_model_version(registry.MODEL_NAME, "1")
    run = mlflow_client.get_run(version.run_id)
    assert run.data.params["max_iter"] == "60"
    assert 0.6 < run.data.metrics["holdout_roc_auc"] < 1.0
    assert run.data.tags["flyte_execution_id"].startswith("local:local:")
    assert run.data.tags["promotion"] == "champion"
    assert {i.dataset.name for i in run.inputs.dataset_inputs} == {"training", "holdout"}
    artifacts = {a.path for a in mlflow_client.list_artifacts(run.info.run_id, "bundle")}
    assert artifacts == {
        f"bundle/{name}"
        for name in (
            "model.skops",
            "trees.treelite",
            "schema.json",
            "reference.json",
            "metadata.json",
            "MLmodel",
        )
    }


def test_the_version_records_its_commit_and_the_training_runs_duration(
    two_runs, first_run_clock, monkeypatch
):
    env, _, _ = two_runs
    monkeypatch.setenv("MLOPS_DATA_DIR", env["MLOPS_DATA_DIR"])
    mlflow_client = registry.client()
    version = mlflow_client.get_model_version(registry.MODEL_NAME, "1")
    tags = version.tags
    head = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    changes = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "status", "--porcelain"], capture_output=True, text=True
    )
    assert (tags["git_commit"], tags["git_commit_source"]) == (head.stdout.strip(), "git")
    assert tags["git_dirty"] == ("true" if changes.stdout.strip() else "false")
    run = mlflow_client.get_run(version.run_id)
    assert run.data.tags["mlflow.source.git.commit"] == tags["git_commit"]  # the run page shows it
    # from the workflow's first node to the registration, which happened inside the MLflow run
    started = datetime.fromisoformat(tags["training_started_at"])
    registered = started + timedelta(seconds=float(tags["training_duration_seconds"]))
    run_start = datetime.fromtimestamp(run.info.start_time / 1000, UTC)
    run_end = datetime.fromtimestamp(run.info.end_time / 1000, UTC)
    slack = timedelta(seconds=1)  # the tags keep whole seconds and tenths
    assert first_run_clock["began"] - slack <= started < run_start
    assert run_start - slack <= registered <= run_end + slack
    assert registered <= first_run_clock["ended"]
    # every task of the workflow ran after the start: the data, the fits and the evaluation
    assert (run_start - started).total_seconds() > 1.0


DECK_TAB = re.compile(r'<li onclick="handleLinkClick\(this\)">(.*?)</li>')
OWN_TABS = {
    "build_feature_table": ["Data", "Pandera Report: FeatureTable"],
    "evaluate_model": ["Evaluation"],
    "register_model": ["MLflow"],
    "promotion_gate": ["Promotion gate"],
}


def test_each_deck_opens_on_what_its_task_made(two_runs):
    _, first, _ = two_runs
    decks = {task: Path(path).read_text() for task, path in deck_paths(first).items()}
    assert {task: DECK_TAB.findall(html) for task, html in decks.items()} == OWN_TABS
    for task, html in decks.items():
        assert "raw.githubusercontent.com" not in html, task  # no image that needs the web
    # quantile bins as a reader reads them, not the float pandas stored: (48.019000000000005, ...
    assert not re.search(r"\(-?\d+\.\d{7,}, ", decks["evaluate_model"])


def _tasks_of(workflow):
    """Every task node of a workflow, sub-workflows included."""
    from flytekit.core.base_task import PythonTask
    from flytekit.core.workflow import WorkflowBase

    for node in workflow.nodes:
        entity = node.flyte_entity
        if isinstance(entity, WorkflowBase):
            yield from _tasks_of(entity)
        elif isinstance(entity, PythonTask):
            yield entity


def test_the_model_report_sets_a_change_beside_the_reference(two_runs, tmp_path, monkeypatch):
    """What CI posts on a pull request (scripts/model_report.py): the first run's store is the
    reference; a change (fewer trees) trained on the same window, from a tree where only
    GIT_COMMIT says the code (as on a cluster), is the candidate."""
    env, _, _ = two_runs
    candidate_env = {
        "HOME": str(tmp_path / "home"),
        "MLOPS_DATA_DIR": str(tmp_path / "candidate"),
        "GIT_COMMIT": "c0ffee0123456789c0ffee0123456789c0ffee01",
        "GIT_DIRTY": "false",
    }
    changed = train_small(candidate_env, max_iter=30)
    assert changed.returncode == 0, changed.stderr[-5000:]
    output = tmp_path / "report.md"
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "scripts.model_report",
            "--reference-store",
            env["MLOPS_DATA_DIR"],
            "--candidate-store",
            candidate_env["MLOPS_DATA_DIR"],
            "--output",
            str(output),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    report = output.read_text()
    rows = {
        cells[0]: cells[1:]
        for line in report.splitlines()
        if line.startswith("| ") and not line.startswith("| ---")
        for cells in [[c.strip() for c in line.strip("|").split("|")]]
    }
    figures = {}
    for name, store in (("reference", env["MLOPS_DATA_DIR"]), ("candidate", candidate_env["MLOPS_DATA_DIR"])):
        monkeypatch.setenv("MLOPS_DATA_DIR", store)
        figures[name] = registry.version_metadata(registry.MODEL_NAME, "1").metrics
    for key, label in (("roc_auc", "ROC AUC"), ("log_loss", "log loss"), ("brier", "Brier score")):
        reference, candidate = figures["reference"][key], figures["candidate"][key]
        assert rows[label][:2] == [f"{reference:.4f}", f"{candidate:.4f}"], label
        assert rows[label][2].startswith(f"{candidate - reference:+.4f}")
    assert figures["reference"]["roc_auc"] != figures["candidate"]["roc_auc"]  # the change shows
    better = figures["candidate"]["roc_auc"] > figures["reference"]["roc_auc"]
    assert rows["ROC AUC"][2].endswith("(better)" if better else "(worse)")
    head = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    assert rows["code"][0].startswith(f"`{head.stdout.strip()[:12]}")
    assert rows["code"][1] == "`c0ffee012345`"  # GIT_COMMIT, as a cluster run records it
    assert rows["version"][0] == "v1 (champion)" and rows["version"][1].startswith("v1")
    # the candidate store's own gate judged it alone (no champion there): its decision is shown
    monkeypatch.setenv("MLOPS_DATA_DIR", candidate_env["MLOPS_DATA_DIR"])
    gate = registry.client().get_model_version(registry.MODEL_NAME, "1").tags["gate_decision"]
    assert f"The candidate store's promotion gate made it `{gate}`." in report
    assert rows["holdout"][0] == rows["holdout"][1] == "2013-02-01 to 2013-02-28"
    assert "Both measured on the same holdout (2013-02-01 to 2013-02-28)." in report
    assert rows["training run"][0].endswith(" s") and rows["training run"][1].endswith(" s")
    # a version that is not there is named, with the store, and nothing is written
    missing = subprocess.run(
        [sys.executable, "-m", "scripts.model_report", "--reference-store", env["MLOPS_DATA_DIR"]]
        + ["--candidate-store", candidate_env["MLOPS_DATA_DIR"], "--reference", "challenger"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2 and not missing.stdout
    assert f"{env['MLOPS_DATA_DIR']}: no version 'challenger' of {registry.MODEL_NAME}" in missing.stderr
