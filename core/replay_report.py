"""The replay's table as text (for the terminal) and as a self-contained HTML page."""

from __future__ import annotations

import html
import math
from pathlib import Path

import pandas as pd

COLUMNS = {
    "month": "month",
    "champion": "champion version",
    "holdout_auc": "holdout AUC",
    "realized_auc": "realized AUC",
    "worst_feature": "worst-drift feature",
    "worst_psi": "its PSI",
    "score_psi": "score PSI",
    "decision": "decision",
    "retrain": "retrain result",
}


def as_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[*COLUMNS, "reasons", "seconds"])


def _cell(value) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4f}"
    return str(value)


def text_table(frame: pd.DataFrame) -> str:
    shown = frame[list(COLUMNS)].rename(columns=COLUMNS)
    return shown.to_string(index=False, formatters={c: _cell for c in shown.columns})


def write_html(frame: pd.DataFrame, path: Path, title: str, notes: list[str]) -> Path:
    header = "".join(f"<th>{html.escape(label)}</th>" for label in COLUMNS.values())
    body = []
    for row in frame.to_dict("records"):
        colour = {"ok": "#e8f5e9", "drift": "#fff8e1", "decay": "#ffebee"}.get(row["decision"], "")
        cells = "".join(f"<td>{html.escape(_cell(row[c]))}</td>" for c in COLUMNS)
        reasons = "<br>".join(html.escape(r) for r in row["reasons"])
        body.append(
            f'<tr style="background:{colour}">{cells}</tr>'
            f'<tr><td></td><td colspan="{len(COLUMNS) - 1}"><small>{reasons}</small></td></tr>'
        )
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}th{{background:#eee}}</style>
</head><body><h1>{html.escape(title)}</h1><ul>{items}</ul>
<table><tr>{header}</tr>{"".join(body)}</table></body></html>
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page)
    return path
