"""Launch plans: schedules, the kickoff input each feeds, fixed and default inputs (offline)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from flytekit.core.type_engine import TypeEngine

import usecases
from launchplans.monitoring import daily_monitoring
from launchplans.retrain import monthly_retrain
from launchplans.scoring import daily_scoring


def _fixed(plan) -> dict:
    return {name: literal for name, literal in plan.fixed_inputs.literals.items()}


def test_monthly_retrain_feeds_the_kickoff_time_to_as_of():
    schedule = monthly_retrain.schedule
    assert schedule.cron_schedule.schedule == "0 6 1 * *"
    assert schedule.kickoff_time_input_arg == "as_of"
    assert monthly_retrain.workflow.name == "workflows.training.training_workflow"
    data = _fixed(monthly_retrain)["data"]
    fixed_window = TypeEngine.to_python_value(None, data, dict)
    assert (fixed_window["train_months"], fixed_window["holdout_months"]) == (0, 1)  # every known month
    assert "gate" in monthly_retrain.parameters.parameters


def test_daily_scoring_scores_one_day_with_the_champion():
    assert daily_scoring.schedule.cron_schedule.schedule == "0 4 * * *"
    assert daily_scoring.schedule.kickoff_time_input_arg == "kickoff_time"
    fixed = _fixed(daily_scoring)
    assert fixed["days"].scalar.primitive.integer == 1
    assert fixed["model_name"].scalar.primitive.string_value == "flights-late-arrival"
    default = daily_scoring.parameters.parameters["model_version"].default
    assert default.scalar.primitive.string_value == ""


def test_daily_monitoring_watches_the_use_cases_trailing_days():
    assert daily_monitoring.schedule.cron_schedule.schedule == "0 7 * * *"
    assert daily_monitoring.schedule.kickoff_time_input_arg == "kickoff_time"
    assert usecases.current().name == "flights"  # the default use case watches a week
    assert _fixed(daily_monitoring)["days"].scalar.primitive.integer == 7
    assert {"thresholds", "request_log_dir"} <= set(daily_monitoring.parameters.parameters)
    # Fixed inputs are not parameters a caller can override.
    assert "days" not in daily_monitoring.parameters.parameters


def test_a_use_case_with_fewer_events_a_day_watches_its_declared_days():
    """Visibility's 72 readings a day take 30 days to reach the rows performance is judged on:
    its launch plan, built where its tasks run, fixes those days."""
    script = (
        "from launchplans.monitoring import daily_monitoring as plan;"
        "print(plan.fixed_inputs.literals['days'].scalar.primitive.integer)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, usecases.ENV: "visibility"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    declared = usecases.load("visibility").monitoring_days
    assert int(result.stdout.split()[-1]) == declared and declared > 7


def test_daily_monitoring_reads_where_the_use_cases_serving_pods_ship():
    """The launch plan's location is the one the use case's generated component gives its
    shippers (REQUEST_LOG_URI), and no other use case's."""
    import yaml

    import usecases
    from contract.log_store import location
    from launchplans.monitoring import REQUEST_LOG_DIR

    case = usecases.current()
    component = Path(__file__).resolve().parents[3] / "seldon" / "k8s" / "usecases" / case.name / "component"
    generators = yaml.safe_load((component / "kustomization.yaml").read_text())["configMapGenerator"]
    literals = next(g["literals"] for g in generators if g["name"] == "registry")
    assert f"REQUEST_LOG_URI={REQUEST_LOG_DIR}" in literals
    default = daily_monitoring.parameters.parameters["request_log_dir"].default
    assert default.scalar.primitive.string_value == REQUEST_LOG_DIR == location(case.model_name)
    others = [usecases.load(name) for name in usecases.available() if name != case.name]
    assert others and all(location(other.model_name) != REQUEST_LOG_DIR for other in others)
