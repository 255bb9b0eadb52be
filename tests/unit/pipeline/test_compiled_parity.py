"""Registration refuses a bundle whose compiled trees do not reproduce the Pipeline."""

from __future__ import annotations

import dataclasses

import pytest

from contract.bundle import COMPILED_FILE, Metadata, read_metadata, sha256_file, write_metadata
from core.bundle import build_reference, build_schema, write_bundle
from core.evaluation import EvaluationMetrics
from core.model import Hyperparameters, fit, predict_scores
from scoring.compiled import write_compiled
from scoring.parity import CompiledParityError, check_parity
from tests.support.tables import feature_table
from usecases.flights.schemas import LABEL

HP = Hyperparameters(max_iter=15, max_leaf_nodes=15, min_samples_leaf=20, early_stopping=False)


def write_good_bundle(directory, seed: int = 0):
    train = feature_table(800, seed)
    model = fit(train, HP)
    write_bundle(
        directory,
        model,
        build_schema(train, HP.threshold),
        build_reference(train, predict_scores(model, train), float(train[LABEL].mean())),
        Metadata(),
    )
    return directory


def test_a_good_bundle_walks_the_scikit_learn_trees_once(tmp_path, monkeypatch):
    """The Pipeline's pass and the compiled pass; the vectorised path is the same classifier on
    the same matrix, so its scores are the Pipeline's without walking the trees a third time."""
    from contract.bundle import load_bundle

    bundle = load_bundle(write_good_bundle(tmp_path / "bundle"))
    classifier, walks = bundle.model[-1], []
    predict_proba = classifier.predict_proba
    monkeypatch.setattr(classifier, "predict_proba", lambda X: walks.append(len(X)) or predict_proba(X))
    parity = check_parity(bundle, feature_table(200, 1))
    assert walks == [200]
    assert (
        parity.rows == 200 and parity.compiled_max_abs_diff <= 1e-9 and parity.vectorised_max_abs_diff == 0.0
    )


def test_an_encoding_that_is_not_the_pipelines_is_refused(tmp_path, monkeypatch):
    from contract.bundle import load_bundle
    from scoring.predictor import Predictor

    bundle = load_bundle(write_good_bundle(tmp_path / "bundle"))
    encode = Predictor.encode

    def shifted(self, columns):  # every category one code further along
        matrix = encode(self, columns)
        matrix[:, 0] += 1.0
        return matrix

    monkeypatch.setattr(Predictor, "encode", shifted)
    with pytest.raises(CompiledParityError, match=r"path differs from the Pipeline's probabilities"):
        check_parity(bundle, feature_table(200, 1))


@pytest.fixture
def broken_bundle(tmp_path):
    """A bundle whose trees.treelite was compiled from another model, its sha256 updated to
    match: the files are consistent, only the numbers are wrong."""
    directory = write_good_bundle(tmp_path / "bundle")
    other = fit(feature_table(800, 7), HP)
    write_compiled(other[-1], directory / COMPILED_FILE)
    metadata = read_metadata(directory)
    compiled = dataclasses.replace(metadata.compiled, sha256=sha256_file(directory / COMPILED_FILE))
    write_metadata(directory, dataclasses.replace(metadata, compiled=compiled))
    return directory, feature_table(800, 0), feature_table(200, 1)


def test_parity_check_names_the_path_and_the_difference(broken_bundle):
    from contract.bundle import load_bundle

    directory, _, holdout = broken_bundle
    with pytest.raises(CompiledParityError, match=r"the compiled path differs .* on 200 holdout rows"):
        check_parity(load_bundle(directory), holdout)


def test_registration_fails_and_registers_nothing(broken_bundle, fresh_store):
    from flytekit.types.directory import FlyteDirectory

    from core import registry
    from tasks.training import register_model

    directory, train, holdout = broken_bundle
    with pytest.raises(Exception) as caught:
        register_model(
            tracking_uri=registry.paths.tracking_uri(),
            bundle=FlyteDirectory(str(directory)),
            train=train,
            holdout=holdout,
            metrics=EvaluationMetrics(),
            hyperparameters=HP,
            as_of="2013-07-01",
            figures=FlyteDirectory(str(directory.parent)),
        )
    chain, error = [], caught.value
    while error is not None:
        chain.append(error)
        error = error.__cause__ or error.__context__
    assert any(isinstance(e, CompiledParityError) for e in chain), chain
    assert registry.alias_version(registry.MODEL_NAME, "champion") is None
    assert registry.find_version_by_sha(registry.MODEL_NAME, read_metadata(directory).model_sha256) is None
