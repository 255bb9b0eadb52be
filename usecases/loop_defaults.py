"""The base defaults of the loop's monitoring thresholds and promotion gate, as plain data: what a
use case's `monitoring` and `gate` override. A leaf module, as `usecases.model_defaults` is: the
declaration's check reads the names and types here, and `core.monitoring.MonitoringThresholds`
and `core.gate.GateConfig` take each field's default from the current use case
(`usecases.loop_fields.loop_default`) when an instance is made, so a partial
`--thresholds '{...}'` keeps the use case's other values.

The values are the default use case's choices: the label-free limits, the waits and the gate's
refresh margin were chosen on its March-June 2013 by replaying the loop (`make replay-thresholds`,
`make replay-trials`; docs/operations.md, "Choosing the thresholds"), never on the months the
replay judges. Another use case chooses its own the same way on its own months and declares them
in its `monitoring` and `gate`.
"""

from __future__ import annotations

import math
from typing import Any

BASE_MONITORING: dict[str, Any] = {
    "max_auc_drop": 0.03,
    "max_log_loss_rise": 0.05,
    "max_feature_psi": 0.2,
    "max_score_psi": 0.3,  # chosen (make replay-thresholds)
    "max_weighted_psi": math.inf,  # chosen (make replay-thresholds): the inputs alone never alarm
    "min_rows": 500,
    "min_category_share": 0.01,
    "ignore_features": [],
    "max_estimated_auc_drop": 0.05,  # chosen (make replay-thresholds)
    "min_performance_rows": 2000,
    "min_new_days": 7,  # chosen (make replay-trials)
    "min_days_after_uncured": 21,  # chosen (make replay-trials)
    "min_unexplained_auc_drop": -math.inf,  # tried (make replay-trials) and left off: -inf
}

BASE_GATE: dict[str, Any] = {
    "min_auc_gain": 0.002,
    "min_auc": 0.60,
    "max_calibration_error": 0.08,
    "min_flagged_rate": 0.01,
    "max_flagged_rate": 0.90,
    "bootstrap_resamples": 400,
    "confidence": 0.90,
    "seed": 0,
    "min_compared_rows": 1000,
    "max_refresh_loss": 0.004,  # chosen (make replay-gate-choice)
}

SECTIONS = {"monitoring": BASE_MONITORING, "gate": BASE_GATE}


def override_problems(section: str, overrides: dict[str, Any]) -> list[str]:
    """What is wrong with a use case's overrides of `section`: unknown names, and values of
    another type than the base's (a number for a number, a whole number for a count, a list of
    column names for a list)."""
    base = SECTIONS[section]
    problems = []
    for name, value in overrides.items():
        if name not in base:
            problems.append(f"{name!r} is not a setting of {section} (known: {', '.join(base)})")
        elif isinstance(base[name], list):
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                problems.append(f"{name}: {value!r} is not a list of column names")
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{name}: {value!r} is not a number")
        elif isinstance(base[name], int) and not isinstance(value, int):
            problems.append(f"{name}: {value!r} is not a whole number")
    return problems
