"""The visibility use case through the whole loop as a user runs it, with MLOPS_USE_CASE=visibility
in every process: `pyflyte run` of the training, batch and monitoring workflows, the replay
script over two months (monthly retrains, the gate, monitoring that retrains).

One store and one Flyte cache for the module, on a small real window: January fit, February held
out (as of 2013-03-01), the first week of March scored and monitored, March and April replayed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import usecases
from contract.bundle import load_bundle
from scripts.flyte_log import deck_paths
from tests.support import REPO
from tests.support.pipeline import pyflyte_run

pytestmark = pytest.mark.slow

CASE = usecases.load("visibility")
AS_OF = "2013-03-01"
DATA = {"source_dir": "", "train_months": 1, "holdout_months": 1}
HYPERPARAMETERS = {"max_iter": 60}
WEEK = ("2013-03-01", "2013-03-08")
# Monitoring that never asks for a retrain: the replay is where the loop retrains.
NEVER = {"max_auc_drop": 1.0, "max_log_loss_rise": 9.0, "max_feature_psi": 1e9, "max_score_psi": 1e9}


def _run(env: dict, *args: str) -> str:
    result = pyflyte_run(*args, env=env)
    assert result.returncode == 0, result.stderr[-5000:]
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("visibility-loop")
    return {
        "HOME": str(root / "home"),
        "MLOPS_DATA_DIR": str(root / "mlops"),
        "GIT_COMMIT": "",
        usecases.ENV: CASE.name,
    }


@pytest.fixture(scope="module")
def trained(env) -> str:
    return _run(
        env,
        "workflows/training.py",
        "training_workflow",
        "--as_of",
        AS_OF,
        "--data",
        json.dumps(DATA),
        "--hyperparameters",
        json.dumps(HYPERPARAMETERS),
    )


@pytest.fixture(scope="module")
def champion(env, trained, tmp_path_factory, monkeypatch_module):
    """The champion's bundle, downloaded from the run's registry."""
    from core import registry

    monkeypatch_module.setenv("MLOPS_DATA_DIR", env["MLOPS_DATA_DIR"])
    version = registry.alias_version(CASE.model_name, "champion")
    return registry.download_bundle(CASE.model_name, version, tmp_path_factory.mktemp("champion"))


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_training_registers_a_champion_under_the_use_case_names(trained, champion):
    assert "no champion yet" in trained
    bundle = load_bundle(champion)  # skops allowlist and sha256 checked
    assert bundle.metadata.name == CASE.model_name
    assert [f.name for f in bundle.schema.features] == list(CASE.features)
    assert bundle.schema.threshold == CASE.threshold  # the declared one, not flights'
    assert bundle.metadata.training_window.holdout_start == "2013-02-01"
    assert 0.8 < bundle.metadata.metrics["roc_auc"] < 1.0


def test_batch_scores_every_reading_of_the_week_with_the_champion(env, trained):
    log = _run(
        env, "workflows/batch_inference.py", "batch_inference_workflow", "--start", WEEK[0], "--end", WEEK[1]
    )
    assert "reading_id" in log
    assert "[502 rows x 8 columns]" in log  # 3 stations x 7 days x 24 readings, less 2 the source lacks
    decks = [Path(path).read_text() for path in deck_paths(log).values()]
    (deck,) = [text for text in decks if "Batch scores: 502 rows, 7 days, model version 1" in text]
    assert f"positive ({CASE.positive_class}) rate" in deck and "By origin" in deck


def test_monitoring_reads_the_week_and_decides(env, trained):
    log = _run(
        env,
        "workflows/monitoring.py",
        "monitoring_workflow",
        "--start",
        WEEK[0],
        "--end",
        WEEK[1],
        "--thresholds",
        json.dumps(NEVER),
        "--data",
        json.dumps(DATA),
        "--hyperparameters",
        json.dumps(HYPERPARAMETERS),
    )
    assert "decision='ok'" in log and "n_rows=502" in log
    # the truth as known at the week's end: the last 6 hours' readings are not labelled yet
    labelled = int(log.split("labelled_rows=")[1].split(",")[0])
    assert 450 < labelled < 502


def test_the_replay_retrains_monthly_and_the_loop_decides(env, trained):
    """Last: the replay registers more versions in the module's store."""
    result = subprocess.run(
        [sys.executable, "-m", "scripts.replay", "--start", "2013-03", "--months", "2", "--train-months", "1"]
        + ["--max-iter", str(HYPERPARAMETERS["max_iter"])],
        cwd=REPO,
        env={**_inherited(), **env},
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    # each month scored by the three policies; retrain monthly fits April's model on February-March
    assert re.search(r"^2013-03 ", result.stdout, re.M), result.stdout[-3000:]
    assert re.search(r"^2013-04 .* v1 01-01\.\.02-28 +v\d+ 02-01\.\.03-31", result.stdout, re.M)
    page = (Path(env["MLOPS_DATA_DIR"]) / "reports" / "replay.html").read_text()
    assert "2013-03" in page and "2013-04" in page


def _inherited() -> dict:
    return {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
