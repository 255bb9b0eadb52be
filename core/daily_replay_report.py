"""The daily replay's tables (text for the terminal, HTML with the chart): each training's day,
the model serving each day, month means, cost, the estimate's error, and the alarms judged."""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

import numpy as np
import pandas as pd

from core.alarms import CATCH_DAYS, runs
from core.daily_replay import LOOP, MONTHLY, NEVER, SIGNALS, DailyReplay, estimate_error, judge_alarms

POLICY_NAMES = {NEVER: "never retrain", MONTHLY: "retrain monthly", LOOP: "this loop (daily)"}
COLOURS = {NEVER: "#8c8c8c", MONTHLY: "#4C72B0", LOOP: "#C44E52"}
SIGNAL_COLOURS = {"drift": "#DD8452", "estimated decay": "#8172B3", "realized decay": "#C44E52"}


def _policies(result: DailyReplay) -> list[str]:
    return [p for p in (NEVER, MONTHLY, LOOP) if f"auc_{p}" in result.daily]


def _day(day: pd.Timestamp) -> str:
    return f"{day:%m-%d}"


def _seconds(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.0f}"


def trainings_table(result: DailyReplay) -> pd.DataFrame:
    """Every training: the policy, the day it was trained as of, the version, why, and the gate."""
    rows = [
        {
            "policy": POLICY_NAMES[t.policy] if t.trigger != "first model" else "every policy",
            "as of": f"{t.day:%Y-%m-%d}",
            "version": f"v{t.version}",
            "trigger": t.trigger,
            "gate": t.alias or "-",
            "AUC gain [90 % interval]": t.gain,
            "fit CPU s": _seconds(t.fit_cpu_seconds),
        }
        for t in result.trainings
    ]
    return pd.DataFrame(rows)


def serving_table(result: DailyReplay) -> pd.DataFrame:
    """The version serving each day, as runs of days: `v3 07-01..08-06`."""
    rows = []
    for policy in _policies(result):
        versions = result.daily.set_index("day")[f"version_{policy}"]
        spans, start = [], None
        for i, (day, version) in enumerate(versions.items()):
            if start is None:
                start = day
            last = i == len(versions) - 1
            if last or versions.iloc[i + 1] != version:
                spans.append(f"v{version} {_day(start)}..{_day(day)}")
                start = None
        rows.append({"policy": POLICY_NAMES[policy], "serving": ", ".join(spans)})
    return pd.DataFrame(rows)


def month_table(result: DailyReplay) -> pd.DataFrame:
    """Mean of the daily realized ROC AUC per month and policy, and over every day."""
    daily = result.daily.assign(month=result.daily["day"].dt.strftime("%Y-%m"))
    columns = {f"auc_{p}": POLICY_NAMES[p] for p in _policies(result)}
    table = daily.groupby("month")[list(columns)].mean()
    table.loc["all days"] = daily[list(columns)].mean()
    return table.rename(columns=columns).reset_index()


def costs_table(result: DailyReplay) -> pd.DataFrame:
    """Per policy: mean daily realized ROC AUC, trainings (the first model included), retrains,
    and their fit CPU seconds."""
    rows = []
    for policy in _policies(result):
        trained = result.policy_trainings(policy) if policy != NEVER else result.policy_trainings(NEVER)[:1]
        rows.append(
            {
                "policy": POLICY_NAMES[policy],
                "mean AUC": float(result.daily[f"auc_{policy}"].mean()),
                "trainings": len(trained),
                "retrains": len(trained) - 1,
                "fit CPU s": _seconds(float(np.nansum([t.fit_cpu_seconds for t in trained]))),
            }
        )
    return pd.DataFrame(rows)


def changes_table(result: DailyReplay) -> pd.DataFrame:
    """Each change of model: the new version's daily realized ROC AUC minus the replaced one's, on
    the days it served, with its 90 % interval and the share of days it did better."""
    if result.changes is None or not len(result.changes):
        return pd.DataFrame()
    rows = [
        {
            "policy": POLICY_NAMES[c["policy"]],
            "from": _day(c["first day"]),
            "model": f"v{c['version']} for v{c['replaced']}",
            "days": c["days"],
            "AUC gain [90 % interval]": f"{c['gain']:+.4f} [{c['low']:+.4f}, {c['high']:+.4f}]",
            "better days": f"{c['better days']:.0%}",
        }
        for c in result.changes.to_dict("records")
    ]
    return pd.DataFrame(rows)


def changes_summary(result: DailyReplay, policy: str) -> str:
    """How many of a policy's changes of model paid on the days they served: interval above 0,
    below 0, or neither."""
    if result.changes is None or not len(result.changes):
        return ""
    mine = result.changes[result.changes["policy"] == policy]
    if not len(mine):
        return f"Changes of model, {POLICY_NAMES[policy]}: none."
    up, down = int((mine["low"] > 0).sum()), int((mine["high"] < 0).sum())
    return (
        f"Changes of model, {POLICY_NAMES[policy]}: {len(mine)}; the new model better on the days it "
        f"served (90 % interval above 0) {up}, worse {down}, not told apart {len(mine) - up - down}; "
        f"mean gain {mine['gain'].mean():+.4f}."
    )


def estimate_table(result: DailyReplay) -> pd.DataFrame:
    """The estimate against the realized ROC AUC of the same window (every label in), per
    policy's monitored models: days compared, mean absolute error, mean error, correlation; and
    per month for the models never retrained."""
    rows = [{"models of": POLICY_NAMES[p], **estimate_error(s)} for p, s in result.signals.items()]
    return pd.DataFrame(rows)


def estimate_by_month(result: DailyReplay, policy: str = NEVER) -> pd.DataFrame:
    signals = result.signals[policy]
    rows = []
    for month, part in signals.groupby(signals["day"].dt.strftime("%Y-%m")):
        error = estimate_error(part)
        rows.append(
            {
                "month": month,
                "realized": part["truth_auc"].mean(),
                "estimated": part["estimated_auc"].mean(),
                "MAE": error["mae"],
                "bias": error["bias"],
            }
        )
    return pd.DataFrame(rows)


def alarms_table(result: DailyReplay) -> pd.DataFrame:
    """Each signal's alarms on each policy's monitored models, against the decays the final labels
    show: decays caught within CATCH_DAYS, late, missed, false alarms (per month), days early (-)
    or late (+)."""
    rows = []
    for policy, signals in result.signals.items():
        for signal, judged in judge_alarms(signals, result.months).items():
            rows.append({"models of": POLICY_NAMES[policy], "signal": signal, **judged.summary()})  # type: ignore[attr-defined]
    return pd.DataFrame(rows)


def decays_table(result: DailyReplay) -> pd.DataFrame:
    """Every decay the final labels show, and the first day each signal alarmed for it (days from
    its start: negative is before)."""
    rows = []
    for policy, signals in result.signals.items():
        judged = judge_alarms(signals, result.months)
        by_day = signals.set_index("day")
        for index, decay in enumerate(runs(by_day["decayed"])):
            row = {
                "models of": POLICY_NAMES[policy],
                "decay": f"{_day(decay.start)}..{_day(decay.end)}",
                "versions": ", ".join(
                    f"v{v}" for v in dict.fromkeys(by_day.loc[decay.start : decay.end, "version"])
                ),
            }
            for signal in SIGNALS:
                catch = judged[signal].catches[index]  # type: ignore[attr-defined]
                row[signal] = (
                    "missed" if catch.alarm_day is None else f"{catch.days:+.0f} d ({catch.outcome})"
                )
            rows.append(row)
    return pd.DataFrame(rows)


def verdict(result: DailyReplay) -> list[str]:
    """The targets, each met or missed, with the figures."""
    lines = []
    costs = costs_table(result).set_index("policy")
    if LOOP in result.signals and f"auc_{LOOP}" in result.daily:
        loop, monthly = costs.loc[POLICY_NAMES[LOOP]], costs.loc[POLICY_NAMES[MONTHLY]]
        better = loop["mean AUC"] >= monthly["mean AUC"]
        cheaper = loop["retrains"] < monthly["retrains"] or float(loop["fit CPU s"]) < float(
            monthly["fit CPU s"]
        )
        lines.append(
            f"Loop vs monthly: mean daily realized ROC AUC {loop['mean AUC']:.4f} vs "
            f"{monthly['mean AUC']:.4f} ({loop['mean AUC'] - monthly['mean AUC']:+.4f}), "
            f"{int(loop['retrains'])} retrains vs {int(monthly['retrains'])}, fit CPU "
            f"{loop['fit CPU s']} s vs {monthly['fit CPU s']} s: "
            f"{'met' if better and cheaper else 'missed'}."
        )
    lines += [line for line in (changes_summary(result, p) for p in (MONTHLY, LOOP)) if line]
    alarms = alarms_table(result)
    decays = decays_table(result)
    if len(decays):
        caught = decays[list(SIGNALS)].apply(
            lambda row: any(isinstance(v, str) and v.endswith("(caught)") for v in row),
            axis=1,
        )
        lines.append(
            f"Decays caught within {CATCH_DAYS} days by some signal: {int(caught.sum())} of {len(decays)} "
            f"({'met' if caught.all() else 'missed'})."
        )
    else:
        lines.append("No decay in the final labels of any policy's monitored models.")
    worst = alarms.groupby("signal")["false alarm days / month"].max()
    lines.append(
        "False alarm days per month (worst policy): "
        + ", ".join(f"{signal} {worst.get(signal, math.nan):.2f}" for signal in SIGNALS)
        + f" ({'met' if (worst <= 1.0).all() else 'missed'}: <= 1)."
    )
    for policy, error in estimate_table(result).set_index("models of").iterrows():
        lines.append(
            f"Estimate vs realized ROC AUC, {policy}'s models: mean absolute error {error['mae']:.4f} "
            f"over {int(error['days'])} days (mean error {error['bias']:+.4f}, correlation "
            f"{error['correlation']:.2f})."
        )
    return lines


# ---- rendering ----------------------------------------------------------------------------------
def _cell(value: object) -> str:
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isnan(number):
            return ""
        return f"{number:.4f}" if abs(number) < 10 else f"{number:.0f}"
    return str(value)


def _text(frame: pd.DataFrame) -> str:
    return frame.to_string(index=False, formatters={c: _cell for c in frame.columns})


def sections(result: DailyReplay) -> list[tuple[str, pd.DataFrame]]:
    parts = [
        ("Trainings (each retrain's day)", trainings_table(result)),
        ("The model serving each day", serving_table(result)),
        ("Mean daily realized ROC AUC by month", month_table(result)),
        ("Cost and mean realized ROC AUC per policy", costs_table(result)),
        ("What each change of model earned on the days it served", changes_table(result)),
        ("The estimate without labels against the realized ROC AUC of the same days", estimate_table(result)),
        ("... by month, the models of never retraining", estimate_by_month(result)),
        ("Alarms judged against the decays the final labels show", alarms_table(result)),
        ("Each decay and the first alarm of each signal", decays_table(result)),
    ]
    if result.choice is not None:
        parts.append(("Thresholds tried (chosen: the row marked True)", result.choice))
    return parts


def text_report(result: DailyReplay) -> str:
    blocks = [f"{title}\n{_text(frame)}" for title, frame in sections(result) if len(frame)]
    return "\n\n".join(blocks + ["\n".join(verdict(result))])


def chart_png(result: DailyReplay) -> bytes:
    """Top: daily realized ROC AUC of each policy, a triangle where a retrained model starts
    serving. Below, for the models never retrained and for the loop's: the window's ROC AUC
    estimated without labels, realized as known that day, realized once every label is in, the
    holdout's less the decay limit, and the days each signal alarmed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from core.reports import png

    panels = [p for p in (NEVER, LOOP) if p in result.signals]
    figure, axes = plt.subplots(1 + len(panels), 1, figsize=(14, 4.5 + 3.5 * len(panels)), sharex=True)
    axes = np.atleast_1d(axes)
    _plot_daily_auc(axes[0], result)
    for axis, policy in zip(axes[1:], panels, strict=True):
        _plot_signals(axis, result, policy)
    for axis in axes:
        axis.grid(alpha=0.3)
    figure.tight_layout()
    return png(figure)


def _plot_daily_auc(axis, result: DailyReplay) -> None:
    """Each policy's realized ROC AUC by day and its 7-day mean, a triangle at each new version."""
    daily = result.daily
    for policy in _policies(result):
        auc = daily[f"auc_{policy}"]
        smooth = auc.rolling(7, center=True, min_periods=4).mean().to_numpy()
        axis.plot(daily["day"], auc, color=COLOURS[policy], linewidth=0.6, alpha=0.5)
        axis.plot(daily["day"], smooth, color=COLOURS[policy], linewidth=2.2, label=POLICY_NAMES[policy])
        versions = daily[f"version_{policy}"].to_numpy()
        changed = np.flatnonzero(versions[1:] != versions[:-1]) + 1
        axis.scatter(
            daily["day"].iloc[changed],
            smooth[changed],
            marker="^",
            s=90,
            color=COLOURS[policy],
            edgecolor="black",
            zorder=3,
        )
    axis.set(
        title="Realized ROC AUC of each day's rows (thin), its 7-day mean (thick); "
        "triangle: a retrained model starts serving",
        ylabel="ROC AUC",
    )
    axis.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)


def _plot_signals(axis, result: DailyReplay, policy: str) -> None:
    """One policy's window: estimated, known and final ROC AUC, the decay limit, the alarms."""
    signals = result.signals[policy]
    axis.plot(signals["day"], signals["truth_auc"], color="black", label="realized, every label in")
    axis.plot(
        signals["day"],
        signals["known_auc"],
        color="#C44E52",
        linestyle="--",
        label="realized, as known that day",
    )
    axis.plot(signals["day"], signals["estimated_auc"], color="#8172B3", label="estimated without labels")
    limit = signals["holdout_auc"] - result.thresholds.max_auc_drop
    axis.step(
        signals["day"], limit, where="post", color="#999999", linestyle=":", label="holdout - decay limit"
    )
    low = float(np.nanmin(signals[["truth_auc", "estimated_auc"]].to_numpy())) - 0.02
    for offset, signal in enumerate(SIGNALS):
        fired = signals.loc[signals[signal], "day"]
        axis.scatter(
            fired,
            [low + 0.006 * offset] * len(fired),
            marker="|",
            s=60,
            color=SIGNAL_COLOURS[signal],
            label=f"{signal} alarm",
        )
    decayed = signals.loc[signals["decayed"], "day"]
    axis.scatter(
        decayed, [low - 0.006] * len(decayed), marker="s", s=8, color="black", label="decayed (truth)"
    )
    axis.set(title=f"{POLICY_NAMES[policy]}: the {result.window_days} days before each day", ylabel="ROC AUC")
    axis.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)


def write_html(result: DailyReplay, path: Path, title: str = "Daily replay: three policies") -> Path:
    """The page (`path`), and its chart beside it as a PNG of the same name."""
    image = chart_png(result)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".png").write_bytes(image)
    chart = base64.b64encode(image).decode()
    body = "".join(
        f"<h2>{html.escape(name)}</h2>" + frame.to_html(index=False, na_rep="", float_format=_cell)
        for name, frame in sections(result)
        if len(frame)
    )
    daily = result.daily.copy()
    daily["day"] = daily["day"].dt.strftime("%Y-%m-%d")
    findings = "".join(f"<li>{html.escape(line)}</li>" for line in verdict(result))
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:3px 6px;text-align:left}}th{{background:#eee}}</style>
</head><body><h1>{html.escape(title)}</h1><ul>{findings}</ul>
<p>Replayed {len(result.daily)} days in {result.seconds:.0f} s.</p>
<img alt="daily realized ROC AUC per policy, and the signals" src="data:image/png;base64,{chart}">
{body}<h2>Day by day</h2>{daily.to_html(index=False, na_rep="", float_format=_cell)}</body></html>
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page)
    return path
