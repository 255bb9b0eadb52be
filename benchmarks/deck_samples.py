"""How many explained flights the evaluation deck needs: do smaller samples tell the same story?

    .venv/bin/python benchmarks/deck_samples.py [--reference 4000] [--draws 20]

On the judged model of the training workflow as of 2013-07-01 (fit here on January-May 2013,
June held out), exact contributions of `--reference` holdout flights are the reference. For
each candidate sample size, `--draws` samples of the reference rows: how often the deck's top
four features by mean |contribution| (the ones whose spread it shows) come out in the
reference's order, and the lowest Spearman correlation of the whole ranking with the reference.
Then the permutation importance the deck shows (3,000 rows, 2 repeats) with three seeds, for
its own noise: the ranking a sample size must reproduce is no steadier than that.
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
    args = parser.parse_args()

    from scipy.stats import spearmanr

    from core import explanations, reports
    from core.features import month_window, split_by_time
    from core.model import fit, use_case_hyperparameters
    from usecases.flights.features import build_features
    from usecases.flights.source import load_window

    window = month_window(datetime(2013, 7, 1), 0, 1)
    train, holdout = split_by_time(
        build_features(load_window("", window.train_start, window.end)), window.holdout_start
    )
    model = fit(train, use_case_hyperparameters())
    started = time.process_time()
    contributions, _ = explanations.contributions_frame(
        model, holdout.sample(args.reference, random_state=123)
    )
    per_row_ms = (time.process_time() - started) / args.reference * 1000
    reference = contributions.abs().mean().sort_values(ascending=False)
    print(f"reference: {args.reference:,} holdout flights ({per_row_ms:.1f} ms of CPU a flight)")
    print(f"  top features by mean |contribution|: {', '.join(reference.index[:6])}")
    print(f"  {'flights':>7} {'top 4 in order':>15} {'lowest Spearman':>16}")
    for size in SIZES:
        same, lowest = 0, 1.0
        for seed in range(args.draws):
            ranked = contributions.sample(size, random_state=seed).abs().mean().sort_values(ascending=False)
            same += list(ranked.index[:4]) == list(reference.index[:4])
            lowest = min(lowest, float(spearmanr(ranked.reindex(reference.index), reference).statistic))
        print(f"  {size:>7,} {same:>8} / {args.draws:<4} {lowest:>16.3f}")
    print(f"permutation importance, {reports.IMPORTANCE_SAMPLE:,} rows, 2 repeats, by seed (top 5):")
    for seed in range(3):
        importance = reports.feature_importance(model, holdout, random_state=seed)
        print(f"  seed {seed}: " + ", ".join(f"{f} {d:.3f}" for f, d in importance.head(5).to_numpy()))


if __name__ == "__main__":
    main()
