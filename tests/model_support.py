"""Small synthetic feature tables that pass `FeatureTable`, for tests that fit a real model."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.schemas import CATEGORICAL_FEATURES, KEY, LABEL, NUMERIC_FEATURES, TIMESTAMP, feature_ranges


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
    return frame
