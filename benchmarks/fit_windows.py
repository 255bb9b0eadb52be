"""Which rows the deployed model should fit: window policies side by side, July-December 2013.

    python benchmarks/fit_windows.py [--start 2013-07 --months 6] [--half-life 3]

Every month M is scored by a model that could have served it, with the flights' true labels, and
each row of the table is one way to choose that model (same features, default hyperparameters):

- fixed January-May: the first model, never retrained;
- sliding 5, known at the 1st: fit on the five months before M (labels known at M's 1st);
- expanding, judged only: fit on every month before M-1 and judged on M-1, never refit (what the
  training workflow deployed when the holdout only judged: one month stale);
- expanding + refit (the default policy): that judged model's configuration, with the tree count
  early stopping found, refit on every label known at M's 1st (`core.model.refit`);
- expanding + refit, recency weights: the same refit with rows weighted by age (half-life
  `--half-life` months, `core.features.recency_weights`).

Labels are as known at each fit's cut (`usecases.flights.features.build_features(known_at=...)`):
a flight whose outcome was not known yet does not train. Prints ROC AUC per month, the mean, and the fit
seconds each policy spent.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from core import features
from core.model import Hyperparameters, fit, predict_scores, refit
from usecases.flights import source
from usecases.flights.features import build_features
from usecases.flights.schemas import LABEL, TIMESTAMP

FIRST_MONTH = datetime(2013, 1, 1)


def known_rows(raw: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
    """Flights scheduled in [start, end) whose outcome was known at `end`."""
    table = build_features(raw.loc[_in(raw, start, end)], known_at=end)
    return table.loc[table[LABEL].notna()].reset_index(drop=True)


def _in(raw: pd.DataFrame, start: datetime, end: datetime) -> pd.Series:
    day = pd.to_datetime(raw[["year", "month", "day"]])
    return (day >= pd.Timestamp(start)) & (day < pd.Timestamp(end))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", default="2013-07")
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--half-life", type=float, default=3.0, help="recency weights, months")
    args = parser.parse_args()

    hp = Hyperparameters()
    first = pd.Timestamp(f"{args.start}-01")
    months = [(first + pd.DateOffset(months=i)).to_pydatetime() for i in range(args.months)]
    raw = source.load_window("", FIRST_MONTH, months[-1] + pd.DateOffset(months=1))
    scored = build_features(raw)  # the closed record: every outcome final
    policies = [
        "fixed Jan-May",
        "sliding 5, known at the 1st",
        "expanding, judged only",
        "expanding + refit",
        f"expanding + refit, half-life {args.half_life:g} mo",
    ]
    auc: dict[str, list[float]] = {p: [] for p in policies}
    seconds: dict[str, float] = dict.fromkeys(policies, 0.0)

    def timed(policy: str, make, *inputs):
        began = time.process_time()
        model = make(*inputs)
        seconds[policy] += time.process_time() - began
        return model

    fixed = timed(policies[0], fit, known_rows(raw, FIRST_MONTH, months[0] - pd.DateOffset(months=1)), hp)
    for month in months:
        end = month + pd.DateOffset(months=1)
        rows = scored.loc[(scored[TIMESTAMP] >= month) & (scored[TIMESTAMP] < end) & scored[LABEL].notna()]
        truth = rows[LABEL].to_numpy(dtype=np.int64)
        previous = month - pd.DateOffset(months=1)
        known = known_rows(raw, FIRST_MONTH, month)
        judged_rows = known_rows(raw, FIRST_MONTH, previous)
        sliding = timed(policies[1], fit, known_rows(raw, month - pd.DateOffset(months=5), month), hp)
        before = seconds[policies[2]]
        judged = timed(policies[2], fit, judged_rows, hp)
        for refitting in policies[3:]:  # a refit costs its judged fit too
            seconds[refitting] += seconds[policies[2]] - before
        refit_model = timed(policies[3], refit, known, hp, judged)
        weights = features.recency_weights(known[TIMESTAMP], args.half_life)
        weighted = timed(policies[4], refit, known, hp, judged, weights)
        for policy, model in zip(policies, (fixed, sliding, judged, refit_model, weighted), strict=True):
            auc[policy].append(float(roc_auc_score(truth, predict_scores(model, rows))))
        print(f"{month:%Y-%m} " + " ".join(f"{auc[p][-1]:.4f}" for p in policies), flush=True)

    labels = [f"{m:%b}" for m in months]
    print(f"\n{'fit window':44} {'mean':>6} " + " ".join(f"{m:>6}" for m in labels) + "  fit CPU s")
    for policy in policies:
        print(
            f"{policy:44} {np.mean(auc[policy]):6.4f} "
            + " ".join(f"{a:6.4f}" for a in auc[policy])
            + f"  {seconds[policy]:8.0f}"
        )


if __name__ == "__main__":
    main()
