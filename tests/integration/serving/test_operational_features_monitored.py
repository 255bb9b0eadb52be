"""The operational features are monitored and explained like every other feature, on the bundles
the training workflow made: its reference and drift weights hold them, the online source's drift
measures the values the store gave (read back from the request log), and the explanations the
evaluation deck shows rank them. Each test fails if one of the five is left out."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from serving_support import request_records

from contract.bundle import load_bundle
from contract.request_log import RequestLog, request_json
from core import explanations
from core.monitoring import SOURCE_BATCH, SOURCE_ONLINE, drift_tables, online_rows
from usecases.flights.operational import OPERATIONAL_FEATURES, ORIGIN_BACKLOG, ORIGIN_RECENT_DEP_DELAY

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def june_day() -> pd.DataFrame:
    """The feature table of 2013-06-14 (the bundles' version 1 was judged on June)."""
    from usecases.flights.features import build_features
    from usecases.flights.source import load_window

    return build_features(load_window("", datetime(2013, 6, 14), datetime(2013, 6, 15))).reset_index(
        drop=True
    )


@pytest.fixture(scope="module")
def champion(bundles):
    return load_bundle(bundles["1"])


def test_the_reference_and_the_drift_weights_hold_every_operational_feature(champion):
    for name in OPERATIONAL_FEATURES:
        entry = champion.reference.features[name]
        assert len(entry.edges) > 2, name  # binned from the training values, not a constant
    weights = champion.metadata.feature_importance
    assert set(OPERATIONAL_FEATURES) <= set(weights)
    # what the model uses: the origin's recent delay is among the five heaviest drift weights
    ranked = sorted(weights, key=weights.get, reverse=True)
    assert ORIGIN_RECENT_DEP_DELAY in ranked[:5], ranked


def _log_as_served(directory, table: pd.DataFrame, scores: np.ndarray, served: pd.DataFrame) -> None:
    """The request log a server with the online store writes for `table`'s flights: the request
    carries the other features, the log the values the store gave (`served`)."""
    log = RequestLog(directory)
    records = request_records(table)
    for start in range(0, len(table), 100):
        rows = slice(start, start + 100)
        online = {
            name: [None if math.isnan(v) else float(v) for v in served[name].iloc[rows]]
            for name in OPERATIONAL_FEATURES
        }
        log.write(
            f"r{start}",
            "flights",
            "1",
            request_json({"jsonData": records[rows]}, None),
            scores[rows].tolist(),
            [0] * len(records[rows]),
            {},
            online_features=online,
        )
    log.close()


def _online_drift(champion, table: pd.DataFrame, served: pd.DataFrame, directory) -> pd.DataFrame:
    from scoring.predictor import Predictor

    scores = Predictor(champion).score_frame(table)
    _log_as_served(directory, table, scores, served)
    now = datetime.now(UTC)
    online = online_rows(str(directory), now - timedelta(hours=1), now + timedelta(hours=1))
    assert len(online) == len(table)
    weights = champion.metadata.feature_importance
    return drift_tables(champion.reference, table, pd.Series(scores), online, weights=weights).set_index(
        ["source", "feature"]
    )


def test_online_drift_measures_the_values_the_store_gave(champion, june_day, tmp_path):
    drift = _online_drift(champion, june_day, june_day[OPERATIONAL_FEATURES], tmp_path / "log")
    for name in OPERATIONAL_FEATURES:
        batch, online = drift.loc[(SOURCE_BATCH, name)], drift.loc[(SOURCE_ONLINE, name)]
        # the store gave the batch values: the online source measures exactly what batch does
        assert online["missing_rate"] == batch["missing_rate"] < 0.9, name
        assert online["psi"] == pytest.approx(batch["psi"], abs=1e-12), name


def test_online_drift_sees_a_store_that_gives_other_values(champion, june_day, tmp_path):
    served = june_day[OPERATIONAL_FEATURES].copy()
    served[ORIGIN_BACKLOG] = served[ORIGIN_BACKLOG] + 20  # every origin twenty flights behind
    drift = _online_drift(champion, june_day, served, tmp_path / "log")
    assert (
        drift.loc[(SOURCE_ONLINE, ORIGIN_BACKLOG), "psi"]
        > drift.loc[(SOURCE_BATCH, ORIGIN_BACKLOG), "psi"] + 0.2
    )
    others = [name for name in OPERATIONAL_FEATURES if name != ORIGIN_BACKLOG]
    for name in others:
        assert drift.loc[(SOURCE_ONLINE, name), "psi"] == pytest.approx(
            drift.loc[(SOURCE_BATCH, name), "psi"]
        )


def test_the_evaluation_decks_explanations_rank_the_operational_features(champion, june_day):
    from tasks.evaluation_deck import SPREAD_FEATURES, global_explanations_html

    sample = june_day.sample(300, random_state=0)
    contributions, _ = explanations.contributions_frame(champion.model, sample)
    assert set(OPERATIONAL_FEATURES) <= set(contributions.columns)
    for name in OPERATIONAL_FEATURES:
        assert contributions[name].abs().max() > 0, name  # the trees split on each of them
    top = explanations.mean_abs_contribution(contributions)["feature"].head(SPREAD_FEATURES).tolist()
    assert ORIGIN_RECENT_DEP_DELAY in top, top
    html = global_explanations_html(champion.model, june_day)
    assert f"<h4>{ORIGIN_RECENT_DEP_DELAY}</h4>" in html  # its contributions by value are shown
