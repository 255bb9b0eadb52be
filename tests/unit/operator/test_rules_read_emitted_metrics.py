"""Every metric the generated rules and dashboard read is one the project emits under the use
case's prefix: the model server's (seldon/metrics.py), the registry sync's and the request-log
shipper's, what monitoring and the online gate push (core/pushgateway.py) and the champion
(contract/champion.py). A name changed on one side only fails here, not in production."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from prometheus_client import CollectorRegistry

from contract.champion import champion_registry
from core.monitoring import MonitoringReport
from core.online_gate import ShadowJudgement
from core.pushgateway import monitoring_registry, shadow_registry
from seldon.k8s import dashboard, rules
from seldon.metrics import ServingMetrics
from seldon.ship import ShipMetrics
from seldon.sync_metrics import SyncMetrics
from tests.support.use_cases import every
from usecases.spec import UseCase

# the sample names of each metric type (prometheus-client's exposition)
SAMPLES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
    "info": ("_info",),
}


def sample_names(*registries: CollectorRegistry) -> set[str]:
    return {
        family.name + suffix
        for registry in registries
        for family in registry.collect()
        for suffix in SAMPLES[family.type]
    }


def emitted(case: UseCase) -> set[str]:
    """Every sample name the project can emit for `case`, its figures all defined."""
    prefix = case.metric_prefix
    report = MonitoringReport(
        model_version="3",
        period_end="2013-03-08",
        **{
            name: 0.5
            for name in ("realized_auc", "realized_log_loss", "validation_auc", "validation_log_loss")
        },
        **{
            f"estimated_{name}": 0.5
            for name in ("auc", "true_positive", "false_positive", "true_negative", "false_negative")
        },
    )
    drift = pd.DataFrame(
        {"feature": ["a", "score"], "source": ["batch", "batch"], "psi": [0.1, 0.1], "ks": [0.1, 0.1]}
    )
    judgement = ShadowJudgement(
        champion_version="1",
        challenger_version="2",
        **{name: 0.5 for name in ("champion_auc", "challenger_auc", "auc_gain", "gain_low", "gain_high")},
    )
    return sample_names(
        ServingMetrics(prefix).registry,
        SyncMetrics(prefix).registry,
        ShipMetrics(prefix).registry,
        monitoring_registry(report, drift, now=0.0, case=case),
        shadow_registry(judgement, case),
        champion_registry(case.model_name, "3", prefix),
    )


def read(case: UseCase) -> dict[str, set[str]]:
    """The metric names each rule expression and dashboard query reads, by where it is read."""
    name = re.compile(rf"\b{re.escape(case.metric_prefix)}_[a-zA-Z0-9_]+")
    places = {
        rule.get("alert") or rule["record"]: rule["expr"]
        for group in rules.rule_groups(case)
        for rule in group["rules"]
    }
    panels = json.loads(dashboard.render(case))["panels"]
    places |= {
        f"panel {panel['title']}": " ".join(t["expr"] for t in panel.get("targets", [])) for panel in panels
    }
    return {place: set(name.findall(expr)) for place, expr in places.items()}


@pytest.mark.parametrize("case", every(), ids=lambda case: case.name)
def test_every_metric_read_is_emitted(case):
    names = emitted(case)
    read_by = read(case)
    assert sum(map(len, read_by.values())) > 20  # the rules and panels do read metrics
    unknown = {place: sorted(found - names) for place, found in read_by.items() if found - names}
    assert not unknown, f"read but never emitted under prefix {case.metric_prefix}: {unknown}"
