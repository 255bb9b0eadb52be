"""Print why the model scores one real event as it does: the worked example of docs/explanations.md.

    python -m scripts.explain_row --key KEY [--as-of YYYY-MM-DD] [--bundle DIR | --version N]

For the use case of the process (`MLOPS_USE_CASE`, default `usecases.DEFAULT`; `make ... USE_CASE=`). The
event: the row whose key (the use case's `key`) is KEY among the month before `--as-of` (default:
the use case's first demo date), as the loop builds it. The model: a bundle directory
(`--bundle`), a registered version of the use case's model (`--version`, from the project's MLflow
store, as `make demo` leaves it), or, by default, the model the training workflow fits as of
`--as-of` (the five months before that month, the use case's hyperparameters), fitted here in
process.
"""

from __future__ import annotations

import argparse
import math
from datetime import datetime
from pathlib import Path


def _model(case, window, bundle: str | None, version: str | None):
    from contract.bundle import load_bundle

    if bundle:
        return load_bundle(bundle, require_reference=False).model, f"bundle {bundle}"
    if version:
        import tempfile

        from core import registry

        directory = registry.download_bundle(case.model_name, version, Path(tempfile.mkdtemp()))
        return load_bundle(directory, require_reference=False).model, f"registered version {version}"
    from core.model import fit, use_case_hyperparameters

    table = case.build_features(case.load_window("", window.train_start, window.holdout_start), None)
    return fit(
        table, use_case_hyperparameters(case)
    ), f"the default model as of {window.end:%Y-%m-%d}, fitted in process"


def main() -> None:
    import usecases

    case = usecases.current()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key", required=True, help=f"the event's {case.key}")
    parser.add_argument(
        "--as-of", type=datetime.fromisoformat, default=None, help="default: the first demo date"
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--bundle")
    which.add_argument("--version")
    args = parser.parse_args()
    as_of = args.as_of or (case.demo_as_of[0] if case.demo_as_of else None)
    if as_of is None:
        parser.error(f"use case '{case.name}' declares no demo date: give --as-of")

    import pandas as pd

    from core import explanations, features
    from core.model import use_case_hyperparameters

    window = features.month_window(as_of, 5, 1)  # the training workflow's: the event is held out
    events = case.build_features(case.load_window("", window.holdout_start, window.end), None)
    row = events.loc[events[case.key].astype(str) == args.key]
    if row.empty:
        example = events[case.key].iloc[0] if len(events) else "none"
        raise SystemExit(
            f"no {case.key} {args.key!r} in {window.holdout_start:%Y-%m} (one there: {example!r})"
        )
    model, described = _model(case, window, args.bundle, args.version)
    contributions, base = explanations.contributions_frame(model, row)
    contribution = contributions.iloc[0]
    raw = base + contribution.sum()
    probability = model.predict_proba(row[list(case.features)])[0, 1]
    threshold = use_case_hyperparameters(case).threshold
    truth = row[case.label].iloc[0]
    if pd.isna(truth):
        known = "not known yet"
    else:
        known = f"{int(truth)} ({case.positive_class if int(truth) else case.negative_class})"
    when = f"{case.timestamp} {row[case.timestamp].iloc[0]:%Y-%m-%d %H:%M}"

    print(f"model: {described}")
    print(f"{case.key} {args.key}: {when}, {case.label}: {known}")
    base_probability = 1 / (1 + math.exp(-base))
    print(f"base value (training average log-odds)  {base:+.4f}   probability {base_probability:.4f}")
    print(f"{'feature':24} {'value':>12} {'contribution':>13}")
    for name in contribution.abs().sort_values(ascending=False, kind="stable").index:
        value = row[name].iloc[0]
        shown = value if isinstance(value, str) else ("missing" if value != value else f"{value:.4g}")
        print(f"{name:24} {shown:>12} {contribution[name]:+13.4f}")
    print(f"base + contributions (log-odds)          {raw:+.4f}")
    print(f"probability 1 / (1 + exp(-{raw:.4f}))     {1 / (1 + math.exp(-raw)):.4f}")
    print(f"model's predict_proba                    {probability:.4f}")
    print(f"{case.predicted} at threshold {threshold}:       {int(probability >= threshold)}")


if __name__ == "__main__":
    main()
