"""The visibility use case through the whole loop as a user runs it, with MLOPS_USE_CASE=visibility
in every process: `pyflyte run` of the training, batch and monitoring workflows, the replay
script over two months (monthly retrains, the gate, monitoring that retrains), and the registered
champion served by the real Seldon microservice (validation, OpenAPI, explain, metrics).

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
import requests

import usecases
from contract.bundle import load_bundle
from scripts.flyte_log import deck_paths
from tests.integration.serving.serving_support import Server, make_root, metric_sum, parse_metrics
from tests.support import REPO
from tests.support.pipeline import SMALL_DATA, SMALL_HYPERPARAMETERS, pyflyte_run, train_small

pytestmark = pytest.mark.slow

CASE = usecases.load("visibility")
WEEK = ("2013-03-01", "2013-03-08")
# Monitoring that never asks for a retrain: the replay is where the loop retrains.
NEVER = {"max_auc_drop": 1.0, "max_log_loss_rise": 9.0, "max_feature_psi": 1e9, "max_score_psi": 1e9}


def _run(env: dict, *args: str) -> str:
    return _passed(pyflyte_run(*args, env=env))


def _passed(result: subprocess.CompletedProcess) -> str:
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
    return _passed(train_small(env))


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


@pytest.fixture(scope="module")
def server(champion, tmp_path_factory):
    """The champion served by the stock seldon-core-microservice, as a deployment of the use case
    runs it (its metric prefix and model name)."""
    from tests.support import deployment_env

    root = make_root(tmp_path_factory.mktemp("served"), {"1": champion})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(usecases.ENV, CASE.name)
        names = deployment_env()
    running = Server(root, env=names, workers=1).start(timeout=120)
    yield running
    running.stop()


def test_training_registers_a_champion_under_the_use_case_names(trained, champion):
    assert "no champion yet" in trained
    bundle = load_bundle(champion)  # skops allowlist and sha256 checked
    assert bundle.metadata.name == CASE.model_name
    assert [f.name for f in bundle.schema.features] == list(CASE.features)
    assert bundle.schema.threshold == CASE.threshold  # the declared one, not flights'
    assert bundle.metadata.training_window.holdout_start == "2013-02-01"
    assert 0.8 < bundle.metadata.metrics["roc_auc"] < 1.0


def test_the_served_champion_answers_the_sample_request_with_the_use_case_outputs(server):
    body = json.loads(CASE.sample_request.read_text())
    answer = server.predict(body)
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert data["names"] == ["probability", CASE.predicted]
    probability, flag = data["ndarray"][0]
    assert 0.0 < probability < 1.0 and flag == int(probability >= CASE.threshold)


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"visib": 12.0}, "visib", "max"),
        ({"origin": 7}, "origin", "type"),
        ({"hours_since_low": "recent"}, "hours_since_low", "type"),
    ],
)
def test_a_bad_request_gets_a_4xx_naming_the_field(server, change, field, rule):
    record = {**json.loads(CASE.sample_request.read_text())["jsonData"], **change}
    answer = server.predict({"jsonData": record})
    assert answer.status_code == 400, answer.text
    status = answer.json()["status"]
    assert status["field"] == field and rule in status["rule"], status


def test_a_request_missing_a_feature_names_it(server):
    record = json.loads(CASE.sample_request.read_text())["jsonData"]
    answer = server.predict({"jsonData": {k: v for k, v in record.items() if k != "visib_change_3h"}})
    assert answer.status_code == 400 and answer.json()["status"]["field"] == "visib_change_3h", answer.text


def test_the_online_feature_without_a_store_is_scored_as_missing_and_named(server):
    """The deployment here runs no online store: the declared online feature is missing, the
    request still scored, and the answer says which feature and why."""
    answer = server.predict(json.loads(CASE.sample_request.read_text()))
    assert answer.status_code == 200, answer.text
    tags = answer.json()["meta"]["tags"]
    assert tags["missing_features"] == list(CASE.online.features)
    assert tags["online_store"] == "store_unavailable"


def test_the_openapi_document_describes_the_use_case(server):
    """The request's fields: every feature but the online ones (the store gives those), and the
    online store's event time."""
    document = requests.get(f"{server.url}/api/v1.0/openapi.json", timeout=10).json()
    text = json.dumps(document)
    requested = [name for name in CASE.features if name not in CASE.online.features]
    for name in (*requested, CASE.online.time, CASE.predicted):
        assert f'"{name}"' in text, name
    for flights_name in ("sched_dep", "tailnum", "predicted_late", "carrier"):
        assert flights_name not in text


def test_explain_adds_up_to_the_prediction(server):
    record = json.loads(CASE.sample_request.read_text())["jsonData"]
    answer = requests.post(f"{server.url}/api/v1.0/explain", json={"jsonData": record}, timeout=30)
    assert answer.status_code == 200, answer.text
    explained = answer.json()["jsonData"]
    [row] = explained["explanations"]
    assert {item["feature"] for item in row["contributions"]} == set(CASE.features)
    total = explained["base_value"] + sum(item["contribution"] for item in row["contributions"])
    assert total == pytest.approx(row["raw_score"], abs=1e-9)
    assert row[CASE.predicted] == int(row["probability"] >= CASE.threshold)


def test_metrics_carry_the_use_case_prefix(server):
    before = parse_metrics(requests.get(server.metrics_url, timeout=5).text)
    assert server.predict(json.loads(CASE.sample_request.read_text())).status_code == 200
    requests.get(f"{server.url}/health/status", timeout=5)
    samples = parse_metrics(requests.get(server.metrics_url, timeout=5).text)
    prefix = CASE.metric_prefix
    ok = f"{prefix}_requests_total"
    assert metric_sum(samples, ok, outcome="ok") == metric_sum(before, ok, outcome="ok") + 1
    assert metric_sum(samples, f"{prefix}_predicted_rows_total") >= 1
    assert not [name for name, _ in samples if name.startswith("flights_")]


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
        json.dumps(SMALL_DATA),
        "--hyperparameters",
        json.dumps(SMALL_HYPERPARAMETERS),
    )
    assert "decision='ok'" in log and "n_rows=502" in log
    # the truth as known at the week's end: the last 6 hours' readings are not labelled yet
    labelled = int(log.split("labelled_rows=")[1].split(",")[0])
    assert 450 < labelled < 502


def test_the_replay_retrains_monthly_and_the_loop_decides(env, trained):
    """Last: the replay registers more versions in the module's store."""
    result = _replay(env, "scripts.replay", "--months", "2")
    # each month scored by the three policies; retrain monthly fits April's model on February-March
    assert re.search(r"^2013-03 ", result.stdout, re.M), result.stdout[-3000:]
    assert re.search(r"^2013-04 .* v1 01-01\.\.02-28 +v\d+ 02-01\.\.03-31", result.stdout, re.M)
    page = (Path(env["MLOPS_DATA_DIR"]) / "reports" / "replay.html").read_text()
    assert "2013-03" in page and "2013-04" in page


def test_the_daily_replay_runs_the_use_cases_loop_day_by_day(env, trained):
    """After the monthly replay: `make replay USE_CASE=visibility`'s command on one month, small."""
    out = _replay(env, "scripts.daily_replay", "--months", "1").stdout
    assert re.search(r"^\s*every policy 2013-03-01\s+v\d+\s+first model", out, re.M), out[-3000:]
    # every day of March replayed, each policy's month mean printed
    assert "replayed 31 days" in out and re.search(r"^ 2013-03( +0\.\d{4}){3}$", out, re.M), out[-3000:]
    assert "Estimate vs realized ROC AUC, this loop (daily)'s models" in out
    page = (Path(env["MLOPS_DATA_DIR"]) / "reports" / "daily-replay.html").read_text()
    assert "this loop (daily)" in page and "2013-03" in page


def test_the_best_retrain_days_with_hindsight_are_found_beside_the_monthly_schedule(env, trained):
    """`make replay-hindsight USE_CASE=visibility`'s command on two months, small: models as of
    March 1st, 22nd, April 1st and 12th."""
    out = _replay(env, "scripts.retrain_hindsight", "--months", "2", "--every", "21").stdout
    assert "candidates the first day, every 21 days and each 1st (4 models)" in out, out[-3000:]
    rows = {
        (m["schedule"], int(m["retrains"])): (float(m["auc"]), m["days"])
        for m in re.finditer(
            r"^\s*(?P<schedule>retrain monthly|best with hindsight)\s+(?P<retrains>\d)\s+"
            r"(?P<auc>0\.\d{4})\s+[+-]\d\.\d{4}\s+(?P<held>[+-]\d\.\d{4})\s+\d+\s+(?P<days>.+?)\s*$",
            out,
            re.M,
        )
    }
    assert rows[("retrain monthly", 1)][1] == "04-01", out
    # the monthly schedule's day is a candidate: the best single retrain is at least as good
    assert rows[("best with hindsight", 1)][0] >= rows[("retrain monthly", 1)][0], out
    assert rows[("best with hindsight", 0)][1] == "-"
    assert "(held out: the same number of retrains chosen on every other day" in out
    best = [rows[("best with hindsight", k)][0] for k in range(4) if ("best with hindsight", k) in rows]
    assert best == sorted(best) and len(best) >= 2, out


def _replay(env: dict, module: str, *args: str) -> subprocess.CompletedProcess:
    """A replay script from March 2013, small (one training month, the small model), as a user
    runs it with the module's use case and store; it must succeed."""
    result = subprocess.run(
        [sys.executable, "-m", module, "--start", "2013-03", *args, "--train-months", "1"]
        + ["--max-iter", str(SMALL_HYPERPARAMETERS["max_iter"])],
        cwd=REPO,
        env={**_inherited(), **env},
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    return result


def _inherited() -> dict:
    return {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
