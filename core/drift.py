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

PSI is biased upwards on small samples (empty bins, floored at `EPSILON`, each add about
`ref * ln(ref / EPSILON)`): 40 rows of an unchanged distribution average 0.32. So every PSI comes
with `psi_noise`, the level sampling noise alone exceeds with probability 1 - `NOISE_QUANTILE`
at that sample size, simulated by drawing n rows from the reference shares; a PSI is only drift
above it. Categories whose training share is below `MIN_CATEGORY_SHARE` are pooled into one
`__rare__` bin (a 100-airport `dest` otherwise reads as drift at every few hundred rows).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from contract.bundle import CategoryReference, NumericReference, Reference

EPSILON = 1e-4
MISSING = "__missing__"
UNSEEN = "__unseen__"
RARE = "__rare__"
MIN_CATEGORY_SHARE = 0.01
NOISE_QUANTILE = 0.99
NOISE_DRAWS = 400


def _psi(reference: np.ndarray, current: np.ndarray) -> float:
    ref = np.maximum(reference, EPSILON)
    cur = np.maximum(current, EPSILON)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def noise_psi(
    reference: np.ndarray, n: int, quantile: float = NOISE_QUANTILE, draws: int = NOISE_DRAWS, seed: int = 0
) -> float:
    """The PSI that `n` rows drawn from the reference itself exceed with probability
    1 - `quantile`: what sampling noise alone gives at that n."""
    if n <= 0:
        return math.inf
    shares = np.asarray(reference, dtype=np.float64)
    shares = shares / shares.sum()
    counts = np.random.default_rng(seed).multinomial(n, shares, size=draws) / n
    ref = np.maximum(shares, EPSILON)
    cur = np.maximum(counts, EPSILON)
    return float(np.quantile(np.sum((cur - ref) * np.log(cur / ref), axis=1), quantile))


def numeric_shares(entry: NumericReference, values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(reference, current) shares over the reference bins plus a trailing missing bin."""
    edges = np.asarray(entry.edges, dtype=np.float64)
    missing_ref = float(entry.missing_rate)
    reference = np.append(np.asarray(entry.proportions) * (1.0 - missing_ref), missing_ref)
    numbers = pd.to_numeric(values, errors="coerce")
    present = numbers.dropna().to_numpy(dtype=np.float64)
    # Same rule as core.bundle: bin i holds [edges[i-1], edges[i]).
    counts = np.bincount(np.searchsorted(edges, present, side="right"), minlength=len(edges) + 1)
    current = np.append(counts, numbers.isna().sum()) / max(len(numbers), 1)
    return reference, current


def categorical_shares(
    entry: CategoryReference, values: pd.Series, min_share: float = MIN_CATEGORY_SHARE
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(bin names, reference, current) over the training categories (those under `min_share`
    pooled into one rare bin) + unseen + missing."""
    proportions = entry.proportions
    known = [k for k, share in proportions.items() if share >= min_share]
    rare = [k for k, share in proportions.items() if share < min_share]
    missing_ref = float(entry.missing_rate)
    reference = [proportions[k] * (1.0 - missing_ref) for k in known]
    reference += [sum(proportions[k] for k in rare) * (1.0 - missing_ref), 0.0, missing_ref]
    present = values.dropna().astype(str)
    counts = present.value_counts()
    current = [float(counts.get(k, 0)) for k in known]
    current.append(float(sum(counts.get(k, 0) for k in rare)))
    current += [float(len(present) - sum(current)), float(values.isna().sum())]
    total = max(len(values), 1)
    names = known + [RARE, UNSEEN, MISSING]
    return names, np.asarray(reference), np.asarray(current) / total


def feature_drift(
    entry: NumericReference | CategoryReference,
    values: pd.Series,
    min_category_share: float = MIN_CATEGORY_SHARE,
) -> dict:
    """PSI, its noise level at this sample size, KS (or total variation for categories), and
    current vs reference summary."""
    n = int(len(values))
    if isinstance(entry, CategoryReference):
        _, reference, current = categorical_shares(entry, values, min_category_share)
        distance = 0.5 * float(np.abs(reference - current).sum())
        return {
            "kind": "category",
            "psi": _psi(reference, current),
            "psi_noise": noise_psi(reference, n),
            "n": n,
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
    ref_mean = entry.mean
    return {
        "kind": "number",
        "psi": _psi(reference, current),
        "psi_noise": noise_psi(reference, n),
        "n": n,
        "ks": ks,
        "missing_rate": float(numbers.isna().mean()),
        "mean": mean,
        "reference_mean": math.nan if ref_mean is None else float(ref_mean),
    }


def drift_table(
    reference: Reference,
    current: pd.DataFrame,
    score: pd.Series | None = None,
    weights: dict[str, float] | None = None,
    min_category_share: float = MIN_CATEGORY_SHARE,
) -> pd.DataFrame:
    """One row per feature in the reference (and `score` when given), worst PSI first, with the
    PSI's noise level at this n and the feature's weight (its share of what the model uses,
    `weights` normalised; equal weights when none are given; the score's own row weighs 0 here).

    A feature of the reference that `current` lacks is an error naming it: drift that cannot be
    measured must not read as no drift."""
    missing = [name for name in reference.features if name not in current.columns]
    if missing:
        raise ValueError(f"the data to monitor is missing feature column(s) {missing}")
    if current.empty:
        raise ValueError("no rows to monitor: drift is undefined on an empty period")
    names = list(reference.features)
    share = feature_weights(names, weights)
    rows = [
        {"feature": name, **feature_drift(entry, current[name], min_category_share), "weight": share[name]}
        for name, entry in reference.features.items()
    ]
    if score is not None:
        rows.append({"feature": "score", **feature_drift(reference.score, score), "weight": 0.0})
    table = pd.DataFrame(rows)
    table["reference_missing_rate"] = [
        (reference.score if r == "score" else reference.features[r]).missing_rate for r in table["feature"]
    ]
    return table.sort_values("psi", ascending=False, kind="stable").reset_index(drop=True)


def feature_weights(names: list[str], weights: dict[str, float] | None) -> dict[str, float]:
    """Non-negative weights over `names` summing to 1 (equal when `weights` is empty or all zero;
    a feature `weights` does not name weighs 0)."""
    raw = {name: max(float((weights or {}).get(name, 0.0)), 0.0) for name in names}
    total = sum(raw.values())
    if not weights or total <= 0:
        return {name: 1.0 / len(names) for name in names} if names else {}
    return {name: value / total for name, value in raw.items()}


def importance_weights(importance: pd.DataFrame) -> dict[str, float]:
    """What the model uses, for weighing drift: each feature's permutation importance (ROC AUC
    drop when it is shuffled; `core.reports.feature_importance`, the evaluation deck's own),
    clipped at 0 and normalised to sum to 1."""
    import usecases

    drops = dict(zip(importance["feature"], np.maximum(importance["auc_drop"], 0.0).tolist(), strict=True))
    return {k: round(v, 6) for k, v in feature_weights(list(usecases.current().features), drops).items()}
