"""Launch plans: each imports its workflow and adds only a schedule, fixed/default inputs and who
hears of a failed or timed-out run (`notifications`: recipients per environment in
notifications.yaml, a severity per launch plan).

- `retrain.monthly_retrain`: the training workflow on the 1st of every month (`as_of` = kickoff).
- `scoring.daily_scoring`: batch inference of the day's rows with the champion.
- `monitoring.daily_monitoring`: drift and realized performance of the trailing week, retraining
  on drift or decay.
"""
