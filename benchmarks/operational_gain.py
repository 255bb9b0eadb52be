"""What the operational features add, with the project's own data and model code.

For each scored month, one model fit on every month of 2013 before it (the default model,
`core.model.fit`), scored on that month, with the operational features and without them. Without
them means the same table with the five columns held constant: the trees cannot split on a
constant, so that model is the model without those features (and it is what the served model
would be if it never had the online store).

    python benchmarks/operational_gain.py                 # June 2013 (fit on January-May)
    python benchmarks/operational_gain.py --months 7 8 9 10 11 12
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

import numpy as np
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from core import features, model
from usecases.flights import source
from usecases.flights.features import build_features
from usecases.flights.operational import OPERATIONAL_FEATURES
from usecases.flights.schemas import LABEL


def scored(month: int, table, hp: model.Hyperparameters) -> dict[str, dict[str, float]]:
    start, end = datetime(2013, month, 1), datetime(2013 + month // 12, month % 12 + 1, 1)
    rows = table.loc[table["sched_dep"] < end]
    train, holdout = features.split_by_time(rows, start)
    out = {}
    for name, blank in (("without", True), ("with", False)):
        fit_on, score_on = train.copy(), holdout.copy()
        if blank:
            fit_on[OPERATIONAL_FEATURES] = 0.0
            score_on[OPERATIONAL_FEATURES] = 0.0
        scores = model.predict_scores(model.fit(fit_on, hp), score_on)
        truth = score_on[LABEL].astype(int).to_numpy()
        out[name] = {
            "auc": roc_auc_score(truth, scores),
            "log_loss": log_loss(truth, scores),
            "brier": brier_score_loss(truth, scores),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--months", type=int, nargs="+", default=[6])
    args = parser.parse_args()
    last = max(args.months)
    raw = source.load_window("", datetime(2013, 1, 1), datetime(2013 + last // 12, last % 12 + 1, 1))
    table = build_features(raw)
    hp = model.Hyperparameters()
    print("month    AUC without  AUC with   gain   log loss without/with  Brier without/with")
    gains = []
    for month in args.months:
        result = scored(month, table, hp)
        gain = result["with"]["auc"] - result["without"]["auc"]
        gains.append((result["without"]["auc"], result["with"]["auc"]))
        without, with_ = result["without"], result["with"]
        print(
            f"2013-{month:02d}  {without['auc']:.4f}       {with_['auc']:.4f}   {gain:+.4f}"
            f"  {without['log_loss']:.4f} / {with_['log_loss']:.4f}"
            f"        {without['brier']:.4f} / {with_['brier']:.4f}"
        )
    if len(gains) > 1:
        means = np.mean(gains, axis=0)
        print(f"mean     {means[0]:.4f}       {means[1]:.4f}   {means[1] - means[0]:+.4f}")
    print("load average", " ".join(Path("/proc/loadavg").read_text().split()[:3]))


if __name__ == "__main__":
    main()
