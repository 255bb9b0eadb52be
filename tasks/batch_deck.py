"""The batch scoring deck: scores by day and by each of the use case's slices, and their
distribution."""

from __future__ import annotations

import html

import pandas as pd
from flytekit import Deck

import usecases
from core import batch
from tasks.deck_html import table_html


def render_batch_deck(predictions: pd.DataFrame, version: str) -> None:
    Deck("Batch", batch_deck_html(predictions, version))


def batch_deck_html(predictions: pd.DataFrame, version: str) -> str:
    case = usecases.current()
    days = batch.summary_by(predictions, "day")
    body = (
        f"<h3>Batch scores: {len(predictions):,} rows, {len(days)} days, model version "
        f"{html.escape(version)}</h3><p>mean score {predictions[batch.SCORE].mean():.3f}, positive "
        f"({html.escape(case.positive_class)}) rate {predictions[case.predicted].mean():.3f}</p>"
        "<h4>Score distribution</h4>"
        + table_html(batch.score_histogram(predictions).round(3))
        + "<h4>By day</h4>"
        + table_html(days.round(4))
    )
    for column in case.slices:
        by_value = batch.summary_by(predictions, column).sort_values("rows", ascending=False)
        body += f"<h4>By {html.escape(column)}</h4>" + table_html(by_value.round(4))
    return body
