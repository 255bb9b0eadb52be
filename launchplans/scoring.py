"""Daily batch scoring: 04:00 UTC, the day's rows of the use case, with the champion."""

from flytekit import CronSchedule, LaunchPlan

from core.registry import MODEL_NAME
from launchplans.notifications import on_failure
from workflows.batch_inference import daily_batch_inference_workflow

DAILY_SCORING_CRON = "0 4 * * *"

daily_scoring = LaunchPlan.get_or_create(
    daily_batch_inference_workflow,
    name="daily_scoring",
    schedule=CronSchedule(schedule=DAILY_SCORING_CRON, kickoff_time_input_arg="kickoff_time"),
    # One day per run: the schedule's period. The registered model is fixed; the version is
    # a default ("" = champion) an operator may pin when relaunching.
    fixed_inputs={"days": 1, "model_name": MODEL_NAME},
    default_inputs={"model_version": ""},
    # A failed scoring leaves the day without batch predictions: a person now.
    notifications=on_failure("page"),
)
