"""The closed loop end to end on the real 2013 data, in-process, against a store of its own:
batch scoring (equal to in-process predictions, cached), monitoring (request log, bad input),
the launch plans run once each, and a two-month replay."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from contract.bundle import load_bundle
from contract.log_segments import closed_segments
from contract.request_log import RequestLog
from core import batch, registry
from core.gate import CHAMPION
from core.model import Hyperparameters, predict_scores
from core.monitoring import MonitoringThresholds
from tasks.data import DataConfig
from usecases.flights.features import build_features
from usecases.flights.source import load_window

pytestmark = pytest.mark.slow

# Train on April-May, hold out June: the real data, small enough for a test.
AS_OF = datetime(2013, 7, 1)
DATA = DataConfig(train_months=2, holdout_months=1)
HYPERPARAMETERS = Hyperparameters(max_iter=60)
NEVER = MonitoringThresholds(max_auc_drop=1.0, max_log_loss_rise=9.0, max_feature_psi=1e9, max_score_psi=1e9)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A fresh MLflow store with a champion trained as of July 1st."""
    from workflows.training import training_workflow

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLOPS_DATA_DIR", str(tmp_path_factory.mktemp("loop-store")))
        decision = training_workflow(as_of=AS_OF, hyperparameters=HYPERPARAMETERS, data=DATA)
        assert decision.alias == CHAMPION
        yield decision


def versions() -> list[str]:
    found = registry.client().search_model_versions(f"name = '{registry.MODEL_NAME}'")
    return sorted(str(v.version) for v in found)


def message(error: BaseException) -> str:
    """The whole chain: flytekit wraps a task's exception in its own."""
    parts = []
    while error is not None:
        parts.append(str(error))
        error = error.__cause__ or error.__context__
    return "\n".join(parts)


def test_batch_equals_in_process_predictions_row_for_row(store, tmp_path):
    from workflows.batch_inference import batch_inference_workflow

    start, end = datetime(2013, 7, 1), datetime(2013, 7, 4)
    predictions = batch_inference_workflow(start=start, end=end, data=DATA)

    bundle = load_bundle(registry.download_bundle(registry.MODEL_NAME, store.version, tmp_path))
    table = build_features(load_window("", start, end), end)  # the truth as known at the end
    expected = predict_scores(bundle.model, table)
    assert len(predictions) == len(table) > 2000
    assert predictions["flight_id"].tolist() == table["flight_id"].tolist()
    # the batch task scores through the serving predictor: the Pipeline's numbers to 1e-9
    np.testing.assert_allclose(predictions["score"].to_numpy(), expected, rtol=0, atol=1e-9)
    flags = (predictions["score"].to_numpy() >= bundle.schema.threshold).astype(int)
    np.testing.assert_array_equal(predictions["predicted_late"].to_numpy(), flags)
    pd.testing.assert_series_equal(predictions["late"], table["late"], check_names=False, check_index=False)
    assert predictions["late"].isna().sum() > 0  # the last day's flights without an arrival: not yet known
    assert set(predictions["model_version"]) == {store.version}
    assert set(predictions["run_id"]) == {bundle.metadata.run_id}


def test_batch_with_reasons_names_each_flights_top_three_contributions(store, tmp_path):
    from core import explanations
    from workflows.batch_inference import batch_inference_workflow

    start, end = datetime(2013, 7, 5), datetime(2013, 7, 6)
    plain = batch_inference_workflow(start=start, end=end, data=DATA)
    explained = batch_inference_workflow(start=start, end=end, data=DATA, reasons=True)
    assert list(explained.columns) == list(plain.columns) + batch.REASON_COLUMNS
    pd.testing.assert_frame_equal(explained[plain.columns], plain)  # the scores are untouched

    bundle = load_bundle(registry.download_bundle(registry.MODEL_NAME, store.version, tmp_path))
    table = build_features(load_window("", start, end), end).set_index("flight_id")
    contributions, _ = explanations.contributions_frame(bundle.model, table.loc[explained["flight_id"]])
    for rank in (1, 2, 3):
        names = explained[f"reason_{rank}"].to_numpy()
        values = explained[f"reason_{rank}_contribution"].to_numpy()
        expected = contributions.to_numpy()[
            np.arange(len(names)), [contributions.columns.get_loc(n) for n in names]
        ]
        np.testing.assert_array_equal(values, expected)
    sizes = explained[[f"reason_{rank}_contribution" for rank in (1, 2, 3)]].abs().to_numpy()
    assert (sizes[:, 0] >= sizes[:, 1]).all() and (sizes[:, 1] >= sizes[:, 2]).all()
    other = contributions.abs().to_numpy()
    assert (np.sort(other, axis=1)[:, -3] <= sizes[:, 2] + 1e-15).all()  # nothing larger was left out


def test_rescoring_a_scored_period_hits_the_partition_cache(store, monkeypatch):
    from workflows.batch_inference import batch_inference_workflow

    calls = []
    real = batch.score_partition
    monkeypatch.setattr(batch, "score_partition", lambda *a, **k: calls.append(1) or real(*a, **k))
    period = dict(start=datetime(2013, 7, 10), end=datetime(2013, 7, 12), data=DATA, days_per_partition=1)
    first = batch_inference_workflow(**period)
    assert len(calls) == 2  # two days, two partitions scored
    again = batch_inference_workflow(**period)
    assert len(calls) == 2, "a re-run scored partitions again instead of reading the cache"
    pd.testing.assert_frame_equal(first, again)


def test_monitoring_reads_the_request_log_and_retrains_nothing_when_ok(store, tmp_path):
    from workflows.monitoring import monitoring_workflow

    log = tmp_path / "request-log"
    log.mkdir()
    features = build_features(load_window("", datetime(2013, 7, 2), datetime(2013, 7, 3))).head(40)
    records = features.drop(columns=["flight_id", "sched_dep", "late"]).astype(object)
    body = {"jsonData": records.where(records.notna(), None).to_dict("records")}
    # The serving side's own writer, so the test follows its format; then the request time is
    # moved into the monitored period (the writer stamps "now").
    writer = RequestLog(log)
    writer.write(
        "r1", registry.MODEL_NAME, store.version, json.dumps(body).encode(), [0.3] * 40, [0] * 40, {}
    )
    writer.close()
    (segment,) = closed_segments(log)  # closing renamed the worker's file to its segment name
    line = json.loads(segment.read_text())
    line["ts"] = "2013-07-02T12:00:00+00:00"
    segment.write_text(json.dumps(line) + "\n")
    before = versions()

    outcome = monitoring_workflow(
        start=datetime(2013, 7, 1),
        end=datetime(2013, 7, 4),
        request_log_dir=str(log),
        thresholds=NEVER,
        data=DATA,
    )
    report = outcome.report
    assert report.decision == "ok" and not report.retrain
    assert report.n_online_rows == 40
    # the truth as known at the period's end: the last day's flights without an arrival are unknown
    assert 2000 < report.labelled_rows < report.n_rows
    assert 0.5 < report.realized_auc < 1.0
    assert report.validation_auc == pytest.approx(store.candidate_auc)
    assert report.worst_feature and report.mlflow_run_id
    assert outcome.gate.version == ""
    assert versions() == before
    run = registry.client().get_run(report.mlflow_run_id)
    assert run.data.tags["decision"] == "ok"
    assert "psi_online_score" in run.data.metrics and "realized_auc" in run.data.metrics


def test_a_period_with_no_flights_fails_clearly_and_trains_nothing(store):
    from workflows.monitoring import monitoring_workflow

    before = versions()
    with pytest.raises(Exception) as caught:
        monitoring_workflow(start=datetime(2014, 1, 1), end=datetime(2014, 1, 3), data=DATA)
    assert "the window holds no flights" in message(caught.value)
    assert versions() == before


def test_predictions_missing_a_column_fail_clearly_and_train_nothing(store):
    from workflows.batch_inference import batch_inference_workflow
    from workflows.monitoring import monitor_predictions_workflow

    period = dict(start=datetime(2013, 7, 1), end=datetime(2013, 7, 4))
    predictions = batch_inference_workflow(**period, data=DATA)
    before = versions()
    with pytest.raises(Exception) as caught:
        monitor_predictions_workflow(predictions=predictions.drop(columns=["score"]), **period, data=DATA)
    assert "score" in message(caught.value)
    assert "not in dataframe" in message(caught.value) or "missing" in message(caught.value)
    assert versions() == before


def test_a_bundle_without_reference_fails_clearly_and_trains_nothing(store, tmp_path):
    import mlflow

    from workflows.monitoring import monitoring_workflow

    source = registry.download_bundle(registry.MODEL_NAME, store.version, tmp_path / "bundle")
    (Path(source) / "reference.json").unlink()
    client = registry.client()
    with mlflow.start_run(experiment_id=registry.experiment_id()) as run:
        mlflow.log_artifacts(str(source), "bundle")
    broken = client.create_model_version(
        registry.MODEL_NAME, f"{run.info.artifact_uri}/bundle", run.info.run_id
    ).version
    before = versions()
    with pytest.raises(Exception) as caught:
        monitoring_workflow(
            start=datetime(2013, 7, 1),
            end=datetime(2013, 7, 4),
            model_version=str(broken),
            data=DATA,
        )
    assert "has no reference.json" in message(caught.value)
    assert versions() == before
    assert registry.alias_version(registry.MODEL_NAME, CHAMPION) == store.version


def test_each_launch_plan_runs_locally_with_its_fixed_inputs(store):
    from launchplans.monitoring import daily_monitoring
    from launchplans.retrain import monthly_retrain
    from launchplans.scoring import daily_scoring

    scored = daily_scoring(kickoff_time=datetime(2013, 7, 2, 4, 0))
    assert set(scored["sched_dep"].dt.strftime("%Y-%m-%d")) == {"2013-07-02"}  # days fixed to 1

    outcome = daily_monitoring(kickoff_time=datetime(2013, 7, 8, 7, 0), thresholds=NEVER, data=DATA)
    assert (outcome.report.period_start, outcome.report.period_end) == ("2013-07-01", "2013-07-08")

    gate = monthly_retrain(as_of=datetime(2013, 7, 1), hyperparameters=Hyperparameters(max_iter=20))
    assert gate.version and gate.version != store.version
    bundle = registry.download_bundle(registry.MODEL_NAME, gate.version)
    window = json.loads((bundle / "metadata.json").read_text())["training_window"]
    assert window["train_start"].startswith("2013-01")  # the fixed five training months


def test_two_month_replay_compares_three_policies_and_links_each_monitoring_deck(store):
    from core import paths
    from scripts.replay import ReplayConfig, replay

    frame, html = replay(ReplayConfig(start="2013-07", months=2, data=DATA, hyperparameters=HYPERPARAMETERS))
    assert frame["month"].tolist() == ["2013-07", "2013-08"]
    for policy in ("never", "monthly", "loop"):
        assert frame[f"auc_{policy}"].between(0.5, 1.0).all()
    # every policy starts from the same model; never retrain keeps it
    assert frame["version_never"].nunique() == 1
    assert frame["version_monthly"].iloc[0] == frame["version_never"].iloc[0] == frame["version_loop"].iloc[0]
    assert frame["version_monthly"].iloc[1] != frame["version_monthly"].iloc[0]
    assert frame["decision"].isin(["ok", "drift", "decay"]).all()
    acted = frame.loc[frame["decision"] != "ok"]
    assert acted["retrain"].str.match(r"v\d+ -> (champion|challenger|rejected)").all()
    assert set(frame["alarm"]) <= {"hit", "false alarm", "missed decay", "quiet"}
    # the online gate on the month's challenger, when the registry holds one that is not the champion
    judged = r"v\d+ (not judged|[+-]\d\.\d{4} \[[+-]\d\.\d{4}, [+-]\d\.\d{4}\] (promote|stays))"
    assert frame["online_gate"].str.fullmatch(f"-|{judged}").all(), frame["online_gate"].tolist()
    costs = frame.attrs["costs"].set_index("policy")
    assert costs.loc["never retrain", "trainings"] == 1 and costs.loc["retrain monthly", "trainings"] == 2
    assert (costs["fit CPU s"] > 0).all()
    assert html == paths.data_dir() / "reports" / "replay.html"
    page = html.read_text()
    assert "2013-08" in page and "data:image/png;base64," in page
    assert "The loop beat never retraining" in page or "The loop did not beat never retraining" in page
    for month in frame.to_dict("records"):
        deck = html.parent / month["decks"]["monitor"]
        assert deck.exists() and "Decision:" in deck.read_text()
