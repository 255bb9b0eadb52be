"""Small synthetic tables: raw flights that pass `RawFlights`, feature tables that pass
`FeatureTable` (for tests that fit a real model)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.bundle import feature_ranges
from usecases.flights.schemas import CATEGORICAL_FEATURES, KEY, LABEL, NUMERIC_FEATURES, TAILNUM, TIMESTAMP


def feature_table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ranges = feature_ranges()  # values inside what the schema allows
    frame = pd.DataFrame(
        {name: rng.uniform(ranges[name]["min"] + 1, ranges[name]["max"], n) for name in NUMERIC_FEATURES}
    )
    frame.loc[rng.random(n) < 0.1, "plane_age"] = np.nan  # missing numbers take the NaN branch
    values_of = (list("ABCDEFG"), ["EWR", "JFK", "LGA"], list("PQRSTU"))
    for name, values in zip(CATEGORICAL_FEATURES, values_of, strict=True):
        frame[name] = rng.choice(values, n)
    signal = frame["temp"] / 50 + (frame["carrier"].isin(["B", "E"])) * 1.5 + rng.normal(0, 1, n)
    frame[LABEL] = (signal > 1.8).astype(int)
    frame[KEY] = [f"f{i}" for i in range(n)]
    frame[TIMESTAMP] = pd.Timestamp("2013-07-01") + pd.to_timedelta(np.arange(n), unit="min")
    frame[TAILNUM] = [f"N{i % 50}" if i % 7 else None for i in range(n)]
    return frame


def raw_rows(arr_delays: list[float | None]) -> pd.DataFrame:
    """One EWR-ORD flight a day in June 2013 per arrival delay, with weather and plane facts."""
    n = len(arr_delays)
    return pd.DataFrame(
        {
            "year": 2013,
            "month": 6,
            "day": 1 + np.arange(n) % 28,
            "sched_dep_time": 915,
            "sched_arr_time": 1230,
            "arr_delay": pd.array(arr_delays, dtype="float64"),
            "carrier": "UA",
            "flight": 100 + np.arange(n),
            "tailnum": "N1",
            "origin": "EWR",
            "dest": "ORD",
            "distance": 719.0,
            "hour": 9,
            "minute": 15,
            "temp": 70.0,
            "dewp": 50.0,
            "humid": 60.0,
            "wind_dir": 180.0,
            "wind_speed": 10.0,
            "wind_gust": np.nan,
            "precip": 0.0,
            "pressure": 1015.0,
            "visib": 10.0,
            "plane_year": 2005.0,
            "seats": 180.0,
            "origin_recent_departures": 30.0,
            "origin_recent_dep_delay": 12.5,
            "origin_backlog": 3.0,
            "tail_prev_dep_delay": np.nan,
            "tail_prev_dep_minutes": np.nan,
        }
    )
