"""Bundle writing and verified loading through the typed contract, on a model fitted here."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.preprocessing import FunctionTransformer

from contract.bundle import (
    COMPILED_FILE,
    METADATA_FILE,
    BundleError,
    Metadata,
    Reference,
    Schema,
    load_bundle,
    load_model,
    read_metadata,
)
from core.bundle import build_reference, build_schema, write_bundle
from core.model import Hyperparameters, fit, predict_scores
from usecases import load
from usecases.flights.schemas import CATEGORICAL_FEATURES, FEATURES, NUMERIC_FEATURES

FLIGHTS = load("flights")  # the use case of this process (MLOPS_USE_CASE unset) and these tables


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
        Metadata(name="test", version="7"),
    )
    return tmp_path / "bundle", model


def test_round_trip_predicts_the_same(bundle_dir, table):
    directory, model = bundle_dir
    bundle = load_bundle(directory)
    assert bundle.version == "7"
    np.testing.assert_array_equal(predict_scores(bundle.model, table), predict_scores(model, table))
    assert bundle.schema.names == FEATURES
    assert bundle.schema.features[0].categories == ("A", "B", "C")
    # the names the server answers and reads by are the use case's, written into the bundle
    assert bundle.schema.output.to_dict() == {
        "names": ["probability", FLIGHTS.predicted],
        "threshold": 0.35,
        "truth": FLIGHTS.label,
        "positive_class": FLIGHTS.positive_class,
        "negative_class": FLIGHTS.negative_class,
    }
    online = bundle.schema.online_store
    assert online is not None and FLIGHTS.online is not None
    assert (online.time, online.entity_names, online.features, online.horizon_minutes) == (
        FLIGHTS.online.time,
        FLIGHTS.online.entities,
        FLIGHTS.online.features,
        FLIGHTS.online.horizon_minutes,
    )
    columns = FLIGHTS.feature_schema.to_schema().columns
    assert [e.nullable for e in online.entities] == [columns[n].nullable for n in FLIGHTS.online.entities]
    assert True in [e.nullable for e in online.entities]  # a nullable entity is declared as such
    assert bundle.reference is not None
    temp = bundle.reference.features["temp"]
    assert len(temp.proportions) == len(temp.edges) + 1
    assert abs(sum(temp.proportions) - 1.0) < 1e-9
    # the typed files survive JSON both ways
    for typed, name in ((bundle.schema, "schema.json"), (bundle.reference, "reference.json")):
        assert type(typed).from_dict(json.loads((directory / name).read_text())) == typed
    assert Schema.from_dict(bundle.schema.to_dict()) == bundle.schema
    assert Reference.from_dict(bundle.reference.to_dict()) == bundle.reference
    assert Metadata.from_dict(bundle.metadata.to_dict()) == bundle.metadata
    assert bundle.metadata.compiled is not None and bundle.metadata.compiled.file == COMPILED_FILE


def test_tampered_model_is_refused(bundle_dir):
    directory, _ = bundle_dir
    data = bytearray((directory / "model.skops").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (directory / "model.skops").write_bytes(bytes(data))
    with pytest.raises(BundleError, match="does not match metadata.json model_sha256"):
        load_bundle(directory)


def test_tampered_compiled_trees_are_refused(bundle_dir):
    directory, _ = bundle_dir
    with open(directory / COMPILED_FILE, "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(BundleError, match=r"trees.treelite sha256 .* does not match metadata.json compiled"):
        load_bundle(directory)


def test_missing_file_is_named(bundle_dir):
    directory, _ = bundle_dir
    (directory / "reference.json").unlink()
    with pytest.raises(BundleError, match="has no reference.json"):
        load_bundle(directory)
    assert load_bundle(directory, require_reference=False).version == "7"


def test_a_field_outside_the_contract_is_refused_by_name(bundle_dir):
    """The old drift: one side wrote `dataset_digests`, the other read `dataset_digest`. A name
    that is not in the type fails when the file is read, naming the field."""
    directory, _ = bundle_dir
    written = json.loads((directory / METADATA_FILE).read_text())
    assert read_metadata(directory).dataset_digests == {}
    (directory / METADATA_FILE).write_text(json.dumps({**written, "dataset_digest": "abc"}))
    with pytest.raises(BundleError, match=r"metadata.json has unknown field\(s\) \['dataset_digest'\]"):
        load_bundle(directory)
    schema = json.loads((directory / "schema.json").read_text())
    del schema["output"]["threshold"]
    (directory / METADATA_FILE).write_text(json.dumps(written))
    (directory / "schema.json").write_text(json.dumps(schema))
    with pytest.raises(BundleError, match=r"schema.json output lacks required field\(s\) \['threshold'\]"):
        load_bundle(directory)


def test_an_unnamed_bundle_is_named_after_the_use_cases_model(bundle_dir, table, tmp_path):
    _directory, model = bundle_dir
    schema = build_schema(table, 0.35)
    reference = build_reference(table, predict_scores(model, table), 0.4)
    write_bundle(tmp_path / "unnamed", model, schema, reference, Metadata(version="7"))
    assert read_metadata(tmp_path / "unnamed").name == FLIGHTS.model_name


def test_metadata_types_are_what_the_server_serves(bundle_dir):
    directory, _ = bundle_dir
    metadata = dataclasses.replace(
        read_metadata(directory), dataset_digests={"training": "d1", "holdout": "d2"}
    )
    assert Metadata.from_dict(json.loads(json.dumps(metadata.to_dict()))).dataset_digests == {
        "training": "d1",
        "holdout": "d2",
    }


def test_types_outside_the_allowlist_are_refused(tmp_path):
    path = tmp_path / "model.skops"
    sio.dump(FunctionTransformer(json.loads), path)
    with pytest.raises(BundleError, match=r"outside the allowlist: \['json.loads'"):
        load_model(path)
