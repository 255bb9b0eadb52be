"""The promotion gate against a real `mlflow server`: first model, worse model, better model, and
a model trained out of order. Every registered version is a refit on training + holdout, so a
candidate is judged by its model fit before the holdout, and a champion whose refit saw the
candidate's holdout is never scored on it."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from core import registry
from core.model import Hyperparameters
from core.version_data import load_version_frames
from tasks.data import DataConfig
from tests.integration.mlflow_server import mlflow_server
from tests.support.pipeline import SMALL_AS_OF, SMALL_DATA
from workflows.reproduce import reproduce_workflow
from workflows.training import training_workflow

pytestmark = pytest.mark.slow

# A small but honest model first, so that a stronger one can beat it by the margin.
WEAK = Hyperparameters(max_iter=15, max_leaf_nodes=8, learning_rate=0.1, early_stopping=False)
# Barely moves from the base rate: no flight reaches the threshold, the sanity check fails.
DEGENERATE = Hyperparameters(max_iter=3, learning_rate=0.001, early_stopping=False)
STRONG = Hyperparameters(max_iter=60)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with mlflow_server(tmp_path_factory.mktemp("mlflow-server")) as uri:
        yield uri


# The next month: trained on February, judged on March, after a champion refit up to February.
NEXT_AS_OF = datetime(2013, 4, 1)


def train(hyperparameters: Hyperparameters, as_of: datetime = NEXT_AS_OF):
    return training_workflow(as_of=as_of, data=DataConfig(**SMALL_DATA), hyperparameters=hyperparameters)


def test_gate_sequence_on_a_real_tracking_server(server, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    name = registry.MODEL_NAME

    first = train(WEAK, SMALL_AS_OF)
    assert (first.alias, first.promoted, first.previous_champion) == ("champion", True, "")
    assert first.reasons == ["no champion yet and every sanity check passed"]
    assert registry.alias_version(name, "champion") == first.version

    worse = train(DEGENERATE)
    # rejected by a sanity check: no alias at all, the version tagged with its reasons
    assert (worse.alias, worse.promoted) == ("", False)
    assert any("flagged rate 0.000 outside" in reason for reason in worse.reasons), worse.reasons
    assert worse.sanity_failures and registry.alias_version(name, "challenger") is None
    assert registry.alias_version(name, "champion") == first.version
    tags = registry.client().get_model_version(name, worse.version).tags
    assert tags["promotion"] == "rejected" and "flagged rate" in tags["promotion_reasons"]

    better = train(STRONG)
    assert (better.alias, better.promoted, better.previous_champion) == (
        "champion",
        True,
        first.version,
    )
    # the paired interval of the gain clears the margin, and the decision says so
    assert better.gain_low > 0.002 and better.gain_low <= better.auc_gain <= better.gain_high
    assert better.auc_gain == pytest.approx(better.candidate_auc - better.champion_auc)
    assert "paired-bootstrap interval" in better.reasons[0] and "candidate wins" in better.reasons[0]
    assert registry.alias_version(name, "champion") == better.version

    # the decision and its reasons are on each candidate's run
    mlflow_client = registry.client()
    run = mlflow_client.get_run(mlflow_client.get_model_version(name, worse.version).run_id)
    assert run.data.tags["promotion"] == "rejected"
    assert "flagged rate" in run.data.tags["promotion_reasons"]
    # the registered bundle came back through the server's artifact proxy
    assert mlflow_client.get_model_version(name, better.version).source.startswith("mlflow-artifacts:")

    # the version's kept frames come back through the proxy too, checked, and rebuild its model
    kept = load_version_frames(mlflow_client, name, better.version)
    assert len(kept["training"]) > 20_000 and len(kept["holdout"]) > 20_000
    reproduction = reproduce_workflow(version=better.version)
    assert reproduction.rebuilt_sha256 == reproduction.registered_sha256

    # both windows on the version: judged on March by a model fit on February, deployed as the
    # refit on February and March; the description names both
    window = registry.version_metadata(name, better.version).training_window
    assert (window.train_start, window.train_end) == ("2013-02-01", "2013-02-28")
    assert (window.holdout_start, window.holdout_end) == ("2013-03-01", "2013-03-31")
    assert (window.fit_start, window.fit_end) == ("2013-02-01", "2013-03-31")
    description = mlflow_client.get_model_version(name, better.version).description
    assert "as of 2013-04-01: fit on 2013-02-01 to 2013-03-31" in description
    assert "fit on 2013-02-01 to 2013-02-28 and held out on 2013-03-01 to 2013-03-31" in description

    # out of order: a candidate judged on February against the champion refit up to March is
    # not compared (the champion fit those rows), and the champion stays
    late = train(replace(WEAK, random_state=7), SMALL_AS_OF)
    assert (late.alias, late.promoted, late.previous_champion) == ("challenger", False, better.version)
    assert late.reasons == [
        "the champion trained on rows up to 2013-03-31, inside the candidate's holdout from "
        "2013-02-01: not a fair comparison (models trained out of order), the champion stays"
    ]
    assert late.champion_auc == 0.0  # never scored on rows it fit
    assert registry.alias_version(name, "champion") == better.version

    # judged once: the first training run again with its cache gone (as when the gate's code
    # changed) reuses its version and returns the decision made then; no alias moves
    from flytekit.core.local_cache import LocalTaskCache

    LocalTaskCache.clear()
    again = train(WEAK, SMALL_AS_OF)
    assert again == first
    assert registry.alias_version(name, "champion") == better.version
    assert registry.alias_version(name, "challenger") == late.version

    # mid-month, facing the champion refit up to 03-31: the month holdout (03-15..04-14) would
    # judge a model fit to 03-14 against it; the holdout starts the day after the champion's last
    # fit day, so the judged model fits up to the same day and both are judged on 04-01..04-14
    mid = train(STRONG, datetime(2013, 4, 15))
    window = registry.version_metadata(name, mid.version).training_window
    assert (window.train_end, window.holdout_start, window.holdout_end) == (
        "2013-03-31",
        "2013-04-01",
        "2013-04-14",
    )
    assert mid.previous_champion == better.version and "paired-bootstrap interval" in mid.reasons[0]
