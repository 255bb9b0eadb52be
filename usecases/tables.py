"""Reading a use case's source tables: the helpers every use case's loader shares."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd


def package_data(package: str, folder: str = "data") -> str:
    """The data directory inside an installed package, found without importing the package (an
    `__init__` may parse every table at import)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{package} is not installed")
    return str(Path(next(iter(spec.submodule_search_locations))) / folder)


def read_table(source: str | Path, name: str) -> pd.DataFrame:
    """Read table `name` from `source` as parquet, csv or zipped csv, whichever exists."""
    root = Path(source)
    for suffix, reader in (
        (".parquet", pd.read_parquet),
        (".csv", pd.read_csv),
        (".csv.zip", pd.read_csv),
    ):
        path = root / f"{name}{suffix}"
        if path.exists():
            return reader(path)
    raise FileNotFoundError(f"source {root} has no table '{name}' (.parquet, .csv or .csv.zip)")


# A source that spells an event's date as three columns (year, month, day).
DATE_PARTS = ["year", "month", "day"]


def calendar_dates(table: pd.DataFrame) -> pd.Series:
    """Each row's date from its year, month and day; NaT where they form no calendar date."""
    parts = table.reindex(columns=DATE_PARTS).apply(pd.to_numeric, errors="coerce")
    return pd.to_datetime(parts, errors="coerce")


def calendar_date_cells(table: pd.DataFrame) -> pd.DataFrame:
    """A pandera check's answer that year, month and day form a calendar date: one answer per
    cell, false only in the date parts of a row whose date is not one (February 30), so the
    failure cases show the date, not every value of the row. Each part may be in range while the
    date is not: such a row belongs to no window, so a source keeps it in every window and the
    schema refuses it."""
    answer = pd.DataFrame(True, index=table.index, columns=table.columns)
    valid = calendar_dates(table).notna()
    for part in answer.columns.intersection(DATE_PARTS):
        answer[part] = valid
    return answer
