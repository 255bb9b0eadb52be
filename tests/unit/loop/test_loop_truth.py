"""Missing truth: monitoring judges performance on the truth known when it runs, not on what the
batch table held when it was scored."""

from __future__ import annotations

import math

import pandas as pd

from core.monitoring import realized_performance, with_truth


def _predictions(truth: list) -> pd.DataFrame:
    n = len(truth)
    return pd.DataFrame(
        {
            "flight_id": [f"f{i}" for i in range(n)],
            "score": [0.1, 0.8, 0.3, 0.9][:n],
            "late": pd.array(truth, dtype="Int64"),
        }
    )


def test_truth_is_taken_from_the_feature_table_read_at_monitoring_time():
    """Scored at 04:00, the day's flights had no truth; a week later the feature table knows it."""
    scored = _predictions([None, None, None, None])
    later = pd.DataFrame({"flight_id": ["f3", "f2", "f1", "f0"], "late": pd.array([1, 0, None, 0], "Int64")})
    joined = with_truth(scored, later)
    assert joined["late"].tolist()[:1] == [0] and pd.isna(joined["late"].iloc[1])
    auc, loss, labelled = realized_performance(joined)
    assert labelled == 3 and auc == 1.0 and math.isfinite(loss)


def test_no_known_truth_gives_no_performance_figures():
    auc, loss, labelled = realized_performance(_predictions([None, None, None, None]))
    assert labelled == 0 and math.isnan(auc) and math.isnan(loss)
