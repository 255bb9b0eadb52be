"""The data deck: where each row the window read went, and the feature table's profile."""

from __future__ import annotations

import pandas as pd
from flytekit import Deck

from core import reports
from tasks.deck_html import image_html, table_html

DATA_HISTOGRAMS = [
    "dep_hour",
    "distance",
    "temp",
    "wind_speed",
    "visib",
    "precip",
    "origin_hour_departures",
    "plane_age",
]


def render_data_deck(table: pd.DataFrame, rows: pd.DataFrame) -> None:
    """The feature table's profile, after `rows`: where each row the window read went
    (`core.refusals.row_account`)."""
    summary = (
        f"<h3>Feature table</h3><p>{len(table):,} flights from {table['sched_dep'].min():%Y-%m-%d} to "
        f"{table['sched_dep'].max():%Y-%m-%d}; late-arrival rate {table['late'].mean():.3f}.</p>"
    )
    Deck(
        "Data",
        summary
        + "<h3>Rows</h3>"
        + table_html(rows)
        + image_html(reports.label_rate_figure(table))
        + image_html(reports.numeric_histograms(table, DATA_HISTOGRAMS))
        + "<h3>Profile</h3>"
        + table_html(reports.feature_profile(table)),
    )
