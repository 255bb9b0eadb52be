"""The visibility use case's baseline figures (its README): each month of 2013 held out and scored
by the loop's model (`core.model`, the use case's default hyperparameters) fit on every month
before it, beside persistence (the current visibility alone as the score), and the threshold
table of April-June on which the declared threshold was chosen.

    MLOPS_USE_CASE=visibility .venv/bin/python -m benchmarks.visibility_baseline
"""

from __future__ import annotations

import os
from datetime import datetime

import numpy as np
import pandas as pd

THRESHOLDS = np.round(np.arange(0.10, 0.45, 0.05), 2)
THRESHOLD_MONTHS = (4, 5, 6)  # the months before July the threshold is chosen on


def monthly_holdouts(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per holdout month (every month of `table` after its first), and every holdout
    row's score."""
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    import usecases
    from core.model import fit, predict_scores, use_case_hyperparameters

    case = usecases.current()
    hp = use_case_hyperparameters(case)
    month = table[case.timestamp].dt.to_period("M")
    rows, scored = [], []
    for holdout_month in sorted(month.unique())[1:]:
        train, holdout = table.loc[month < holdout_month], table.loc[month == holdout_month]
        scores = predict_scores(fit(train, hp), holdout)
        truth = holdout[case.label].astype(int).to_numpy()
        rows.append(
            {
                "month": str(holdout_month),
                "training rows": len(train),
                "holdout rows": len(holdout),
                "positive share": round(float(truth.mean()), 4),
                "ROC AUC": round(roc_auc_score(truth, scores), 4),
                "log loss": round(log_loss(truth, scores), 4),
                "Brier": round(brier_score_loss(truth, scores), 4),
                "persistence ROC AUC": round(roc_auc_score(truth, -holdout["visib"].to_numpy()), 4),
            }
        )
        scored.append(pd.DataFrame({"month": holdout_month.month, "truth": truth, "score": scores}))
    return pd.DataFrame(rows), pd.concat(scored, ignore_index=True)


def threshold_table(scored: pd.DataFrame) -> pd.DataFrame:
    """Precision, recall and F1 of each threshold on the pooled April-June holdouts."""
    pooled = scored.loc[scored["month"].isin(THRESHOLD_MONTHS)]
    truth = pooled["truth"].to_numpy() == 1
    rows = []
    for threshold in THRESHOLDS:
        flagged = pooled["score"].to_numpy() >= threshold
        hits = int((flagged & truth).sum())
        precision = hits / max(int(flagged.sum()), 1)
        recall = hits / int(truth.sum())
        f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
        rows.append(
            {
                "threshold": threshold,
                "precision": round(precision, 3),
                "recall": round(recall, 3),
                "F1": round(f1, 3),
                "flagged": round(float(flagged.mean()), 3),
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    os.environ["MLOPS_USE_CASE"] = "visibility"
    import usecases

    case = usecases.current()
    raw = case.load_window("", datetime(2013, 1, 1), datetime(2014, 1, 1))
    table = case.build_features(case.raw_schema.validate(raw), None)
    table = table.loc[table[case.label].notna()]
    months, scored = monthly_holdouts(table)
    print(months.to_string(index=False))
    later = months.loc[months["month"] >= "2013-07"]
    print(
        f"July-December mean ROC AUC {later['ROC AUC'].mean():.4f}, "
        f"persistence {later['persistence ROC AUC'].mean():.4f}"
    )
    print(f"\nThresholds, April-June pooled ({scored['month'].isin(THRESHOLD_MONTHS).sum():,} readings):")
    print(threshold_table(scored).to_string(index=False))


if __name__ == "__main__":
    main()
