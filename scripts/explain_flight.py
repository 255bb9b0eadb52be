"""Print why the model scores one real flight as it does: the worked example of docs/explanations.md.

    python -m scripts.explain_flight [--flight-id 2013-06-07_UA1575_EWR] [--bundle DIR | --version N]

The model: a bundle directory (`--bundle`), a registered version (`--version`, from the project's
MLflow store, as `make demo` leaves it), or, by default, the model the training workflow fits as
of 2013-07-01 (January-May 2013, default hyperparameters), fitted here in process. The flight is
looked up in the real June 2013 data by its `flight_id` (date_carrierflight_origin).
"""

from __future__ import annotations

import argparse
import math
from datetime import datetime
from pathlib import Path

DEFAULT_FLIGHT = "2013-06-07_UA1575_EWR"


def _model(bundle: str | None, version: str | None):
    from contract.bundle import load_bundle

    if bundle:
        return load_bundle(bundle, require_reference=False).model, f"bundle {bundle}"
    if version:
        import tempfile

        from core import registry

        directory = registry.download_bundle(registry.MODEL_NAME, version, Path(tempfile.mkdtemp()))
        return load_bundle(directory, require_reference=False).model, f"registered version {version}"
    from core import features
    from core.model import Hyperparameters, fit
    from usecases.flights import source
    from usecases.flights.features import build_features

    window = features.month_window(datetime(2013, 7, 1), 5, 1)
    table = build_features(source.load_window("", window.train_start, window.holdout_start))
    return fit(table, Hyperparameters()), "the default model as of 2013-07-01, fitted in process"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flight-id", default=DEFAULT_FLIGHT)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--bundle")
    which.add_argument("--version")
    args = parser.parse_args()

    from core import explanations
    from core.model import Hyperparameters
    from usecases.flights import source
    from usecases.flights.features import build_features
    from usecases.flights.schemas import FEATURES, KEY

    june = build_features(source.load_window("", datetime(2013, 6, 1), datetime(2013, 7, 1)))
    flight = june.loc[june[KEY] == args.flight_id]
    if flight.empty:
        raise SystemExit(f"no flight {args.flight_id!r} in June 2013 (ids look like {june[KEY].iloc[0]!r})")
    model, described = _model(args.bundle, args.version)
    contributions, base = explanations.contributions_frame(model, flight)
    row = contributions.iloc[0]
    raw = base + row.sum()
    probability = model.predict_proba(flight[FEATURES])[0, 1]
    threshold = Hyperparameters().threshold

    print(f"model: {described}")
    print(f"flight {args.flight_id}: scheduled {flight['sched_dep'].iloc[0]:%Y-%m-%d %H:%M}, ", end="")
    print(f"arrived 15+ min late or not at all: {'yes' if flight['late'].iloc[0] else 'no'}")
    base_probability = 1 / (1 + math.exp(-base))
    print(f"base value (training average log-odds)  {base:+.4f}   probability {base_probability:.4f}")
    print(f"{'feature':24} {'value':>12} {'contribution':>13}")
    for name in row.abs().sort_values(ascending=False, kind="stable").index:
        value = flight[name].iloc[0]
        shown = value if isinstance(value, str) else ("missing" if value != value else f"{value:.4g}")
        print(f"{name:24} {shown:>12} {row[name]:+13.4f}")
    print(f"base + contributions (log-odds)          {raw:+.4f}")
    print(f"probability 1 / (1 + exp(-{raw:.4f}))     {1 / (1 + math.exp(-raw)):.4f}")
    print(f"model's predict_proba                    {probability:.4f}")
    print(f"predicted_late at threshold {threshold}:       {int(probability >= threshold)}")


if __name__ == "__main__":
    main()
