"""Bundle writing and verified loading, on a model fitted here on a tiny frame."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.preprocessing import FunctionTransformer

from core.bundle import build_reference, build_schema, write_bundle
from core.model import Hyperparameters, fit, predict_scores
from core.schemas import CATEGORICAL_FEATURES, FEATURES, NUMERIC_FEATURES
from seldon.bundle import BundleError, load_bundle, load_model


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 600
    frame = pd.DataFrame({name: rng.uniform(1, 20, n) for name in NUMERIC_FEATURES})
    for name in CATEGORICAL_FEATURES:
        frame[name] = rng.choice(["A", "B", "C"], n)
    frame["late"] = (frame["temp"] + rng.normal(0, 3, n) > 12).astype(int)
    return frame


@pytest.fixture
def bundle_dir(table, tmp_path):
    model = fit(table, Hyperparameters(max_iter=10, early_stopping=False))
    scores = predict_scores(model, table)
    write_bundle(
        tmp_path / "bundle",
        model,
        build_schema(table, 0.35),
        build_reference(table, scores, 0.4),
        {"name": "test", "version": "7"},
    )
    return tmp_path / "bundle", model


def test_round_trip_predicts_the_same(bundle_dir, table):
    directory, model = bundle_dir
    bundle = load_bundle(directory)
    assert bundle.version == "7"
    np.testing.assert_array_equal(predict_scores(bundle.model, table), predict_scores(model, table))
    assert [f["name"] for f in bundle.schema["features"]] == FEATURES
    assert bundle.schema["features"][0]["categories"] == ["A", "B", "C"]
    assert bundle.schema["output"] == {"names": ["probability", "late"], "threshold": 0.35}
    temp = bundle.reference["features"]["temp"]
    assert len(temp["proportions"]) == len(temp["edges"]) + 1
    assert abs(sum(temp["proportions"]) - 1.0) < 1e-9


def test_tampered_model_is_refused(bundle_dir):
    directory, _ = bundle_dir
    data = bytearray((directory / "model.skops").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (directory / "model.skops").write_bytes(bytes(data))
    with pytest.raises(BundleError, match="does not match metadata.json model_sha256"):
        load_bundle(directory)


def test_missing_file_is_named(bundle_dir):
    directory, _ = bundle_dir
    (directory / "reference.json").unlink()
    with pytest.raises(BundleError, match="has no reference.json"):
        load_bundle(directory)
    assert load_bundle(directory, require_reference=False).version == "7"


def test_types_outside_the_allowlist_are_refused(tmp_path):
    path = tmp_path / "model.skops"
    sio.dump(FunctionTransformer(json.loads), path)
    with pytest.raises(BundleError, match=r"outside the allowlist: \['json.loads'"):
        load_model(path)
