"""The replay report on a hand-built three-policy table: alarm quality, cost, the one-sentence
verdict, and an HTML page with the chart and the deck links."""

from __future__ import annotations

import pandas as pd

from core.replay_report import as_frame, costs_table, text_table, verdict, write_html


def _rows() -> list[dict]:
    base = dict(
        holdout_auc=0.76, weighted_psi=0.1, score_psi=0.02, gain_interval="", online_gate="-", reasons=["r"]
    )
    figures = [
        # month, never, monthly, loop, loop version, drift alarm, plain alarm, decayed
        ("2013-07", 0.73, 0.73, 0.73, "1", False, True, False),
        ("2013-08", 0.70, 0.72, 0.70, "1", True, True, True),
        ("2013-09", 0.71, 0.72, 0.74, "3", True, True, False),
    ]
    rows = []
    for month, never, monthly, loop, version, alarm, plain, decayed in figures:
        rows.append(
            {
                **base,
                "month": month,
                "auc_never": never,
                "auc_monthly": monthly,
                "auc_loop": loop,
                "version_never": "v1",
                "version_monthly": f"v{month[-1]}",
                "version_loop": f"v{version}",
                "fit_never": "01-01..06-30",
                "fit_monthly": f"01-01..0{int(month[-1]) - 1}-30",
                "fit_loop": "01-01..06-30" if version == "1" else "01-01..08-31",
                "decision": "decay" if decayed else ("drift" if alarm else "ok"),
                "drift_alarm": alarm,
                "feature_alarm": plain,
                "decayed": decayed,
                "retrain": "-",
                "decks": {"monitor": f"decks/{month}-monitor.html"},
            }
        )
    return rows


def test_alarm_quality_cost_and_verdict(tmp_path):
    frame = as_frame(_rows())
    assert frame["alarm"].tolist() == ["quiet", "hit", "false alarm"]
    assert frame["plain_alarm"].tolist() == ["false alarm", "hit", "false alarm"]
    seconds = {"1": 10.0, "3": 12.0, "7": 11.0, "8": 9.0, "9": 13.0}
    costs = costs_table(frame, {"never": ["1"], "monthly": ["7", "8", "9"], "loop": ["1", "3"]}, seconds.get)
    assert costs["trainings"].tolist() == [1, 3, 2]
    assert costs["fit CPU s"].tolist() == [10.0, 33.0, 22.0]
    sentence = verdict(frame, costs)
    assert sentence.startswith("The loop beat never retraining: mean realized AUC 0.7233 vs 0.7133 (+0.0100")
    assert "at 1 retrain(s) and 22 fit CPU s" in sentence and "2 retrains and 33 CPU s" in sentence

    page = write_html(frame, costs, tmp_path / "replay.html", "Replay", ["a note"]).read_text()
    assert 'src="data:image/png;base64,' in page
    assert 'href="decks/2013-08-monitor.html"' in page
    assert "1 hit, 1 false alarm, 0 missed decay, 1 quiet" in page
    assert "AUC never" in text_table(frame) and "retrain monthly" in text_table(frame)
    assert frame["model_loop"].tolist() == ["v1 01-01..06-30", "v1 01-01..06-30", "v3 01-01..08-31"]
    assert "v3 01-01..08-31" in text_table(frame) and "loop model (fit on)" in page


def test_the_verdict_gives_the_paired_interval_of_the_loop_minus_each_baseline():
    from core.gate import GainInterval

    frame = as_frame(_rows())
    costs = costs_table(frame, {"never": ["1"], "monthly": ["7"], "loop": ["1", "3"]}, lambda v: 1.0)
    frame.attrs["gains"] = {
        "never": GainInterval(0.0100, 0.0041, 0.0162, 0.9, 400),
        "monthly": GainInterval(-0.0033, -0.0090, 0.0020, 0.9, 400),
    }
    sentence = verdict(frame, costs)
    assert "loop minus never retrain +0.0100, 90% paired-bootstrap interval [+0.0041, +0.0162]" in sentence
    assert "loop minus retrain monthly -0.0033, 90% paired-bootstrap interval [-0.0090, +0.0020]" in sentence


def test_a_loop_worse_than_never_says_so():
    rows = _rows()
    for row in rows:
        row["auc_loop"] = row["auc_never"] - 0.01
    frame = as_frame(rows)
    costs = costs_table(frame, {"never": ["1"], "monthly": ["1"], "loop": ["1"]}, lambda v: 1.0)
    assert verdict(frame, costs).startswith("The loop did not beat never retraining")
    assert isinstance(costs, pd.DataFrame)


def _month(champion_noise: float, challenger_noise: float, n: int = 4000, seed: int = 3) -> pd.DataFrame:
    """A month's flights as the replay joins them: truth, the champion's and the challenger's
    scores, each model seeing the truth through noise of its own."""
    import numpy as np

    from scripts.replay import CHALLENGER_COLUMN, LOOP
    from usecases.flights.schemas import KEY, LABEL

    rng = np.random.default_rng(seed)
    truth = rng.random(n) < 0.25
    signal = np.where(truth, 1.0, -1.0)
    return pd.DataFrame(
        {
            KEY: np.arange(n),
            "month": "2013-11",
            LABEL: truth.astype("int64"),
            LOOP: signal + rng.normal(0, champion_noise, n),
            CHALLENGER_COLUMN: signal + rng.normal(0, challenger_noise, n),
        }
    )


def test_the_replay_shows_what_the_online_gate_would_do_with_the_months_challenger():
    from core.gate import GateConfig
    from scripts.replay import judge_month, online_gate_text

    better = judge_month(_month(1.0, 0.7), "4", "5", GateConfig())
    assert better.promote and (better.champion_version, better.challenger_version) == ("4", "5")
    assert better.labelled_rows == 4000 and better.gain_low > GateConfig().min_auc_gain
    assert online_gate_text(better).startswith("v5 +0.0") and online_gate_text(better).endswith("] promote")
    worse = judge_month(_month(0.7, 1.0), "4", "5", GateConfig())
    assert not worse.promote and worse.auc_gain < 0
    assert online_gate_text(worse).startswith("v5 -0.0") and online_gate_text(worse).endswith("] stays")
    assert online_gate_text(judge_month(_month(1.0, 0.7, n=100), "4", "5", GateConfig())) == "v5 not judged"
