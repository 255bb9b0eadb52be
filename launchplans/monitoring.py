"""Daily monitoring: 07:00 UTC, the use case's `monitoring_days` before the day (a week by
default; a row's truth counts once `label_maturity` old), with the thresholds below; drift or decay
runs the training workflow and its promotion gate."""

from flytekit import CronSchedule, LaunchPlan

from contract.log_store import location
from core.monitoring import MonitoringThresholds
from launchplans.notifications import on_failure
from tasks.frames import USE_CASE
from workflows.monitoring import daily_monitoring_workflow

DAILY_MONITORING_CRON = "0 7 * * *"
MONITORING_DAYS = USE_CASE.monitoring_days
# Where the use case's serving pods ship their request-log segments (REQUEST_LOG_URI in its
# generated component, seldon/k8s/usecases/<name>): under its own experiment, resolved through the
# task's MLFLOW_TRACKING_URI, so it monitors its own requests and no other use case's.
REQUEST_LOG_DIR = location(USE_CASE.model_name)

daily_monitoring = LaunchPlan.get_or_create(
    daily_monitoring_workflow,
    name="daily_monitoring",
    schedule=CronSchedule(schedule=DAILY_MONITORING_CRON, kickoff_time_input_arg="kickoff_time"),
    fixed_inputs={"days": MONITORING_DAYS},
    default_inputs={"thresholds": MonitoringThresholds(), "request_log_dir": REQUEST_LOG_DIR},
    # A failed monitoring run leaves drift unchecked for a day: a person looks this working day.
    notifications=on_failure("ticket"),
)
