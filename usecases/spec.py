"""What the loop must know about a problem: one typed declaration per use case.

A use case is one package under `usecases/` whose `USE_CASE` is a `UseCase`. Everything outside
that package (contract, scoring, serving, explanations, tasks, workflows, the generic parts of
core, alert rules, dashboard, manifests) reads the declaration and names none of its columns,
its label or its metrics. `UseCase.__post_init__` checks the declaration when the package is
imported, so a bad one fails before any task runs, naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from operational.declarations import DeclarationError, EventStream, OnlineFeature, check_features
from usecases.loop_defaults import SECTIONS, override_problems
from usecases.model_defaults import BASE_HYPERPARAMETERS

if TYPE_CHECKING:
    import pandera.pandas as pa

    from operational.store import Layout


# A name becomes a registered model, an experiment, a Prometheus metric prefix and Kubernetes
# object names: lower-case letters, digits and single hyphens (a DNS label, at most 40 characters
# so that suffixes such as `-online-store` still fit in 63).
_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
MAX_NAME_CHARS = 40


class UseCaseError(ValueError):
    """A declaration that cannot work: the message names the use case and the field."""

    def __init__(self, use_case: str, field_name: str, problem: str):
        super().__init__(f"use case '{use_case}': {field_name}: {problem}")
        self.use_case = use_case
        self.field = field_name


@dataclass(frozen=True)
class OnlineFeatures:
    """The use case's online features, declared (`operational.declarations`: the rules): each
    one's entity, event-stream columns, aggregation and window, all as of
    t = a row's event time (`time`, a feature-table column a request sends, local wall clock, ISO
    8601 to the minute) - `horizon_minutes`. `stream` names the events' key and watermark,
    `event_columns` what the stream delivers. From these alone the offline columns
    (`columns`), the online store's ingestion and its one lookup are derived.
    `events(source_dir, start, end)` gives the events whose time lies in [start, end), as a feed
    would deliver them (`scripts.feed_events`; None: the use case has no replayable stream)."""

    time: str
    horizon_minutes: int
    stream: EventStream
    declared: tuple[OnlineFeature, ...]
    event_columns: tuple[str, ...]
    events: Callable[[str, datetime, datetime], pd.DataFrame] | None = None

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.declared)

    @property
    def entities(self) -> tuple[str, ...]:
        """The request fields the store is keyed by, in the order of the declarations."""
        return tuple(dict.fromkeys(f.entity for f in self.declared))

    def layout(self) -> Layout:
        """The online store's layout of these declarations (its keys, ingestion and lookup)."""
        from operational.store import Layout

        return Layout(self.declared, self.stream, self.horizon_minutes, entities=self.entities)

    def columns(
        self, events: pd.DataFrame, rows: pd.DataFrame, horizon_minutes: int | None = None
    ) -> pd.DataFrame:
        """The offline point-in-time columns of `rows` (their `time` and entities) from `events`."""
        from operational.offline import point_in_time

        horizon = self.horizon_minutes if horizon_minutes is None else horizon_minutes
        return point_in_time(self.declared, events, rows, self.time, horizon, self.stream.key)


@dataclass(frozen=True)
class UseCase:
    """One tabular problem, declared for the loop.

    Data: `load_window(source_dir, start, end)` reads the rows whose event time lies in
    [start, end) with every time-dependent column as of its prediction time (an empty
    `source_dir` means the data shipped with the use case); `raw_schema` validates them;
    `build_features(raw, known_at)` makes the feature table (`feature_schema`): one row per
    `key`, its event time `timestamp`, the features and the label, missing until known at
    `known_at` (None: a closed historical record).

    Label: `label` is 1 for `positive_class` and 0 for `negative_class`; the truth of an event is
    known `label_maturity` after its event time (a delivery's within a day, a loan's after a year).
    The loop leaves the truth of a younger event missing (`core.features.feature_table`), unless
    `label_known_early`: then the label rule itself says which outcomes are known at `known_at`
    (a parcel delivered is known at once; the maturity bounds the wait for one that never
    arrives). The holdout is the most recent labelled month at `as_of` (`labelled_until`), and
    monitoring counts the labels pending and decides on drift until they arrive.
    `data_start`: when the data shipped with the use case begins; a maturity that leaves no
    labelled month to train on at a demo date fails at load.
    """

    name: str
    title: str  # one line: what is predicted, for the README, decks and the server's metadata
    model_name: str  # the registered model (MLflow); the experiment takes the same name
    load_window: Callable[[str, datetime, datetime], pd.DataFrame]
    raw_schema: type[pa.DataFrameModel]
    feature_schema: type[pa.DataFrameModel]
    build_features: Callable[[pd.DataFrame, datetime | None], pd.DataFrame]
    key: str
    timestamp: str
    label: str
    positive_class: str
    negative_class: str
    label_maturity: timedelta
    categorical_features: tuple[str, ...]
    numeric_features: tuple[str, ...]
    slices: tuple[str, ...]
    threshold: float
    package_dir: Path  # the use case's folder: sample request, fixtures, docs page
    online: OnlineFeatures | None = None
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)  # overrides of Hyperparameters' defaults
    # Overrides of the loop's monitoring thresholds and promotion gate (`usecases.loop_defaults`:
    # the base values, the default use case's), chosen on the use case's own months by replaying the
    # loop (`make replay-thresholds`, `make replay-trials`).
    monitoring: Mapping[str, Any] = field(default_factory=dict)
    gate: Mapping[str, Any] = field(default_factory=dict)
    # The whole days before each daily monitoring run that it judges (the launch plan's window and
    # the daily replay's): enough events for `min_performance_rows` labelled ones, or realized
    # performance is never judged.
    monitoring_days: int = 7
    demo_as_of: tuple[datetime, ...] = ()
    description: Mapping[str, str] = field(default_factory=dict)  # feature -> what it means
    label_known_early: bool = False
    data_start: datetime | None = None

    def __post_init__(self) -> None:
        check(self)

    # Names that follow from `name`.
    @property
    def metric_prefix(self) -> str:
        return self.name.replace("-", "_")

    @property
    def experiment(self) -> str:
        return self.model_name

    @property
    def predicted(self) -> str:
        """The output flag: 1 when the probability reaches the threshold."""
        return f"predicted_{self.positive_class.replace(' ', '_')}"

    @property
    def features(self) -> tuple[str, ...]:
        return (*self.categorical_features, *self.numeric_features)

    @property
    def sample_request(self) -> Path:
        return self.package_dir / "sample_request.json"

    @property
    def fixtures(self) -> Path:
        return self.package_dir / "fixtures"


MAX_MONITORING_DAYS = 92  # a quarter: a longer window would see a decay months late

_REQUIRED_TEXT = (
    "name",
    "title",
    "model_name",
    "key",
    "timestamp",
    "label",
    "positive_class",
    "negative_class",
)


def check(case: UseCase) -> None:
    """Every rule a declaration must meet; the first broken one raises `UseCaseError`."""
    who = case.name if isinstance(case.name, str) and case.name else "?"
    for name in _REQUIRED_TEXT:
        value = getattr(case, name)
        if not isinstance(value, str) or not value.strip():
            raise UseCaseError(who, name, "required: a non-empty string")
    if not _NAME.fullmatch(case.name) or len(case.name) > MAX_NAME_CHARS:
        raise UseCaseError(
            who,
            "name",
            f"'{case.name}' must be lower-case letters, digits and single hyphens, "
            f"start with a letter, at most {MAX_NAME_CHARS} characters",
        )
    for name in ("load_window", "build_features"):
        if not callable(getattr(case, name)):
            raise UseCaseError(who, name, "required: a function")
    for name in ("raw_schema", "feature_schema"):
        if not _is_schema(getattr(case, name)):
            raise UseCaseError(who, name, "required: a pandera DataFrameModel class")
    if not isinstance(case.label_maturity, timedelta) or case.label_maturity < timedelta(0):
        raise UseCaseError(who, "label_maturity", "required: a timedelta of zero or more")
    if not isinstance(case.label_known_early, bool):
        raise UseCaseError(who, "label_known_early", "True or False")
    if case.data_start is not None and not isinstance(case.data_start, datetime):
        raise UseCaseError(who, "data_start", "a datetime, or None")
    if case.data_start is not None:
        for as_of in case.demo_as_of:
            problem = unlabelled_window(as_of, case.label_maturity, case.data_start)
            if problem:
                raise UseCaseError(who, "label_maturity", problem)
    if not case.numeric_features and not case.categorical_features:
        raise UseCaseError(who, "features", "declare at least one categorical or numeric feature")

    columns = _columns(case.feature_schema)
    for name in ("key", "timestamp", "label"):
        if getattr(case, name) not in columns:
            raise UseCaseError(who, name, f"'{getattr(case, name)}' is not a column of the feature schema")
    for group in ("categorical_features", "numeric_features", "slices"):
        unknown = [c for c in getattr(case, group) if c not in columns]
        if unknown:
            raise UseCaseError(who, group, f"{unknown} not in the feature schema")
    both = set(case.categorical_features) & set(case.numeric_features)
    if both:
        raise UseCaseError(who, "features", f"{sorted(both)} declared both categorical and numeric")
    reserved = {case.key, case.timestamp, case.label} & set(case.features)
    if reserved:
        raise UseCaseError(
            who, "features", f"{sorted(reserved)} is the key, timestamp or label, not a feature"
        )
    _check_binary_label(case, who)
    if not 0.0 < float(case.threshold) < 1.0:
        raise UseCaseError(who, "threshold", f"{case.threshold} must lie strictly between 0 and 1")
    if case.online is not None:
        _check_online(case, who, columns)
    if not Path(case.package_dir).is_dir():
        raise UseCaseError(who, "package_dir", f"{case.package_dir} is not a directory")
    _check_overrides(case, who)


def _check_overrides(case: UseCase, who: str) -> None:
    """The use case's overrides of the model's hyperparameters, the monitoring thresholds and the
    gate name settings that exist, with values of their type; its monitoring window is whole days."""
    unknown_params = sorted(set(case.hyperparameters) - set(BASE_HYPERPARAMETERS))
    if unknown_params:
        raise UseCaseError(who, "hyperparameters", f"{unknown_params} are not hyperparameters of the model")
    for section in SECTIONS:
        problems = override_problems(section, dict(getattr(case, section)))
        if problems:
            raise UseCaseError(who, section, "; ".join(problems))
    days = case.monitoring_days
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_MONITORING_DAYS:
        raise UseCaseError(
            who, "monitoring_days", f"{days!r} is not a whole number of days from 1 to {MAX_MONITORING_DAYS}"
        )


def labelled_until(as_of: datetime, label_maturity: timedelta) -> pd.Timestamp:
    """The end of the most recent labelled month at `as_of`: the month boundary, counted back from
    `as_of`'s date in whole months, whose month before it is at least half older than
    `label_maturity` (its younger events have no truth yet and are left out). A maturity of a day
    keeps `as_of` itself; 45 days at 2013-07-01 gives 2013-06-01 (May, labelled up to the 17th)."""
    end = pd.Timestamp(as_of)
    end = (end.tz_localize(None) if end.tzinfo is not None else end).normalize()
    horizon = end - pd.Timedelta(label_maturity)
    months = 0
    while True:
        boundary = end - pd.DateOffset(months=months)
        previous = end - pd.DateOffset(months=months + 1)
        if horizon >= previous + (boundary - previous) / 2:
            return boundary
        months += 1


def span(duration: timedelta) -> str:
    """`45 days`, `24 hours`, `90 minutes`: a maturity as a person says it."""
    seconds = int(duration.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return str(duration)


def unlabelled_window(as_of: datetime, label_maturity: timedelta, data_start: datetime) -> str:
    """Why `label_maturity` leaves no labelled month to hold out and at least one before it to
    train on at `as_of`, when the data begins at `data_start`; empty when it does not."""
    holdout_end = labelled_until(as_of, label_maturity)
    holdout_start = holdout_end - pd.DateOffset(months=1)
    if holdout_start - pd.DateOffset(months=1) >= pd.Timestamp(data_start):
        return ""
    return (
        f"{span(label_maturity)} leaves no labelled month to train on at as_of {as_of:%Y-%m-%d}: "
        f"the holdout would be {holdout_start:%Y-%m-%d} to {holdout_end:%Y-%m-%d} and the data "
        f"starts {data_start:%Y-%m-%d}"
    )


def _is_schema(value: object) -> bool:
    import pandera.pandas as pa

    return isinstance(value, type) and issubclass(value, pa.DataFrameModel)


def _columns(schema: Any) -> dict:
    return dict(schema.to_schema().columns)


def _check_binary_label(case: UseCase, who: str) -> None:
    """The label column must allow exactly 0 and 1 (and be nullable: missing until known)."""
    column = _columns(case.feature_schema)[case.label]
    allowed = None
    for rule in column.checks:
        if "allowed_values" in rule.statistics:
            allowed = set(rule.statistics["allowed_values"])
    if allowed != {0, 1}:
        raise UseCaseError(
            who, "label", f"'{case.label}' must be binary: its schema field needs isin=[0, 1] (has {allowed})"
        )
    if not column.nullable:
        raise UseCaseError(who, "label", f"'{case.label}' must be nullable: the truth is missing until known")


def _check_online(case: UseCase, who: str, columns: dict) -> None:
    online = case.online
    assert online is not None
    if not isinstance(online.declared, tuple) or not all(
        isinstance(f, OnlineFeature) for f in online.declared
    ):
        raise UseCaseError(who, "online.declared", "a tuple of OnlineFeature declarations")
    try:
        check_features(online.declared, online.stream, online.event_columns)
    except DeclarationError as error:
        raise UseCaseError(who, "online", str(error)) from None
    unknown = [f for f in online.features if f not in case.numeric_features]
    if unknown:
        raise UseCaseError(who, "online.features", f"{unknown} are not numeric features of the use case")
    if not 0 <= int(online.horizon_minutes) <= 366 * 24 * 60:
        raise UseCaseError(who, "online.horizon_minutes", f"{online.horizon_minutes} must be in [0, 1 year]")
    for name in (online.time, *online.entities):
        if name not in columns:
            raise UseCaseError(who, "online", f"request key '{name}' is not a column of the feature schema")
    if online.events is not None and not callable(online.events):
        raise UseCaseError(who, "online.events", "a function (source_dir, start, end) -> events, or None")
