"""What monitoring reads of its own past runs (core.monitoring_run.judged_ok_since): whether a
window was judged ok, with decay judged, since the last training, in a real MLflow store."""

from __future__ import annotations

import pandas as pd

from core.monitoring import DECAY, OK, MonitoringReport, MonitoringThresholds, log_to_mlflow
from core.monitoring_run import judged_ok_since

DRIFT_ROWS = pd.DataFrame([{"feature": "score", "psi": 0.01, "source": "batch"}])


def _logged(decision: str, period_end: str, labelled_rows: int, thresholds) -> None:
    report = MonitoringReport(
        decision=decision, period_start="2013-07-01", period_end=period_end, labelled_rows=labelled_rows
    )
    log_to_mlflow(report, DRIFT_ROWS, thresholds)


def test_an_ok_window_with_decay_judged_after_the_training_day_is_what_counts(fresh_store):
    thresholds = MonitoringThresholds(min_performance_rows=2000)
    assert not judged_ok_since("2013-07-10", thresholds)  # nothing monitored yet
    _logged(OK, "2013-07-12", 900, thresholds)  # too few labels to judge decay
    _logged(DECAY, "2013-07-14", 5000, thresholds)
    assert not judged_ok_since("2013-07-10", thresholds)
    _logged(OK, "2013-07-16", 5000, thresholds)
    assert judged_ok_since("2013-07-10", thresholds)
    assert judged_ok_since("2013-07-15", thresholds)
    assert not judged_ok_since("2013-07-16", thresholds)  # the window the training was asked on


def _version(fit_end: str, promotion: str) -> str:
    """A registered version whose run holds only its metadata.json, tagged as the gate tags it."""
    import json

    import mlflow

    import usecases
    from contract.bundle import METADATA_FILE, Metadata, TrainingWindow
    from core import registry

    name = usecases.current().model_name
    client = registry.client()
    if not client.search_registered_models(f"name = '{name}'"):
        client.create_registered_model(name)
    metadata = Metadata(name=name, training_window=TrainingWindow(fit_start="2013-01-01", fit_end=fit_end))
    with mlflow.start_run(experiment_id=registry.experiment_id()) as run:
        mlflow.log_text(json.dumps(metadata.to_dict()), f"{registry.BUNDLE_ARTIFACT_DIR}/{METADATA_FILE}")
    version = client.create_model_version(
        name, f"{run.info.artifact_uri}/{registry.BUNDLE_ARTIFACT_DIR}", run_id=run.info.run_id
    )
    client.set_model_version_tag(name, version.version, "promotion", promotion)
    return str(version.version)


def test_a_rejected_candidate_counts_as_the_last_training_as_a_challenger_does(fresh_store):
    """The daily replay counts a rejected retrain as trained (the next retrain waits for new
    labels); production reads the same from the registry."""
    import usecases
    from contract.names import CHALLENGER
    from core import registry
    from core.monitoring_run import kept_out_trained_until

    assert kept_out_trained_until() == ""  # no model registered yet
    challenger = _version("2013-07-09", CHALLENGER)
    registry.set_alias(usecases.current().model_name, CHALLENGER, challenger)
    assert kept_out_trained_until() == "2013-07-09"
    _version("2013-07-16", "rejected")
    assert kept_out_trained_until() == "2013-07-16"
