"""The score's drift baseline is the model's scores on its holdout, never on its own training rows
(in-sample scores are more confident than anything the model will see in production)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import skops.io as sio

from core.bundle import build_reference
from core.features import build_features, split_by_time
from core.model import Hyperparameters, fit, predict_scores
from core.source import load_window


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
    path = tmp_path_factory.mktemp("model") / "model.skops"
    sio.dump(model, path)
    outputs = evaluate_model(
        model_file=FlyteFile(str(path)), train=train, holdout=holdout, hyperparameters=hp
    )
    return model, train, holdout, Path(outputs.bundle.download())


def test_score_reference_is_the_holdout_score_distribution(evaluated):
    model, train, holdout, bundle = evaluated
    reference = json.loads((bundle / "reference.json").read_text())
    holdout_scores = predict_scores(model, holdout)
    expected = build_reference(train, holdout_scores, 0.0).to_dict()["score"]
    assert reference["score"] == expected
    in_sample = build_reference(train, predict_scores(model, train), 0.0).to_dict()["score"]
    assert reference["score"]["mean"] != pytest.approx(in_sample["mean"], abs=1e-6)
