"""Daily monitoring: 07:00 UTC, the trailing week (a row's truth counts once `label_maturity` old),
with the thresholds below; drift or decay runs the training workflow and its promotion gate."""

from flytekit import CronSchedule, LaunchPlan

from core.monitoring import MonitoringThresholds
from launchplans.notifications import on_failure
from workflows.monitoring import daily_monitoring_workflow

DAILY_MONITORING_CRON = "0 7 * * *"
MONITORING_DAYS = 7
# Where every serving pod's shipper uploads its request-log segments (REQUEST_LOG_URI in
# seldon/k8s/base): through the tracking server's artifact proxy, read with the task's
# MLFLOW_TRACKING_URI.
REQUEST_LOG_DIR = "mlflow-artifacts:/request-logs"

daily_monitoring = LaunchPlan.get_or_create(
    daily_monitoring_workflow,
    name="daily_monitoring",
    schedule=CronSchedule(schedule=DAILY_MONITORING_CRON, kickoff_time_input_arg="kickoff_time"),
    fixed_inputs={"days": MONITORING_DAYS},
    default_inputs={"thresholds": MonitoringThresholds(), "request_log_dir": REQUEST_LOG_DIR},
    # A failed monitoring run leaves drift unchecked for a day: a person looks this working day.
    notifications=on_failure("ticket"),
)
