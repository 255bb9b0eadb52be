"""How many explained flights the evaluation deck needs: do smaller samples tell the same story?

    .venv/bin/python benchmarks/deck_samples.py [--reference 4000] [--draws 20] [--importance-only]

On the judged model of the training workflow as of 2013-07-01 (fit here on January-May 2013,
June held out), exact contributions of `--reference` holdout flights are the reference. For
each candidate sample size, `--draws` samples of the reference rows: how often the deck's top
four features by mean |contribution| (the ones whose spread it shows) come out in the
reference's order, and the lowest Spearman correlation of the whole ranking with the reference.
Then the permutation importance the deck shows against its reference, every holdout flight with
three shuffles each: over `--draws` seeds, how far each of the top features lands from the
reference (root mean square), how often within two of the standard errors the run states
(`stderr`), and the CPU seconds of one estimate; beside it the estimate the deck made before
(two shuffles of the same 3,000 rows), on the same seeds.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZES = (1000, 500, 400, 250)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=int, default=4000)
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--importance-only", action="store_true", help="the permutation importance part only")
    args = parser.parse_args()

    from core.features import month_window, split_by_time
    from core.model import fit, use_case_hyperparameters
    from usecases.flights.features import build_features
    from usecases.flights.source import load_window

    window = month_window(datetime(2013, 7, 1), 0, 1)
    train, holdout = split_by_time(
        build_features(load_window("", window.train_start, window.end)), window.holdout_start
    )
    model = fit(train, use_case_hyperparameters())
    if not args.importance_only:
        explained_samples(model, holdout, args.reference, args.draws)
    permutation_noise(model, holdout, args.draws)


def explained_samples(model, holdout, reference_rows: int, draws: int) -> None:
    from scipy.stats import spearmanr

    from core import explanations

    started = time.process_time()
    contributions, _ = explanations.contributions_frame(
        model, holdout.sample(reference_rows, random_state=123)
    )
    per_row_ms = (time.process_time() - started) / reference_rows * 1000
    reference = contributions.abs().mean().sort_values(ascending=False)
    print(f"reference: {reference_rows:,} holdout flights ({per_row_ms:.1f} ms of CPU a flight)")
    print(f"  top features by mean |contribution|: {', '.join(reference.index[:6])}")
    print(f"  {'flights':>7} {'top 4 in order':>15} {'lowest Spearman':>16}")
    for size in SIZES:
        same, lowest = 0, 1.0
        for seed in range(draws):
            ranked = contributions.sample(size, random_state=seed).abs().mean().sort_values(ascending=False)
            same += list(ranked.index[:4]) == list(reference.index[:4])
            lowest = min(lowest, float(spearmanr(ranked.reindex(reference.index), reference).statistic))
        print(f"  {size:>7,} {same:>8} / {draws:<4} {lowest:>16.3f}")


def two_repeats_before(model, holdout, random_state: int):
    """The deck's estimate before 2026-12-06: two shuffles of every feature over the same
    3,000 holdout rows."""
    import pandas as pd
    from sklearn.inspection import permutation_importance

    import usecases

    case = usecases.current()
    sample = holdout.sample(3000, random_state=random_state)
    result = permutation_importance(
        model,
        sample[list(case.features)],
        sample[case.label],
        scoring="roc_auc",
        n_repeats=2,
        random_state=random_state,
    )
    return pd.Series(result.importances_mean, index=list(case.features))


def permutation_noise(model, holdout, draws: int) -> None:
    import numpy as np
    import pandas as pd
    from sklearn.inspection import permutation_importance

    import usecases
    from core import reports

    case = usecases.current()
    encoded = model[:-1].transform(holdout[list(case.features)])
    names = [str(name) for name in model[:-1].get_feature_names_out()]
    whole = permutation_importance(
        model[-1], encoded, holdout[case.label], scoring="roc_auc", n_repeats=3, random_state=0
    )
    reference = pd.Series(whole.importances_mean, index=names).sort_values(ascending=False)
    top = list(reference.index[:6])
    now, before, cpu_now, cpu_before, covered = [], [], [], [], 0
    for seed in range(draws):
        started = time.process_time()
        made = reports.feature_importance(model, holdout, random_state=seed).set_index("feature")
        cpu_now.append(time.process_time() - started)
        now.append(made["auc_drop"])
        error = (made["auc_drop"] - reference).abs().reindex(top)
        covered += int((error <= 2 * made["stderr"].reindex(top)).sum())
        started = time.process_time()
        before.append(two_repeats_before(model, holdout, seed))
        cpu_before.append(time.process_time() - started)

    def rms(estimates):
        return np.sqrt(((pd.DataFrame(estimates) - reference) ** 2).mean())

    rms_now, rms_before = rms(now), rms(before)
    print(
        f"permutation importance against every holdout flight ({len(holdout):,}, 3 shuffles), "
        f"{draws} seeds: now {reports.IMPORTANCE_PARTS} parts of {reports.IMPORTANCE_SAMPLE:,} rows "
        f"shuffled once, {np.median(cpu_now):.2f} s CPU; before 2 shuffles of 3,000 rows, "
        f"{np.median(cpu_before):.2f} s CPU (medians)"
    )
    print(f"  {'feature':<26} {'reference':>9} {'rms now':>8} {'rms before':>10}")
    for feature in top:
        print(
            f"  {feature:<26} {reference[feature]:>9.4f} {rms_now[feature]:>8.4f} "
            f"{rms_before[feature]:>10.4f}"
        )
    print(
        f"  every feature: rms now {np.sqrt((rms_now**2).mean()):.4f}, before "
        f"{np.sqrt((rms_before**2).mean()):.4f}; the top {len(top)} within 2 stated standard errors "
        f"of the reference {covered} times of {len(top) * draws}"
    )


if __name__ == "__main__":
    main()
