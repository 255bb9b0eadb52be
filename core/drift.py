"""Drift of current data against a bundle's `reference.json`: PSI and a binned KS distance.

Why not evidently / nannyml / alibi-detect: they compare two raw samples, while the bundle (the
one contract with serving) carries the training distribution as bins, not rows; the serving image
must stay free of their dependency trees, and all three pull in heavy stacks (plotly, litestar,
tensorflow/torch extras) for two formulas. So the measures are computed here, on exactly the
reference bins:

- PSI = sum over bins of (cur - ref) * ln(cur / ref), with a missing-value bin and, for
  categories, an "unseen" bin; shares are floored at `EPSILON` so an empty bin stays finite.
  Rule of thumb: < 0.1 stable, 0.1-0.2 moderate, > 0.2 significant.
- KS (numbers): the largest gap between the two cumulative distributions at the reference's
  bin edges (a lower bound of the two-sample KS statistic, exact at those edges).
  Categories get the total variation distance in the same column.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

EPSILON = 1e-4
MISSING = "__missing__"
UNSEEN = "__unseen__"


def _psi(reference: np.ndarray, current: np.ndarray) -> float:
    ref = np.maximum(reference, EPSILON)
    cur = np.maximum(current, EPSILON)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def numeric_shares(entry: dict, values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(reference, current) shares over the reference bins plus a trailing missing bin."""
    edges = np.asarray(entry["edges"], dtype=np.float64)
    missing_ref = float(entry.get("missing_rate", 0.0))
    reference = np.append(np.asarray(entry["proportions"]) * (1.0 - missing_ref), missing_ref)
    numbers = pd.to_numeric(values, errors="coerce")
    present = numbers.dropna().to_numpy(dtype=np.float64)
    # Same rule as core.bundle: bin i holds [edges[i-1], edges[i]).
    counts = np.bincount(np.searchsorted(edges, present, side="right"), minlength=len(edges) + 1)
    current = np.append(counts, numbers.isna().sum()) / max(len(numbers), 1)
    return reference, current


def categorical_shares(entry: dict, values: pd.Series) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(bin names, reference, current) over the training categories + unseen + missing."""
    known = list(entry["proportions"])
    missing_ref = float(entry.get("missing_rate", 0.0))
    reference = [entry["proportions"][k] * (1.0 - missing_ref) for k in known] + [0.0, missing_ref]
    present = values.dropna().astype(str)
    counts = present.value_counts()
    current = [float(counts.get(k, 0)) for k in known]
    current += [float(len(present) - sum(current)), float(values.isna().sum())]
    total = max(len(values), 1)
    return known + [UNSEEN, MISSING], np.asarray(reference), np.asarray(current) / total


def feature_drift(entry: dict, values: pd.Series) -> dict:
    """PSI, KS (or total variation for categories), and current vs reference summary."""
    if entry["kind"] == "category":
        _, reference, current = categorical_shares(entry, values)
        distance = 0.5 * float(np.abs(reference - current).sum())
        return {
            "kind": "category",
            "psi": _psi(reference, current),
            "ks": distance,
            "missing_rate": float(values.isna().mean()),
            "mean": math.nan,
            "reference_mean": math.nan,
        }
    reference, current = numeric_shares(entry, values)
    # Cumulative over the value bins only, each renormalised to the present values.
    ref_present = reference[:-1] / max(reference[:-1].sum(), EPSILON)
    cur_present = current[:-1] / max(current[:-1].sum(), EPSILON)
    ks = float(np.max(np.abs(np.cumsum(ref_present) - np.cumsum(cur_present)))) if len(ref_present) else 0.0
    numbers = pd.to_numeric(values, errors="coerce")
    mean = float(numbers.mean()) if numbers.notna().any() else math.nan
    ref_mean = entry.get("mean")
    return {
        "kind": "number",
        "psi": _psi(reference, current),
        "ks": ks,
        "missing_rate": float(numbers.isna().mean()),
        "mean": mean,
        "reference_mean": math.nan if ref_mean is None else float(ref_mean),
    }


def drift_table(reference: dict, current: pd.DataFrame, score: pd.Series | None = None) -> pd.DataFrame:
    """One row per feature in the reference (and `score` when given), worst PSI first.

    A feature of the reference that `current` lacks is an error naming it: drift that cannot be
    measured must not read as no drift."""
    if "features" not in reference:
        raise ValueError("reference.json has no 'features' section")
    missing = [name for name in reference["features"] if name not in current.columns]
    if missing:
        raise ValueError(f"the data to monitor is missing feature column(s) {missing}")
    if current.empty:
        raise ValueError("no rows to monitor: drift is undefined on an empty period")
    rows = [
        {"feature": name, **feature_drift(entry, current[name])}
        for name, entry in reference["features"].items()
    ]
    if score is not None:
        if "score" not in reference:
            raise ValueError("reference.json has no 'score' entry")
        rows.append({"feature": "score", **feature_drift(reference["score"], score)})
    table = pd.DataFrame(rows)
    table["reference_missing_rate"] = [
        (reference["score"] if r == "score" else reference["features"][r]).get("missing_rate", 0.0)
        for r in table["feature"]
    ]
    return table.sort_values("psi", ascending=False, kind="stable").reset_index(drop=True)
