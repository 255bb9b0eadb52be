"""The gate's figure: champion and candidate on the same holdout, ROC and calibration overlaid."""

from __future__ import annotations

import numpy as np

from core.evaluation import calibration_points


def comparison_figure(labels: np.ndarray, candidate: np.ndarray, champion: np.ndarray | None) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_auc_score, roc_curve

    from core.reports import png

    figure, (roc, calibration) = plt.subplots(1, 2, figsize=(12, 4.5))
    models = [("candidate", candidate, "#C44E52")]
    if champion is not None:
        models.append(("champion", champion, "#4C72B0"))
    for name, scores, colour in models:
        fpr, tpr, _ = roc_curve(labels, scores)
        roc.plot(fpr, tpr, color=colour, label=f"{name} (AUC {roc_auc_score(labels, scores):.4f})")
        predicted, observed = calibration_points(labels, scores)
        calibration.plot(predicted, observed, "o-", color=colour, label=name)
    for axis in (roc, calibration):
        axis.plot([0, 1], [0, 1], "--", color="grey")
        axis.legend(loc="lower right")
    roc.set(title="ROC on the candidate's holdout", xlabel="false positive rate", ylabel="true positive rate")
    calibration.set(title="Calibration (quantile bins)", xlabel="mean predicted", ylabel="observed rate")
    return png(figure)
