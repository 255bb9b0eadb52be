"""Monitoring results in Prometheus: what a real monitoring run pushed to the real Pushgateway,
scraped by a real Prometheus, equals the run's own drift table and report; the alert rules pass
promtool's unit tests (rendered for every use case) and their expressions return the series the
run's figures call for."""

from __future__ import annotations

import io
import math
from dataclasses import replace

import pandas as pd
import pytest

import usecases
from core import registry
from core.monitoring import MonitoringReport
from core.pushgateway import monitoring_job, push_monitoring
from seldon.k8s import rules
from tests.integration.mlflow_server import free_port
from tests.support import alert_rules
from tests.support.system_tools import query, wait_for
from tests.support.use_cases import shipped

CASE = usecases.current()  # the use case the loop of this folder runs
P = CASE.metric_prefix
MONITORING_ALERTS = (
    "ModelDecay",
    "EstimatedPerformanceDrop",
    "ScoreDriftSustained",
    "MonitoringNotReported",
    "MonitoringNeverReported",
)


def alert_expressions() -> dict[str, str]:
    """The expressions of the use case's alerts, by name without the use case's stem."""
    stem = rules.alert_stem(CASE)
    return {name.removeprefix(stem): rule["expr"] for name, rule in alert_rules.alerts(CASE).items()}


# A judged signal's alert, and the monitoring setting that turns it off (`inf`) for a use case.
SIGNAL_SETTINGS = {
    "EstimatedPerformanceDrop": "max_estimated_auc_drop",
    "ScoreDriftSustained": "max_score_psi",
}


@pytest.mark.parametrize("case", shipped(), ids=lambda case: case.name)
def test_monitoring_alert_rules_pass_promtool_unit_tests(case, tmp_path):
    tested = alert_rules.promtool_test(alert_rules.MONITORING_TESTS, case, tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    stem = rules.alert_stem(case)
    monitoring = {rule["alert"] for rule in rules.monitoring_alerts(case)}
    off = {name for name, setting in SIGNAL_SETTINGS.items() if case.monitoring.get(setting) == math.inf}
    expected = set(MONITORING_ALERTS) - off
    assert monitoring == {stem + name for name in (*expected, "ServedVersionNotChampion")}
    # every alert is seen firing and seen quiet
    seen = alert_rules.seen(alert_rules.MONITORING_TESTS, case)
    assert seen == {name: {True, False} for name in monitoring}


def test_an_unreachable_pushgateway_fails_the_push_naming_it():
    report = MonitoringReport(model_version="1", period_end="2013-03-08")
    drift = pd.DataFrame(
        {"feature": ["temp", "score"], "source": ["batch", "batch"], "psi": [0.1, 0.2], "ks": [0.1, 0.1]}
    )
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(RuntimeError, match=f"Pushgateway at {address} \\(set by PUSHGATEWAY_URL\\)"):
        push_monitoring(report, drift, url=address)
    assert push_monitoring(report, drift, url="") is False  # not configured: nothing to push


def drift_of_the_run(loop) -> pd.DataFrame:
    """The drift table the monitoring run logged to MLflow (its own record, not ours)."""
    mlflow_client = registry.client()
    text = mlflow_client.download_artifacts(loop.report.mlflow_run_id, "drift.csv")
    return pd.read_csv(io.StringIO(open(text).read()))


def by_labels(result: list[dict], *names: str) -> dict[tuple, float]:
    return {tuple(s["metric"].get(n, "") for n in names): float(s["value"][1]) for s in result}


def test_prometheus_holds_what_the_monitoring_run_decided(loop, prometheus, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", loop.tracking_uri)
    report, version = loop.report, loop.report.model_version
    drift = drift_of_the_run(loop)
    features, score = drift[drift["feature"] != "score"], drift[drift["feature"] == "score"]
    psi_rows, ks_rows = (
        features.dropna(subset=["psi"]),
        features.dropna(subset=["ks"]),
    )  # undefined: not pushed
    psi = wait_for(prometheus, f"{P}_monitoring_feature_psi", lambda r: len(r) == len(psi_rows))
    assert by_labels(psi, "feature", "source") == pytest.approx(
        {(r.feature, r.source): r.psi for r in psi_rows.itertuples()}
    )
    assert {s["metric"]["job"] for s in psi} == {monitoring_job(CASE)}
    assert {s["metric"]["model_version"] for s in psi} == {version}
    ks = by_labels(query(prometheus, f"{P}_monitoring_feature_ks"), "feature", "source")
    assert ks == pytest.approx({(r.feature, r.source): r.ks for r in ks_rows.itertuples()})
    assert by_labels(query(prometheus, f"{P}_monitoring_score_psi"), "source") == pytest.approx(
        {(r.source,): r.psi for r in score.dropna(subset=["psi"]).itertuples()}
    )
    assert by_labels(query(prometheus, f"{P}_monitoring_score_ks"), "source") == pytest.approx(
        {(r.source,): r.ks for r in score.dropna(subset=["ks"]).itertuples()}
    )
    single = {
        f"{P}_monitoring_realized_roc_auc": report.realized_auc,
        f"{P}_monitoring_realized_log_loss": report.realized_log_loss,
        f"{P}_monitoring_holdout_roc_auc": report.validation_auc,
        f"{P}_monitoring_holdout_log_loss": report.validation_log_loss,
        f"{P}_monitoring_labelled_rows": report.labelled_rows,
        f"{P}_monitoring_retrain": float(report.retrain),
    }
    for name, expected in single.items():
        assert not math.isnan(expected), name
        assert by_labels(query(prometheus, name), "model_version") == pytest.approx({(version,): expected}), (
            name
        )
    rows = by_labels(query(prometheus, f"{P}_monitoring_rows"), "source")
    assert rows == {("batch",): report.n_rows, ("online",): report.n_online_rows}
    decisions = by_labels(query(prometheus, f"{P}_monitoring_decision"), "decision")
    assert decisions == {(d,): float(d == report.decision) for d in ("ok", "drift", "decay")}
    info = query(prometheus, f"{P}_monitoring_model_info")
    assert [(s["metric"]["model_name"], s["metric"]["model_version"]) for s in info] == [
        (registry.MODEL_NAME, version)
    ]
    end = by_labels(query(prometheus, f"{P}_monitoring_period_end_timestamp_seconds"), "model_version")
    assert end == {(version,): pd.Timestamp(report.period_end, tz="UTC").timestamp()}
    age = query(prometheus, f"time() - {P}_monitoring_last_run_timestamp_seconds")
    assert len(age) == 1 and 0 <= float(age[0]["value"][1]) < 3600


def test_alert_expressions_return_the_series_the_run_calls_for(loop, served, prometheus, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", loop.tracking_uri)
    expressions = alert_expressions()
    report = loop.report
    assert report.decision == "decay"  # the thresholds of this run make any log loss rise decay

    decay = query(prometheus, expressions["ModelDecay"])
    assert [(s["metric"]["decision"], s["metric"]["model_version"]) for s in decay] == [
        ("decay", report.model_version)
    ]
    drifting = query(prometheus, expressions["ScoreDriftSustained"])
    expected = {
        (r.source,) for r in drift_of_the_run(loop).itertuples() if r.feature == "score" and r.psi > 0.2
    }
    assert {(s["metric"]["source"],) for s in drifting} == expected
    assert query(prometheus, expressions["MonitoringNotReported"]) == []  # it just reported
    assert query(prometheus, expressions["MonitoringNeverReported"]) == []

    # the champion pushed when the alias last moved, against the version pinned on the server
    champion = registry.alias_version(registry.MODEL_NAME, "champion")
    assert served.champion == champion != served.version
    pushed = wait_for(prometheus, f"{P}_registry_champion_info", lambda r: len(r) == 1)
    assert pushed[0]["metric"]["bundle_version"] == champion
    versions = lambda result: {s["metric"]["bundle_version"] for s in result}  # noqa: E731
    wait_for(prometheus, f"{P}_model_info == 1", lambda r: versions(r) == {served.version})
    differs = query(prometheus, expressions["ServedVersionNotChampion"])
    assert [s["metric"]["bundle_version"] for s in differs] == [served.version]


def test_a_rollback_to_the_served_version_pushes_the_champion_and_the_alert_clears(
    loop, served, prometheus, pushgateway, monkeypatch
):
    """Last in this module: it moves the champion alias (the tests after it only read tags)."""
    from seldon.rollback import rollback

    monkeypatch.setenv("MLFLOW_TRACKING_URI", loop.tracking_uri)
    monkeypatch.setenv("PUSHGATEWAY_URL", pushgateway)
    expression = alert_expressions()["ServedVersionNotChampion"]
    assert query(prometheus, expression)  # serving a version that is not the champion
    previous = rollback(registry.client(), registry.MODEL_NAME, "champion", served.version, loop.tracking_uri)
    assert previous == served.champion
    wait_for(
        prometheus,
        f"{P}_registry_champion_info",
        lambda r: [s["metric"]["bundle_version"] for s in r] == [served.version],
    )
    assert query(prometheus, expression) == []


def test_the_estimate_and_score_alerts_use_monitoring_s_own_limits():
    from core.monitoring import MonitoringThresholds

    assert rules.estimated_auc_drop(CASE) == MonitoringThresholds().max_estimated_auc_drop
    assert (
        f"> {MonitoringThresholds().max_estimated_auc_drop}"
        in alert_expressions()["EstimatedPerformanceDrop"]
    )
    assert alert_expressions()["ScoreDriftSustained"].endswith(f"> {MonitoringThresholds().max_score_psi}")


def test_a_signal_a_use_case_turns_off_has_no_alert_and_a_declared_limit_is_the_alerts():
    stem = rules.alert_stem(CASE)
    quiet = replace(CASE, monitoring={"max_estimated_auc_drop": math.inf, "max_score_psi": math.inf})
    names = set(alert_rules.alerts(quiet))
    assert stem + "ModelDecay" in names
    assert not {stem + "EstimatedPerformanceDrop", stem + "ScoreDriftSustained"} & names
    strict = replace(CASE, monitoring={"max_estimated_auc_drop": 0.02, "max_score_psi": 0.15})
    expressions = {name: rule["expr"] for name, rule in alert_rules.alerts(strict).items()}
    assert expressions[stem + "EstimatedPerformanceDrop"].endswith("> 0.02")
    assert expressions[stem + "ScoreDriftSustained"].endswith("> 0.15")
