"""Drift that means something: a quiet server's few rows and a 100-category feature are not drift
(sampling noise at that n), and a shift in a feature the model barely uses does not ring the
alarm while the same shift in a feature it leans on does."""

from __future__ import annotations

import numpy as np
import pandas as pd

from contract.bundle import Reference
from core import drift
from core.bundle import _categorical_reference, _numeric_reference
from core.monitoring import DRIFT, OK, MonitoringReport, MonitoringThresholds, decide, drift_tables

DESTS = [f"D{i:02d}" for i in range(100)]
SHARES = np.r_[np.full(10, 0.05), np.full(90, 0.5 / 90)]  # ten busy airports, 90 small ones


def _sample(rng, n: int, temp_shift: float = 0.0, hour_shift: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "temp": rng.normal(60.0 + temp_shift, 15.0, n),
            "dep_hour": np.clip(rng.normal(13.0 + hour_shift, 4.0, n), 0, 24),
            "dest": rng.choice(DESTS, n, p=SHARES),
        }
    )


def _reference(rng) -> Reference:
    train = _sample(rng, 50_000)
    return Reference(
        n_rows=len(train),
        label_rate=0.2,
        features={
            "temp": _numeric_reference(train["temp"]),
            "dep_hour": _numeric_reference(train["dep_hour"]),
            "dest": _categorical_reference(train["dest"]),
        },
        score=_numeric_reference(pd.Series(rng.beta(2, 5, 50_000))),
    )


# What the model leans on (as the bundle's metadata records it): hours, not temperature.
WEIGHTS = {"temp": 0.02, "dep_hour": 0.6, "dest": 0.38}


# Input drift that alarms (the default use case's input drift alone never does: its own choice).
DRIFTING = MonitoringThresholds(max_weighted_psi=0.5)


def _decide(reference, batch, online, rng, weights=WEIGHTS):
    thresholds = DRIFTING
    scores = pd.Series(rng.beta(2, 5, len(batch)))
    online = online.assign(score=rng.beta(2, 5, len(online)))
    table = drift_tables(reference, batch, scores, online, thresholds, weights)
    report = MonitoringReport(n_rows=len(batch), n_online_rows=len(online))
    return decide(report, table, thresholds), table


def test_a_quiet_server_and_sampling_noise_are_not_drift():
    """200 online rows of an unchanged distribution (a 100-category dest among them) used to read
    as drift every time; a source below the minimum sample is not judged, and above it the PSI is
    compared with what noise alone reaches at that n."""
    rng = np.random.default_rng(0)
    reference = _reference(rng)
    for _ in range(5):
        report, table = _decide(reference, _sample(rng, 3000), _sample(rng, 200), rng)
        assert report.decision == OK, report.reasons
        assert any("online: 200 rows (< 500)" in r for r in report.reasons)
        online = table.loc[table["source"] == "online"]
        assert not online["judged"].any() and table.loc[table["source"] == "batch", "judged"].all()


def test_noise_level_falls_with_the_sample_and_pools_rare_categories():
    rng = np.random.default_rng(1)
    reference = _reference(rng)
    small = drift.drift_table(reference, _sample(rng, 600)).set_index("feature")
    large = drift.drift_table(reference, _sample(rng, 20_000)).set_index("feature")
    assert (small["psi_noise"] > large.loc[small.index, "psi_noise"]).all()
    # 90 airports under 1 % each are one pooled bin: PSI at n=600 stays under its noise level
    assert small.loc["dest", "psi"] < small.loc["dest", "psi_noise"]


def test_drift_is_weighed_by_what_the_model_uses():
    rng = np.random.default_rng(2)
    reference = _reference(rng)
    # temperature moves by two standard deviations (a new season): huge PSI, tiny weight
    report, table = _decide(reference, _sample(rng, 5000, temp_shift=30.0), _sample(rng, 0), rng)
    temp = table.loc[(table["feature"] == "temp") & (table["source"] == "batch")].iloc[0]
    assert temp["psi"] > 2.0
    assert report.decision == OK, report.reasons
    assert report.weighted_psi < DRIFTING.max_weighted_psi
    # the same kind of move on the hour the model leans on is drift, and the reason names it
    report, _ = _decide(reference, _sample(rng, 5000, hour_shift=6.0), _sample(rng, 0), rng)
    assert report.decision == DRIFT
    assert "dep_hour" in " ".join(report.reasons) and report.weighted_psi > 0.2
