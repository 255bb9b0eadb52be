"""An online feature, declared once: the entity it is keyed by, the event stream it reads, the
aggregation, the window and the as-of rule. The offline columns (`operational.offline`), the
store's ingestion, its one lookup and the decode (`operational.store`) are all derived from these
declarations; a use case writes no pandas, Redis or decode code for an online feature.

The as-of rule is the same for every feature of a use case: a row's features are as of
t = its own event time - `horizon_minutes`, and an event enters only if its `time` is at or before
t. On top of it a declaration may narrow the events (each rule is applied the same way offline and
online):

  window_minutes  events whose `time` lies in (t - window, t]
  before_own      an entity-scoped ordering rule: events whose `before_own` time is strictly before
                  the row's own event time (an entity's events count only when ordered before
                  the row's own, so a row never sees itself)
  same_day        events whose `same_day` time falls on the row's own calendar day (the entity's
                  events of that day; the store keeps them under a key of that day)
  until           events still open at t: their `until` time is missing or after t (scheduled
                  and not yet departed by t)

Aggregations: count, sum, mean, max, min and last of a `value` column (events whose value is
missing are skipped, as pandas does), and time_since_last (minutes from the latest event to t).
"last" and "time_since_last" order events by `time`, then `before_own`, then the stream's key.
A count or sum with no event is 0; a mean, max, min, last or time since last with none is missing,
and so is every feature of a row whose entity is missing.

Imports only the standard library: the serving image reads these from the bundle's schema.json.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

COUNT, SUM, MEAN, MAX, MIN, LAST, TIME_SINCE_LAST = (
    "count",
    "sum",
    "mean",
    "max",
    "min",
    "last",
    "time_since_last",
)
AGGREGATIONS = (COUNT, SUM, MEAN, MAX, MIN, LAST, TIME_SINCE_LAST)
# The aggregations that read the `value` column (the others count events or read their time).
OF_VALUE = (SUM, MEAN, MAX, MIN, LAST)
# A window longer than this would make the store keep more than it is meant to (it keeps each
# partition's events this long behind its watermark).
MAX_WINDOW_MINUTES = 7 * 24 * 60
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class DeclarationError(ValueError):
    """An online feature that cannot work: the message names it and the rule."""


@dataclass(frozen=True)
class EventStream:
    """What a feed delivers: one row per event, `key` unique per event (writing one twice is one
    event). `watermark`: the event-time column whose newest value says how far the feed has come
    (a timetable entry with it missing says nothing of that); `partition`: the entity whose events
    arrive together, one watermark per value (None: one for the stream). A row is looked up only
    when its partition's watermark has reached its t."""

    key: str
    watermark: str
    partition: str | None = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class OnlineFeature:
    """One online feature of a use case (module docstring: the rules and aggregations)."""

    name: str
    entity: str
    time: str
    aggregation: str
    window_minutes: int | None = None
    value: str | None = None
    before_own: str | None = None
    same_day: str | None = None
    until: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """The event columns it reads."""
        named = (self.entity, self.time, self.value, self.before_own, self.same_day, self.until)
        return tuple(dict.fromkeys(c for c in named if c is not None))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def check_features(
    features: Sequence[OnlineFeature], stream: EventStream, event_columns: Sequence[str] | None = None
) -> None:
    """Every rule a set of declarations must meet; the first broken one raises
    `DeclarationError` naming the feature. `event_columns`: the columns the stream delivers
    (None: not known here)."""
    if not features:
        raise DeclarationError("declare at least one online feature")
    names = [f.name for f in features]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DeclarationError(f"online features {repeated} are declared more than once")
    for name, column in (("key", stream.key), ("watermark", stream.watermark)):
        if not isinstance(column, str) or not _NAME.fullmatch(column):
            raise DeclarationError(f"event stream {name}: a column name, got {column!r}")
    entities = {f.entity for f in features}
    if stream.partition is not None and stream.partition not in entities:
        raise DeclarationError(
            f"event stream partition '{stream.partition}' is not the entity of any online feature "
            f"({sorted(entities)}): a request must carry it"
        )
    known = None if event_columns is None else set(event_columns)
    if known is not None:
        for name, column in (("key", stream.key), ("watermark", stream.watermark)):
            if column not in known:
                raise DeclarationError(
                    f"event stream {name} '{column}' is not a column of the events ({sorted(known)})"
                )
    for feature in features:
        check_feature(feature, known)


def check_feature(feature: OnlineFeature, event_columns: set[str] | None = None) -> None:
    who = f"online feature '{feature.name}'"
    if not isinstance(feature.name, str) or not _NAME.fullmatch(feature.name):
        raise DeclarationError(f"online feature {feature.name!r}: a name of letters, digits and _")
    for field in ("entity", "time", "value", "before_own", "same_day", "until"):
        column = getattr(feature, field)
        if column is None and field not in ("entity", "time"):
            continue
        if not isinstance(column, str) or not _NAME.fullmatch(column):
            raise DeclarationError(f"{who}: {field} must name an event column, got {column!r}")
        if event_columns is not None and column not in event_columns:
            raise DeclarationError(
                f"{who}: {field} '{column}' is not a column of the event stream ({sorted(event_columns)})"
            )
    if feature.aggregation not in AGGREGATIONS:
        known = ", ".join(AGGREGATIONS)
        raise DeclarationError(
            f"{who}: aggregation '{feature.aggregation}' is not one the store computes ({known})"
        )
    if feature.aggregation in OF_VALUE and feature.value is None:
        raise DeclarationError(f"{who}: aggregation '{feature.aggregation}' needs a value column")
    if feature.aggregation not in OF_VALUE and feature.value is not None:
        raise DeclarationError(f"{who}: aggregation '{feature.aggregation}' reads no value column")
    window = feature.window_minutes
    if window is None:
        if feature.same_day is None:
            raise DeclarationError(
                f"{who}: no window and no same_day: the store keeps a bounded past, declare one of them"
            )
    elif isinstance(window, bool) or not isinstance(window, int) or window <= 0:
        raise DeclarationError(
            f"{who}: window_minutes must be a positive whole number of minutes, got {window!r}"
        )
    elif window > MAX_WINDOW_MINUTES:
        raise DeclarationError(
            f"{who}: window_minutes {window} is longer than the store keeps ({MAX_WINDOW_MINUTES})"
        )


def features_from(data: Sequence[Mapping]) -> tuple[OnlineFeature, ...]:
    """Declarations read back from their `to_dict` form (schema.json); a field that is not one is
    named."""
    fields = {f.name for f in dataclasses.fields(OnlineFeature)}
    out = []
    for item in data:
        unknown = sorted(set(item) - fields)
        if unknown:
            raise DeclarationError(f"online feature {item.get('name')!r} has unknown field(s) {unknown}")
        try:
            out.append(OnlineFeature(**item))
        except TypeError as error:
            raise DeclarationError(f"online feature {item.get('name')!r}: {error}") from None
    return tuple(out)


def stream_from(data: Mapping) -> EventStream:
    fields = {f.name for f in dataclasses.fields(EventStream)}
    unknown = sorted(set(data) - fields)
    if unknown:
        raise DeclarationError(f"event stream has unknown field(s) {unknown}")
    try:
        return EventStream(**data)
    except TypeError as error:
        raise DeclarationError(f"event stream: {error}") from None
