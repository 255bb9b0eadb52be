"""The replay's tables as text (for the terminal) and as a self-contained HTML page with a chart:
realized AUC by month, one line per policy, a marker where a retrained model starts serving."""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd

POLICY_NAMES = {
    "never": "never retrain",
    "monthly": "retrain monthly",
    "loop": "this loop",
}
COLUMNS = {
    "month": "month",
    "auc_never": "AUC never",
    "auc_monthly": "AUC monthly",
    "auc_loop": "AUC loop",
    "model_never": "never model (fit on)",
    "model_monthly": "monthly model (fit on)",
    "model_loop": "loop model (fit on)",
    "decision": "loop decision",
    "alarm": "drift alarm -> decay?",
    "plain_alarm": "plain rule",
    "retrain": "loop retrain",
    "gain_interval": "AUC gain [90 % interval]",
    "online_gate": "online gate on the challenger",
}
COLOURS = {"never": "#8c8c8c", "monthly": "#4C72B0", "loop": "#C44E52"}
# Where two policies serve the same model their lines coincide: styles keep both visible.
STYLES = {"never": ("o", ":", 1.5), "monthly": ("s", "--", 1.5), "loop": ("o", "-", 3.0)}
OFFSETS = {"never": (6, -12), "monthly": (6, 8), "loop": (-22, 8)}


def _alarm(alarm: bool, decayed: bool) -> str:
    if alarm:
        return "hit" if decayed else "false alarm"
    return "missed decay" if decayed else "quiet"


def as_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for policy in POLICY_NAMES:  # "v3 01-01..07-31": the version and the days it fit
        frame[f"model_{policy}"] = frame[f"version_{policy}"] + " " + frame[f"fit_{policy}"]
    frame["alarm"] = [_alarm(a, d) for a, d in zip(frame["drift_alarm"], frame["decayed"], strict=True)]
    frame["plain_alarm"] = [
        _alarm(a, d) for a, d in zip(frame["feature_alarm"], frame["decayed"], strict=True)
    ]
    return frame


def alarm_summary(frame: pd.DataFrame, column: str) -> str:
    counts = frame[column].value_counts()
    return ", ".join(f"{counts.get(k, 0)} {k}" for k in ("hit", "false alarm", "missed decay", "quiet"))


def costs_table(
    frame: pd.DataFrame, trained: dict[str, list[str]], cpu_seconds: Callable[[str], float]
) -> pd.DataFrame:
    """Per policy: mean realized AUC over the months, trainings run and their fit CPU seconds."""
    rows = []
    for policy, versions in trained.items():
        seconds = [cpu_seconds(v) for v in versions]
        rows.append(
            {
                "policy": POLICY_NAMES[policy],
                "mean AUC": float(frame[f"auc_{policy}"].mean()),
                "trainings": len(versions),
                "versions": ", ".join(f"v{v}" for v in versions),
                "fit CPU s": float(sum(seconds)),
            }
        )
    return pd.DataFrame(rows)


def verdict(frame: pd.DataFrame, costs: pd.DataFrame) -> str:
    """One honest sentence: did the loop beat never retraining, and at what cost."""
    by = costs.set_index("policy")
    never, monthly, loop = (by.loc[POLICY_NAMES[p]] for p in ("never", "monthly", "loop"))
    gain = loop["mean AUC"] - never["mean AUC"]
    months_better = int((frame["auc_loop"] > frame["auc_never"]).sum())
    head = (
        f"The loop {'beat' if gain > 0 else 'did not beat'} never retraining: mean realized AUC "
        f"{loop['mean AUC']:.4f} vs {never['mean AUC']:.4f} ({gain:+.4f}, better in {months_better} "
        f"of {len(frame)} months)"
    )
    gains = frame.attrs.get("gains")
    if gains:
        head += "; " + "; ".join(
            f"loop minus {POLICY_NAMES[baseline]} {g.gain:+.4f}, {g.confidence:.0%} paired-bootstrap "
            f"interval [{g.low:+.4f}, {g.high:+.4f}] over the months' events"
            for baseline, g in gains.items()
        )
    return (
        f"{head}, at {int(loop['trainings']) - 1} retrain(s) and {loop['fit CPU s']:.0f} fit CPU s "
        f"in all, against {int(monthly['trainings']) - 1} retrains and {monthly['fit CPU s']:.0f} "
        f"CPU s for retraining monthly (mean AUC {monthly['mean AUC']:.4f})."
    )


def _cell(value) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4f}"
    return str(value)


def text_table(frame: pd.DataFrame) -> str:
    shown = frame[list(COLUMNS)].rename(columns=COLUMNS)
    table = shown.to_string(index=False, formatters={c: _cell for c in shown.columns})
    costs = frame.attrs.get("costs")
    if costs is None:
        return table
    return (
        table
        + "\n\n"
        + costs.to_string(index=False, formatters={"mean AUC": _cell, "fit CPU s": "{:.0f}".format})
    )


def chart_png(frame: pd.DataFrame) -> bytes:
    """Realized AUC by month, one line per policy; a triangle where a policy's model changed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from core.reports import png

    figure, axis = plt.subplots(figsize=(9, 4.5))
    x = list(range(len(frame)))
    for policy in ("loop", "monthly", "never"):
        name, auc = POLICY_NAMES[policy], frame[f"auc_{policy}"].to_numpy()
        marker, line, width = STYLES[policy]
        axis.plot(x, auc, marker=marker, linestyle=line, color=COLOURS[policy], label=name, linewidth=width)
        versions = frame[f"version_{policy}"].tolist()
        changed = [i for i in range(1, len(versions)) if versions[i] != versions[i - 1]]
        if changed:
            axis.scatter(
                changed, auc[changed], marker="^", s=140, color=COLOURS[policy], zorder=3, edgecolor="black"
            )
            for i in changed:
                axis.annotate(
                    versions[i],
                    (i, auc[i]),
                    textcoords="offset points",
                    xytext=OFFSETS[policy],
                    fontsize=8,
                    color=COLOURS[policy],
                )
    axis.set_xticks(x, frame["month"].tolist())
    axis.set(title="Realized ROC AUC by month (triangle: a retrained model starts serving)", ylabel="ROC AUC")
    axis.grid(alpha=0.3)
    axis.margins(x=0.06, y=0.15)
    axis.legend()
    return png(figure)


def write_html(frame: pd.DataFrame, costs: pd.DataFrame, path: Path, title: str, notes: list[str]) -> Path:
    frame.attrs["costs"] = costs
    header = "".join(f"<th>{html.escape(label)}</th>" for label in COLUMNS.values()) + "<th>decks</th>"
    body = []
    for row in frame.to_dict("records"):
        colour = {"ok": "#e8f5e9", "drift": "#fff8e1", "decay": "#ffebee"}.get(row["decision"], "")
        cells = "".join(f"<td>{html.escape(_cell(row[c]))}</td>" for c in COLUMNS)
        links = " ".join(
            f'<a href="{html.escape(target)}">{html.escape(task.replace("_", " "))}</a>'
            for task, target in row["decks"].items()
        )
        reasons = "<br>".join(html.escape(r) for r in row["reasons"])
        body.append(
            f'<tr style="background:{colour}">{cells}<td>{links}</td></tr>'
            f'<tr><td></td><td colspan="{len(COLUMNS)}"><small>{reasons}</small></td></tr>'
        )
    chart = base64.b64encode(chart_png(frame)).decode()
    costs_html = costs.to_html(index=False, float_format=lambda v: f"{v:.4f}" if v < 1 else f"{v:.0f}")
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    summary = (
        f"<p><b>{html.escape(verdict(frame, costs))}</b></p>"
        f"<p>Drift alarms (this rule): {alarm_summary(frame, 'alarm')}. "
        f"Plain rule (any feature PSI above the line): {alarm_summary(frame, 'plain_alarm')}.</p>"
    )
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}th{{background:#eee}}</style>
</head><body><h1>{html.escape(title)}</h1>{summary}
<img alt="realized AUC by month per policy" src="data:image/png;base64,{chart}">
<h2>Cost and mean realized AUC per policy</h2>{costs_html}
<h2>Month by month</h2>
<table><tr>{header}</tr>{"".join(body)}</table><ul>{items}</ul></body></html>
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page)
    return path
