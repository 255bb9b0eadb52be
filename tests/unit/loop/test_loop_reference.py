"""The score's drift baseline is the judged model's scores on its holdout, never scores of rows a
model fit (in-sample scores are more confident than anything the model will see in production);
the bundle carries the refit model, fit on training + holdout."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
import skops.io as sio
from sklearn.metrics import roc_auc_score

from core.bundle import build_reference
from core.features import split_by_time
from core.model import Hyperparameters, fit, predict_scores, refit
from usecases.flights.features import build_features
from usecases.flights.source import load_window


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    from flytekit.types.file import FlyteFile

    from tasks.training import evaluate_model

    table = build_features(
        load_window("", datetime(2013, 1, 1), datetime(2013, 1, 10)), datetime(2013, 1, 10)
    )
    train, holdout = split_by_time(table, datetime(2013, 1, 8))
    hp = Hyperparameters(max_iter=15, max_leaf_nodes=15, min_samples_leaf=5, early_stopping=False)
    model = fit(train, hp)
    deployed = refit(pd.concat([train, holdout], ignore_index=True), hp, model)
    folder = tmp_path_factory.mktemp("model")
    sio.dump(model, folder / "judged.skops")
    sio.dump(deployed, folder / "deployed.skops")
    outputs = evaluate_model(
        model_file=FlyteFile(str(folder / "judged.skops")),
        deployed_model_file=FlyteFile(str(folder / "deployed.skops")),
        train=train,
        holdout=holdout,
        hyperparameters=hp,
    )
    return model, train, holdout, Path(outputs.bundle.download())


def test_score_reference_is_the_holdout_score_distribution(evaluated):
    model, train, holdout, bundle = evaluated
    reference = json.loads((bundle / "reference.json").read_text())
    holdout_scores = predict_scores(model, holdout)
    known = pd.concat([train, holdout], ignore_index=True)
    expected = build_reference(known, holdout_scores, 0.0).to_dict()["score"]
    assert reference["score"] == expected
    in_sample = build_reference(train, predict_scores(model, train), 0.0).to_dict()["score"]
    assert reference["score"]["mean"] != pytest.approx(in_sample["mean"], abs=1e-6)


def test_the_bundle_holds_the_refit_and_names_both_windows(evaluated):
    model, train, holdout, bundle = evaluated
    from contract.bundle import load_bundle

    loaded = load_bundle(bundle, require_reference=False)
    known = pd.concat([train, holdout], ignore_index=True)
    # the refit scores the holdout it fit differently from the judged model, which never saw it
    assert predict_scores(loaded.model, holdout) != pytest.approx(predict_scores(model, holdout), abs=1e-6)
    window = loaded.metadata.training_window
    assert (window.train_start, window.train_end) == ("2013-01-01", "2013-01-07")
    assert (window.holdout_start, window.holdout_end) == ("2013-01-08", "2013-01-09")
    assert (window.fit_start, window.fit_end) == ("2013-01-01", "2013-01-09")
    assert loaded.metadata.metrics["roc_auc"] == pytest.approx(
        roc_auc_score(holdout["late"].astype(int), predict_scores(model, holdout))
    )
    assert loaded.model[-1].n_iter_ == model[-1].n_iter_
    assert len(known) > len(train)
