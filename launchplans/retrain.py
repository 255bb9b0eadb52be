"""Monthly retrain: 06:00 UTC on the 1st; the kickoff time is the training workflow's `as_of`,
so the holdout is the month that just ended, training every month before it, and the deployed
model the refit on all of them."""

from flytekit import CronSchedule, LaunchPlan

from core.gate import GateConfig
from launchplans.notifications import on_failure
from tasks.data import DataConfig
from workflows.training import training_workflow

MONTHLY_RETRAIN_CRON = "0 6 1 * *"

monthly_retrain = LaunchPlan.get_or_create(
    training_workflow,
    name="monthly_retrain",
    schedule=CronSchedule(schedule=MONTHLY_RETRAIN_CRON, kickoff_time_input_arg="as_of"),
    # The window shape is the contract of the monthly cadence: one holdout month, every known
    # month to train (the expanding window `benchmarks/fit_windows.py` chose).
    fixed_inputs={"data": DataConfig(train_months=0, holdout_months=1)},
    default_inputs={"gate": GateConfig()},
    # A failed retrain leaves the champion serving: a person looks this working day.
    notifications=on_failure("ticket"),
)
