"""The model without the operational features (`Hyperparameters.operational_features=False`, the
replay's `--without-operational-features`): no tree splits on them, so whatever the online store
gives at scoring time changes no score; the default model reads them."""

from __future__ import annotations

import numpy as np

from core import model
from scripts.replay import config_of
from tests.support.tables import feature_table
from usecases.flights.operational import OPERATIONAL_FEATURES, ORIGIN_RECENT_DEP_DELAY


def _table(seed: int):
    table = feature_table(3000, seed)
    rng = np.random.default_rng(seed + 1000)  # not feature_table's stream: other values
    for name in OPERATIONAL_FEATURES:
        table[name] = rng.uniform(0, 60, len(table))
    # the origin's recent delay carries signal: a model that reads it must use it
    table["late"] = ((table["late"] == 1) | (table[ORIGIN_RECENT_DEP_DELAY] > 45)).astype(int)
    return table


def _score_change(hp: model.Hyperparameters) -> float:
    fitted = model.fit(_table(0), hp)
    scored = _table(1)
    other = scored.copy()
    other[OPERATIONAL_FEATURES] = other[OPERATIONAL_FEATURES].to_numpy()[::-1]  # other values
    return float(np.abs(model.predict_scores(fitted, scored) - model.predict_scores(fitted, other)).max())


def test_a_model_without_the_operational_features_never_reads_them():
    assert _score_change(model.Hyperparameters(max_iter=30, operational_features=False)) == 0.0


def test_the_default_model_reads_them():
    assert model.Hyperparameters().operational_features
    assert _score_change(model.Hyperparameters(max_iter=30)) > 0.1


def test_the_replay_command_line_takes_the_feature_set():
    assert config_of([]).hyperparameters.operational_features
    chosen = config_of(["--months", "2", "--without-operational-features"])
    assert not chosen.hyperparameters.operational_features and chosen.months == 2
