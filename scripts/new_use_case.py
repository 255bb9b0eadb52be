"""Scaffold a use case from one table: `make new-use-case NAME=... CSV=... TIME=... LABEL=...`.

Writes `usecases/<name>/`, a package the whole loop runs as it is: the table copied under
`data/` (the data shipped with the use case), a sample of it under `fixtures/` (what the tests
run on), pandera schemas inferred from the table (dtypes, nullability and the observed ranges,
to review), a loader and a feature builder, the declaration, a sample request and a docs page;
then what `make manifests` makes of it (`seldon/k8s/usecases/<name>/`: alert and recording rules,
dashboard, the kustomize component and overlays), so the new use case deploys at once.
Every choice the scaffold made for you is marked `REVIEW:` in the files: read them before you
trust a model trained on it (above all, that every feature is known at the event's time).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
TABLE = "events"
FIXTURE_ROWS = 3000
_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


class ScaffoldError(ValueError):
    """A table or an option the scaffold cannot turn into a use case: the message names it."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="use case name: lower-case letters, digits, hyphens")
    parser.add_argument(
        "--csv", required=True, type=Path, help="the table: one row per event (.csv or .parquet)"
    )
    parser.add_argument(
        "--time", required=True, help="column holding each event's time (its prediction time)"
    )
    parser.add_argument("--label", required=True, help="column holding the outcome")
    parser.add_argument(
        "--positive", default=None, help="the label value that is the positive class (default 1)"
    )
    parser.add_argument(
        "--key", default=None, help="column that identifies an event (default: made from time)"
    )
    parser.add_argument("--entity", default=None, help="column naming what an event is about (a slice)")
    parser.add_argument(
        "--maturity-hours", type=float, default=0.0, help="hours until an event's truth is known"
    )
    parser.add_argument("--into", type=Path, default=REPO / "usecases", help="where use case packages live")
    parser.add_argument(
        "--k8s", type=Path, default=REPO / "seldon" / "k8s", help="where the manifests go (seldon/k8s)"
    )
    args = parser.parse_args(argv)
    try:
        folder = scaffold(
            args.name,
            args.csv,
            args.time,
            args.label,
            args.into,
            positive=args.positive,
            key=args.key,
            entity=args.entity,
            maturity_hours=args.maturity_hours,
        )
    except ScaffoldError as error:
        print(f"new-use-case: {error}", file=sys.stderr)
        return 2
    write_manifests(args.name, args.into, args.k8s)
    print(f"wrote {folder} and its manifests, {args.k8s / 'usecases' / args.name}")
    print(f"review every 'REVIEW:' line, then `make demo USE_CASE={args.name}`")
    return 0


def write_manifests(name: str, into: Path, k8s: Path) -> list[Path]:
    """What `make manifests` makes for the use case `name` just written under `into`
    (seldon/k8s/generate.py), under `k8s` (a seldon/k8s): the files written."""
    import usecases
    from seldon.k8s import generate

    if str(into) not in usecases.__path__ and str(Path(into).resolve()) not in usecases.__path__:
        usecases.__path__.append(str(into))  # a package written outside usecases/ (--into)
    usecases.load.cache_clear()
    return generate.write(usecases.load(name), k8s)


def scaffold(
    name: str,
    table_path: Path,
    time: str,
    label: str,
    into: Path,
    *,
    positive: str | None = None,
    key: str | None = None,
    entity: str | None = None,
    maturity_hours: float = 0.0,
) -> Path:
    if not _NAME.fullmatch(name):
        raise ScaffoldError(
            f"--name '{name}': lower-case letters, digits and single hyphens, starting with a letter"
        )
    folder = Path(into) / name.replace("-", "_")
    if folder.exists():
        raise ScaffoldError(f"{folder} exists: choose another name or remove it")
    table, positive_value = _checked_table(Path(table_path), time, label, key, entity, positive)
    if maturity_hours < 0:
        raise ScaffoldError("--maturity-hours must be zero or more")

    features = [c for c in table.columns if c not in {time, label, key}]
    categorical = [c for c in features if not pd.api.types.is_numeric_dtype(table[c])]
    numeric = [c for c in features if pd.api.types.is_numeric_dtype(table[c])]
    if not features:
        raise ScaffoldError("the table has no column besides time, key and label to learn from")
    table = table.sort_values(time, kind="stable").reset_index(drop=True)
    title = f"{name.replace('-', ' ')}: will the outcome be positive?"
    cls = "".join(part.title() for part in re.split(r"[-_]", name))

    demo = _write_data(folder, table, time)
    slices = list(dict.fromkeys(c for c in ([entity] if entity else []) + categorical if c in categorical))[
        :2
    ]
    (folder / "schemas.py").write_text(_schemas_module(table, cls, time, label, key, categorical, numeric))
    (folder / "data.py").write_text(_data_module(time, label, key, positive_value, categorical, numeric))
    (folder / "__init__.py").write_text(
        _declaration(name, title, cls, time, label, key, categorical, numeric, slices, maturity_hours, demo)
    )
    sample = {
        c: _json_value(table[c].dropna().iloc[0]) for c in categorical + numeric if table[c].notna().any()
    }
    (folder / "sample_request.json").write_text(json.dumps({"jsonData": sample}, indent=2) + "\n")
    (folder / "README.md").write_text(
        _docs_page(
            name, title, table_path, table, time, label, positive_value, maturity_hours, categorical, numeric
        )
    )
    _format(folder)
    return folder


def _checked_table(
    table_path: Path, time: str, label: str, key: str | None, entity: str | None, positive: str | None
) -> tuple[pd.DataFrame, Any]:
    """The table with its times read, and the label value that is the positive class; a column
    named that the table lacks, a time column with no time, or a repeated key is refused."""
    table = _read(table_path)
    for option, column in (("--time", time), ("--label", label), ("--key", key), ("--entity", entity)):
        if column is not None and column not in table.columns:
            raise ScaffoldError(
                f"{option} '{column}' is not a column of {table_path} (has {list(table.columns)})"
            )
    table[time] = _naive(table[time])
    if table[time].isna().all():
        raise ScaffoldError(f"--time '{time}': no value reads as a date and time")
    positive_value = _positive(table[label], positive)
    if key is not None and table[key].duplicated().any():
        raise ScaffoldError(f"--key '{key}' repeats: {int(table[key].duplicated().sum())} duplicate values")
    return table, positive_value


def _write_data(folder: Path, table: pd.DataFrame, time: str) -> list[datetime]:
    """The table under data/, every n-th row as the fixture; the demo dates: the first two months
    of the table's last third (its last time when it spans less)."""
    (folder / "data").mkdir(parents=True)
    (folder / "fixtures").mkdir()
    table.to_csv(folder / "data" / f"{TABLE}.csv", index=False)
    step = max(1, len(table) // FIXTURE_ROWS)
    table.iloc[::step].to_csv(folder / "fixtures" / f"{TABLE}.csv", index=False)
    months = pd.date_range(table[time].min(), table[time].max(), freq="MS")
    return [m.to_pydatetime() for m in months[len(months) * 2 // 3 :][:2]] or [
        table[time].max().to_pydatetime()
    ]


def _format(folder: Path) -> None:
    """The project's formatter on the new files, so they read like the rest of the code."""
    import subprocess

    subprocess.run([sys.executable, "-m", "ruff", "format", "--quiet", str(folder)], check=False)
    subprocess.run([sys.executable, "-m", "ruff", "check", "--quiet", "--fix", str(folder)], check=False)


def _read(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise ScaffoldError(f"--csv {path}: no such file")
    table = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    if len(table) < 100:
        raise ScaffoldError(
            f"--csv {path}: {len(table)} rows; a use case needs enough events to train and judge"
        )
    table.columns = [_identifier(c) for c in table.columns]
    return table


def _naive(values: pd.Series) -> pd.Series:
    """Times as naive timestamps: an offset (a trailing Z) is converted to UTC and dropped, so
    that windows compare one clock; times without an offset are kept as they are."""
    return pd.to_datetime(values, errors="coerce", utc=True).dt.tz_convert(None)


def _identifier(column: str) -> str:
    name = re.sub(r"\W+", "_", str(column).strip()).strip("_").lower()
    return name if name and not name[0].isdigit() else f"c_{name}"


def _positive(labels: pd.Series, positive: str | None):
    values = labels.dropna().unique()
    if positive is None:
        if set(values) <= {0, 1}:  # True and False compare equal to 1 and 0
            return 1
        raise ScaffoldError(
            f"--label has values {sorted(map(str, values))[:5]}: name the positive one with --positive"
        )
    matches = [v for v in values if str(v) == positive]
    if not matches:
        raise ScaffoldError(
            f"--positive '{positive}' never occurs in the label (values: {sorted(map(str, values))[:5]})"
        )
    if len(values) != 2:
        raise ScaffoldError(
            f"--label must take two values, has {len(values)}: {sorted(map(str, values))[:5]}"
        )
    return _json_value(matches[0])


def _json_value(value):
    return value.item() if isinstance(value, np.generic) else value


def _range(series: pd.Series) -> str:
    low, high = float(series.min()), float(series.max())
    return f'in_range={{"min_value": {low!r}, "max_value": {high!r}}}, '


def _schemas_module(table, cls, time, label, key, categorical, numeric) -> str:
    def field(column: str, coerce: bool) -> str:
        series = table[column]
        nullable = "nullable=True, "  # a reading may be missing: the trees route it
        if column in categorical:
            return f"    {column}: Series[str] = pa.Field({nullable}coerce=True)\n"
        bounds = _range(series) if series.notna().any() else ""
        return f"    {column}: Series[float] = pa.Field({nullable}{bounds}coerce={coerce})\n"

    raw_fields = "".join(field(c, True) for c in categorical + numeric)
    feature_fields = "".join(field(c, False) for c in categorical + numeric)
    label_kind = "str" if table[label].dtype == object else "float"
    key_field = f"    {key}: Series[str] = pa.Field(unique=True, coerce=True)\n" if key else ""
    return f'''"""pandera models of the raw events and the feature table (inferred from the table by the
scaffold: REVIEW: the dtypes, what may be missing and the ranges, which are the observed ones)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series


class Raw{cls}(pa.DataFrameModel):
    """One row per event as the source gives it."""

{key_field}    {time}: Series[pd.Timestamp] = pa.Field(coerce=True)
    {label}: Series[{label_kind}] = pa.Field(nullable=True, coerce=True)
{raw_fields}
    @pa.dataframe_check(error="the window holds no events: check the source and [start, end)")
    def window_not_empty(cls, df: pd.DataFrame) -> bool:
        return len(df) > 0

    class Config:
        strict = "filter"


class {cls}Features(pa.DataFrameModel):
    """One row per event: key, time, features, and the label (missing until known)."""

    event_id: Series[str] = pa.Field(unique=True)
    {time}: Series[pd.Timestamp]
{feature_fields}    outcome: Series[pd.Int64Dtype] = pa.Field(nullable=True, isin=[0, 1], coerce=True)

    class Config:
        strict = True
        ordered = False
'''


def _key_expression(key: str | None, time: str) -> str:
    """The generated code of an event's key: the key column, or its time and row number."""
    if key:
        return f'raw["{key}"].astype(str)'
    return f'raw["{time}"].dt.strftime("%Y-%m-%dT%H:%M:%S") + "_" + raw.index.astype(str)'


def _data_module(time, label, key, positive_value, categorical, numeric) -> str:
    key_expr = _key_expression(key, time)
    return f'''"""Read the events of a window and build the feature table.

REVIEW: every feature must be known at the event's time `{time}` (the prediction time): a column
filled in after the fact (an outcome, a later status) leaks the answer and must go.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
TABLE = "{TABLE}"
CATEGORICAL = {categorical!r}
NUMERIC = {numeric!r}
POSITIVE = {positive_value!r}  # the label value that counts as the positive class (1)


def load_window(source_dir: str, start: datetime, end: datetime) -> pd.DataFrame:
    """Events whose time lies in [start, end), from `source_dir` (empty: the table shipped in data/)."""
    root = Path(source_dir) if source_dir else HERE / "data"
    path = root / f"{{TABLE}}.parquet"
    table = pd.read_parquet(path) if path.exists() else pd.read_csv(root / f"{{TABLE}}.csv")
    # An offset (a trailing Z) is converted to UTC and dropped: windows compare naive times.
    times = pd.to_datetime(table["{time}"], errors="coerce", utc=True).dt.tz_convert(None)
    keep = times.isna() | ((times >= _naive(start)) & (times < _naive(end)))
    return table.loc[keep].assign({time}=times[keep]).reset_index(drop=True)


def build_features(raw: pd.DataFrame, known_at: datetime | None, maturity: pd.Timedelta) -> pd.DataFrame:
    """One row per event; the label is 1 for POSITIVE, 0 otherwise, missing where the source has
    none or the event is younger than `maturity` at `known_at` (None: every outcome final)."""
    table = pd.DataFrame({{"event_id": {key_expr}, "{time}": raw["{time}"]}})
    for column in CATEGORICAL:
        table[column] = raw[column].astype("string").astype(object).where(raw[column].notna())
    for column in NUMERIC:
        table[column] = pd.to_numeric(raw[column], errors="coerce").astype("float64")
    given = raw["{label}"]
    if isinstance(POSITIVE, str):
        positive = given.astype(str) == POSITIVE
    else:
        positive = pd.to_numeric(given, errors="coerce") == POSITIVE
    label = positive.astype("Int64").where(given.notna().to_numpy())
    if known_at is not None:
        label = label.where((raw["{time}"] + maturity <= _naive(known_at)).to_numpy())
    table["outcome"] = label
    table = table.drop_duplicates("event_id").sort_values(["{time}", "event_id"], kind="stable")
    return table.reset_index(drop=True)


def _naive(moment: datetime) -> pd.Timestamp:
    """Flyte hands datetimes over in UTC; the table's times are naive (UTC where they had an offset)."""
    stamp = pd.Timestamp(moment)
    return stamp.tz_convert(None) if stamp.tzinfo is not None else stamp
'''


def _declaration(
    name, title, cls, time, label, key, categorical, numeric, slices, maturity_hours, demo
) -> str:
    demo_text = ", ".join(f"datetime({d.year}, {d.month}, {d.day})" for d in demo)
    return f'''"""{title}: REVIEW: say in one line what is predicted (the scaffold could not know)."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import pandas as pd

from usecases.spec import UseCase

from . import data, schemas

MATURITY = timedelta(hours={maturity_hours!r})  # REVIEW: how long after an event its truth is known

USE_CASE = UseCase(
    name="{name}",
    title="{title}",  # REVIEW
    model_name="{name}",
    load_window=data.load_window,
    raw_schema=schemas.Raw{cls},
    feature_schema=schemas.{cls}Features,
    build_features=partial(data.build_features, maturity=pd.Timedelta(MATURITY)),
    key="event_id",
    timestamp="{time}",
    label="outcome",
    positive_class="positive",  # REVIEW: a word for the positive outcome (the flag is predicted_<it>)
    negative_class="negative",
    label_maturity=MATURITY,
    categorical_features={tuple(categorical)!r},
    numeric_features={tuple(numeric)!r},
    slices={tuple(slices)!r},
    threshold=0.5,  # REVIEW: choose it on data before the months you judge on
    package_dir=Path(__file__).resolve().parent,
    demo_as_of=({demo_text},),
)
'''


def _docs_page(
    name, title, source, table, time, label, positive, maturity_hours, categorical, numeric
) -> str:
    span = f"{table[time].min():%Y-%m-%d} to {table[time].max():%Y-%m-%d}"
    return f"""# {title}

REVIEW: what this use case predicts, for whom, and what acting on it means.

- Source: `{Path(source).name}`, {len(table):,} events from {span}, copied to `data/{TABLE}.csv`;
  `fixtures/{TABLE}.csv` is a sample of it the tests run on.
- Label: `outcome` (the truth the loop learns and judges on) is 1 where `{label}` is
  `{positive}`; its truth is known {maturity_hours:g} hours after `{time}` (the label maturity).
- Features: categorical {", ".join(categorical) or "none"}; numeric {", ".join(numeric) or "none"}.
  REVIEW: each must be known at `{time}`.

Run it: `make demo USE_CASE={name}`.
"""


if __name__ == "__main__":
    raise SystemExit(main())
