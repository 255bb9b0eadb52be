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
