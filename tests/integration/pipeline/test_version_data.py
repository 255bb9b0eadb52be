"""A registered version keeps its exact frames, refuses them changed, and rebuilds byte for byte
after the source directory it was trained from has changed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core import registry
from core.features import month_window, split_by_time
from core.model import Hyperparameters
from core.version_data import VersionDataError, artifact_path, load_version_frames
from tasks.data import DataConfig
from tests.support.pipeline import SMALL_AS_OF
from usecases.flights.features import build_features
from usecases.flights.source import default_source, load_window, read_table
from workflows.reproduce import reproduce_workflow
from workflows.training import training_workflow

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def version(tmp_path_factory):
    """One version trained on January 2013 (February held out) of a source directory of its
    own, in a store of its own: (version, source directory, the frames the training saw)."""
    root = tmp_path_factory.mktemp("version-data")
    patch = pytest.MonkeyPatch()
    patch.setenv("MLOPS_DATA_DIR", str(root / "mlops"))
    patch.delenv("MLFLOW_TRACKING_URI", raising=False)
    source = root / "source"
    source.mkdir()
    flights = read_table(default_source(), "flights")
    flights[flights["month"] <= 2].to_parquet(source / "flights.parquet", index=False)
    for name in ("weather", "planes"):
        read_table(default_source(), name).to_parquet(source / f"{name}.parquet", index=False)
    data = DataConfig(source_dir=str(source), train_months=1, holdout_months=1)
    window = month_window(SMALL_AS_OF, data.train_months, data.holdout_months)
    table = build_features(load_window(str(source), window.train_start, window.end), window.end)
    seen = dict(zip(("training", "holdout"), split_by_time(table, window.holdout_start), strict=True))
    decision = training_workflow(as_of=SMALL_AS_OF, data=data, hyperparameters=Hyperparameters(max_iter=30))
    yield decision.version, source, seen
    patch.undo()


def test_the_version_keeps_the_exact_frames_it_was_trained_and_judged_on(version):
    number, _, seen = version
    kept = load_version_frames(registry.client(), registry.MODEL_NAME, number)
    for context in ("training", "holdout"):
        # the tasks pass frames through Flyte's parquet, which keeps timestamps to the microsecond
        unit = kept[context]["sched_dep"].dtype
        pd.testing.assert_frame_equal(kept[context], seen[context].astype({"sched_dep": unit}))
    run_id = registry.client().get_model_version(registry.MODEL_NAME, number).run_id
    inputs = registry.client().get_run(run_id).inputs.dataset_inputs
    tags = [{tag.key: tag.value for tag in entry.tags} for entry in inputs]
    assert sorted(tag["artifact_path"] for tag in tags) == ["data/holdout.parquet", "data/training.parquet"]


def test_reproduce_rebuilds_the_model_file_after_the_source_changed(version):
    number, source, _ = version
    flights = pd.read_parquet(source / "flights.parquet")
    flights.assign(arr_delay=flights["arr_delay"] + 30).to_parquet(source / "flights.parquet", index=False)
    (source / "weather.parquet").unlink()
    reproduction = reproduce_workflow(version=number)
    registered = registry.client().get_model_version(registry.MODEL_NAME, number).tags["model_sha256"]
    assert reproduction.rebuilt_sha256 == reproduction.registered_sha256 == registered
    assert reproduction.training_rows > 20_000 and reproduction.holdout_rows > 20_000


def test_a_frame_changed_after_registration_is_refused_naming_it(version):
    number, _, seen = version
    run_id = registry.client().get_model_version(registry.MODEL_NAME, number).run_id
    artifacts = Path(registry.client().get_run(run_id).info.artifact_uri.removeprefix("file://"))
    seen["training"].head(100).to_parquet(artifacts / artifact_path("training"), index=False)
    with pytest.raises(VersionDataError, match="version 1's training frame .* changed after registration"):
        load_version_frames(registry.client(), registry.MODEL_NAME, number)
    with pytest.raises(Exception, match="changed after registration"):
        reproduce_workflow(version=number)
