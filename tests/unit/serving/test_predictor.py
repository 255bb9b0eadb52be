"""The predictor: one-row (compiled) path, vectorised path, the batch task's call and the
Pipeline as trained give the same probabilities; for both encodings of the categories."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from contract.bundle import Metadata, load_bundle
from core import batch
from core.bundle import build_reference, build_schema, write_bundle
from core.model import Hyperparameters, build_pipeline, predict_scores
from scoring.parity import check_parity
from scoring.predictor import Predictor
from scoring.validation import RequestError
from tests.support.tables import feature_table
from usecases.flights.schemas import FEATURES, LABEL

PARITY = 1e-9


def _ordinal_codes_as_numbers(hp: Hyperparameters):
    """The other encoding: the same codes, treated as numbers by the trees (no native
    categorical splits)."""
    pipeline = build_pipeline(hp)
    pipeline.set_params(classify__categorical_features=None)
    return pipeline


@pytest.fixture(scope="module", params=["native categories", "ordinal codes as numbers"])
def predictor(request, tmp_path_factory) -> Predictor:
    train = feature_table(1000, 0)
    hp = Hyperparameters(max_iter=20, max_leaf_nodes=15, min_samples_leaf=20, early_stopping=False)
    model = build_pipeline(hp) if request.param == "native categories" else _ordinal_codes_as_numbers(hp)
    model.fit(train[FEATURES], train[LABEL].to_numpy())
    directory = tmp_path_factory.mktemp("bundle")
    # every feature in the request: these paths are compared on the same values (the online
    # store's join has its own tests, tests/integration/serving/test_serving_online_features.py)
    schema = dataclasses.replace(build_schema(train, hp.threshold), online_store=None)
    write_bundle(
        directory,
        model,
        schema,
        build_reference(train, predict_scores(model, train), float(train[LABEL].mean())),
        Metadata(version="1"),
    )
    return Predictor(load_bundle(directory))


@pytest.fixture(scope="module")
def holdout() -> pd.DataFrame:
    frame = feature_table(200, 1)
    frame.loc[[3, 17], "carrier"] = "ZZ"  # unknown categories: scored as missing
    frame.loc[[5], "dest"] = "NEW"
    return frame


def _records(frame: pd.DataFrame) -> list[dict]:
    records = frame[FEATURES].astype(object).where(frame[FEATURES].notna(), None).to_dict("records")
    return [
        {k: (float(v) if isinstance(v, float | np.floating) else v) for k, v in r.items()} for r in records
    ]


def test_one_row_batch_and_batch_task_match_the_pipeline(predictor, holdout):
    expected = predictor.bundle.model.predict_proba(holdout[FEATURES])[:, 1]
    records = _records(holdout)
    one_row = np.array([predictor.predict({"jsonData": record}).probability[0] for record in records])
    request = predictor.predict({"jsonData": records})
    task = batch.score_partition(predictor, holdout, predictor.threshold, "1", "r")
    assert predictor.compiled is not None and predictor.compiled_max_rows >= 1
    np.testing.assert_allclose(one_row, expected, rtol=0, atol=PARITY)
    np.testing.assert_allclose(request.probability, expected, rtol=0, atol=PARITY)
    np.testing.assert_allclose(task["score"].to_numpy(), expected, rtol=0, atol=PARITY)
    np.testing.assert_array_equal(task["predicted_late"].to_numpy(), request.predicted)
    np.testing.assert_array_equal(request.predicted, (request.probability >= predictor.threshold).astype(int))
    assert request.unknown_categories == {"carrier": 2, "dest": 1}


def test_both_scoring_paths_agree_on_the_same_matrix(predictor, holdout):
    matrix = predictor.encode({name: holdout[name].to_numpy() for name in FEATURES})
    assert matrix.shape == (len(holdout), len(FEATURES)) and matrix.dtype == np.float64
    assert np.isnan(matrix[3, 0]) and np.isnan(matrix[5, 2])  # unknown categories -> NaN
    compiled = predictor.compiled_scores(matrix)
    np.testing.assert_allclose(compiled, predictor.vectorised_scores(matrix), rtol=0, atol=PARITY)
    parity = check_parity(predictor.bundle, holdout)
    assert parity.rows == len(holdout) and parity.compiled_max_abs_diff <= PARITY


def test_encode_of_one_row_equals_encode_of_many(predictor, holdout):
    columns = {name: holdout[name].to_numpy() for name in FEATURES}
    many = predictor.encode(columns)
    for index in (0, 3, 5):
        one = predictor.encode({name: [columns[name][index]] for name in FEATURES})
        np.testing.assert_array_equal(one[0], many[index])


def test_a_bad_request_names_field_and_rule(predictor, holdout):
    record = _records(holdout)[0]
    with pytest.raises(RequestError, match="field 'temp' must be a number, got str") as caught:
        predictor.predict({"jsonData": {**record, "temp": "warm"}})
    assert (caught.value.field, caught.value.rule) == ("temp", "type")


def test_compiled_trees_give_treelites_own_numbers(predictor, holdout):
    """The lean native call (configuration built once) answers exactly like treelite's
    `gtil.predict`, for one row and for many."""
    import treelite.gtil

    matrix = predictor.encode({name: holdout[name].to_numpy() for name in FEATURES})
    trees = predictor.compiled
    for rows in (matrix[:1], matrix):
        expected = treelite.gtil.predict(trees.model, rows, nthread=1).reshape(len(rows), -1)[:, -1]
        np.testing.assert_array_equal(trees.predict(rows), expected)


def test_compiled_trees_refuse_a_matrix_of_the_wrong_width(predictor):
    with pytest.raises(ValueError, match=rf"expected rows x {len(FEATURES)} features, got shape \(1, 3\)"):
        predictor.compiled.predict(np.zeros((1, 3)))
