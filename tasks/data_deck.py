"""The data deck: where each row the window read went, and the feature table's profile."""

from __future__ import annotations

import pandas as pd
from flytekit import Deck

import usecases
from core import reports
from tasks.deck_html import image_html, table_html

HISTOGRAMS = 8  # the first numeric features the use case declares, as histograms


def render_data_deck(table: pd.DataFrame, rows: pd.DataFrame) -> None:
    """The feature table's profile, after `rows`: where each row the window read went
    (`core.refusals.row_account`)."""
    case = usecases.current()
    stamps = table[case.timestamp]
    summary = (
        f"<h3>Feature table</h3><p>{len(table):,} rows from {stamps.min():%Y-%m-%d} to "
        f"{stamps.max():%Y-%m-%d}; rate of {case.positive_class} {table[case.label].mean():.3f}.</p>"
    )
    Deck(
        "Data",
        summary
        + "<h3>Rows</h3>"
        + table_html(rows)
        + image_html(reports.label_rate_figure(table))
        + image_html(reports.numeric_histograms(table, list(case.numeric_features[:HISTOGRAMS])))
        + "<h3>Profile</h3>"
        + table_html(reports.feature_profile(table)),
    )
