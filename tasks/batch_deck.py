"""The batch scoring deck: scores by day and by carrier, and their distribution."""

from __future__ import annotations

import pandas as pd
from flytekit import Deck

from core import batch
from tasks.deck_html import table_html


def render_batch_deck(predictions: pd.DataFrame, version: str) -> None:
    days = batch.summary_by(predictions, "day")
    carriers = batch.summary_by(predictions, "carrier").sort_values("flights", ascending=False)
    head = (
        f"<h3>Batch scores: {len(predictions):,} flights, {len(days)} days, "
        f"model version {version}</h3>"
        f"<p>mean score {predictions['score'].mean():.3f}, positive (flagged) rate "
        f"{predictions['predicted_late'].mean():.3f}</p>"
    )
    Deck(
        "Batch",
        head
        + "<h4>Score distribution</h4>"
        + table_html(batch.score_histogram(predictions).round(3))
        + "<h4>By day</h4>"
        + table_html(days.round(4))
        + "<h4>By carrier</h4>"
        + table_html(carriers.round(4)),
    )
