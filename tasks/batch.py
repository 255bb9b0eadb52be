"""Batch inference tasks: resolve the model version, cut the period into days, score each day
(the mapped task), collect the predictions with a deck."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NamedTuple

import flytekit
from flytekit import HashMethod, Resources
from flytekit.types.directory import FlyteDirectory
from pandera.typing import DataFrame

from core.batch import PredictionTable
from tasks.frames import USE_CASE, FeatureFrame, RawFrame, hash_frame
from tasks.util import Service, pipeline_task

if TYPE_CHECKING:
    from scoring.predictor import Predictor

SCORE_RESOURCES = Resources(cpu="1", mem="1Gi")

PredictionFrame = Annotated[DataFrame[PredictionTable], HashMethod(hash_frame)]


@dataclass
class ModelRef:
    """The registered version a batch is scored with: what every prediction row names."""

    model_name: str = ""
    version: str = ""
    run_id: str = ""
    model_sha256: str = ""
    threshold: float = 0.5


class ResolvedModel(NamedTuple):
    model: ModelRef
    bundle: FlyteDirectory


@pipeline_task(cache=False, calls=[Service.TRACKING])
def resolve_model(tracking_uri: str, model_name: str, version: str) -> ResolvedModel:
    """`version`, or the `champion` alias when it is empty, and its bundle.

    Not cached on purpose: the alias moves, and the answer must be today's champion."""
    from contract.bundle import read_metadata, read_schema
    from contract.names import CHAMPION
    from core import registry

    chosen = version or registry.alias_version(model_name, CHAMPION)
    if not chosen:
        raise ValueError(
            f"model '{model_name}' has no '{CHAMPION}' alias in {tracking_uri}: "
            "train one first or pass a version"
        )
    directory = Path(flytekit.current_context().working_directory) / f"bundle-{chosen}"
    path = registry.download_bundle(model_name, chosen, directory)
    metadata = read_metadata(path)
    ref = ModelRef(
        model_name=model_name,
        version=str(chosen),
        run_id=metadata.run_id,
        model_sha256=metadata.model_sha256,
        threshold=read_schema(path).threshold,
    )
    return ResolvedModel(model=ref, bundle=FlyteDirectory(str(path)))


@pipeline_task(cache=True, requests=SCORE_RESOURCES)
def period_features(raw: RawFrame, known_at: datetime) -> FeatureFrame:
    """The feature table of the period to score or monitor: the same `build_features` as
    training, truth as known at `known_at`, without the data deck (the batch deck describes the
    period)."""
    from core.features import feature_table

    return feature_table(USE_CASE, raw, known_at)


@pipeline_task(cache=True)
def split_days(table: FeatureFrame, days_per_partition: int) -> list[FeatureFrame]:
    """Partitions of `days_per_partition` calendar days: the unit a map task fans out over."""
    from core.batch import day_partitions

    if table.empty:
        raise ValueError("the period holds no rows: nothing to score")
    return day_partitions(table, days_per_partition)


_PREDICTORS: dict[str, Predictor] = {}


def _predictor(directory: FlyteDirectory, sha256: str) -> Predictor:
    """Load a bundle's predictor once per process (a local run scores every day in one process)."""
    from contract.bundle import load_bundle
    from scoring.predictor import Predictor

    if sha256 not in _PREDICTORS:
        _PREDICTORS[sha256] = Predictor(load_bundle(directory.download(), require_reference=False))
    return _PREDICTORS[sha256]


@pipeline_task(
    cache=True,
    # The bundle's location changes with every resolve; the version and sha256 in `model` say
    # which model it is, so they (and the partition's content hash) key the cache.
    ignored_inputs=("bundle",),
    requests=SCORE_RESOURCES,
)
def score_partition(
    partition: FeatureFrame, model: ModelRef, bundle: FlyteDirectory, reasons: bool = False
) -> PredictionFrame:
    """Score one day with the resolved version; every row names the version and its run, and,
    with `reasons`, the three features that moved its score most (exact contributions)."""
    from threadpoolctl import threadpool_limits

    from core.batch import score_partition as score

    loaded = _predictor(bundle, model.model_sha256)
    if loaded.bundle.metadata.model_sha256 != model.model_sha256:
        raise ValueError(f"bundle {bundle.path} is not version {model.version} (sha256 differs)")
    # One OpenMP thread: the task asks for one CPU, and the trees' per-call thread wake-ups cost
    # more than they save on a day's few hundred rows (measured: docs/performance.md).
    with threadpool_limits(limits=1):
        scored = score(loaded, partition, model.threshold, model.version, model.run_id)
    if reasons:
        from core.explanations import with_top_reasons

        scored = with_top_reasons(scored, loaded.bundle.model, partition)
    return scored


@pipeline_task(cache=True, deck=True)
def collect_predictions(parts: list[PredictionFrame], model: ModelRef) -> PredictionFrame:
    """All partitions in time order, and the batch deck: volume, score distribution, positive
    rate by day and by slice."""
    from core.batch import combine
    from tasks.batch_deck import render_batch_deck

    predictions = combine(parts)
    render_batch_deck(predictions, model.version)
    return predictions


class Period(NamedTuple):
    start: datetime
    end: datetime


@pipeline_task(cache=True)
def days_from(kickoff: datetime, days: int, before: bool) -> Period:
    """Whole days: the `days` starting on the kickoff's date, or (`before`) the `days` just
    before it. What a daily schedule works on."""
    from datetime import timedelta

    day = datetime(kickoff.year, kickoff.month, kickoff.day)
    first = day - timedelta(days=days) if before else day
    return Period(start=first, end=first + timedelta(days=days))
