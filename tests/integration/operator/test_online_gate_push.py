"""The online gate as the monitoring workflow runs it: constructed live traffic in a request log
(the serving side's writer: champion and shadow challenger, then feedback), the two tasks run
locally against a registry, the judgement pushed to a real Pushgateway, and its deck."""

from __future__ import annotations

from datetime import datetime

import pytest
import requests

import usecases
from contract.request_log import TRUTH
from core import registry
from core.gate import GateConfig
from core.online_gate import OnlineGateConfig
from core.pushgateway import shadow_job
from tests.support.shadow_traffic import log_shadow_traffic

CASE = usecases.current()
P = CASE.metric_prefix
PERIOD = {"start": datetime(2020, 1, 1), "end": datetime(2100, 1, 1)}


def _registry_with_champion_and_challenger() -> None:
    client = registry.client()
    client.create_registered_model(registry.MODEL_NAME)
    for _ in range(2):
        client.create_model_version(registry.MODEL_NAME, source="file:///nowhere")
    client.set_registered_model_alias(registry.MODEL_NAME, "champion", "1")
    client.set_registered_model_alias(registry.MODEL_NAME, "challenger", "2")


def _pushed(pushgateway: str) -> dict[tuple[str, frozenset], float]:
    """The gateway's samples of the shadow job: {(name, labels without job/instance): value}."""
    from prometheus_client.parser import text_string_to_metric_families

    text = requests.get(f"http://{pushgateway}/metrics", timeout=5).text
    return {
        (s.name, frozenset((k, v) for k, v in s.labels.items() if k not in ("job", "instance"))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.labels.get("job") == shadow_job(CASE) and not s.name.startswith("push_")
    }


def _labels(**pairs: str) -> frozenset:
    return frozenset(pairs.items())


@pytest.mark.parametrize(("noise", "promoted"), [(0.6, True), (1.4, False)])
def test_the_online_gate_judges_live_traffic_pushes_and_shows_it(
    tmp_path, fresh_store, monkeypatch, pushgateway, noise, promoted
):
    from tasks.monitoring import online_gate, shadow_requests
    from tasks.shadow_deck import shadow_deck_html

    monkeypatch.setenv("PUSHGATEWAY_URL", pushgateway)
    _registry_with_champion_and_challenger()
    log_shadow_traffic(tmp_path / "log", noise, n=800, seed=3, model=registry.MODEL_NAME, versions=("1", "2"))
    shadow = shadow_requests(request_log_dir=str(tmp_path / "log"), **PERIOD)
    assert len(shadow) == 800 and shadow[TRUTH].notna().all()
    judged = online_gate(
        shadow=shadow, model_name=registry.MODEL_NAME, gate=GateConfig(), online=OnlineGateConfig()
    )
    assert judged.promote is promoted
    assert registry.alias_version(registry.MODEL_NAME, "champion") == ("2" if promoted else "1")

    pushed = _pushed(pushgateway)
    assert pushed[(f"{P}_shadow_promoted", _labels(challenger_version="2"))] == float(promoted)
    assert pushed[(f"{P}_shadow_rows", _labels(challenger_version="2", kind="labelled"))] == 800
    assert pushed[(f"{P}_shadow_rows", _labels(challenger_version="2", kind="scored"))] == 800
    champion_auc = pushed[(f"{P}_shadow_roc_auc", _labels(model_version="1", role="champion"))]
    challenger_auc = pushed[(f"{P}_shadow_roc_auc", _labels(model_version="2", role="challenger"))]
    assert champion_auc == pytest.approx(judged.champion_auc) and challenger_auc == pytest.approx(
        judged.challenger_auc
    )
    low = pushed[(f"{P}_shadow_auc_gain", _labels(bound="low", challenger_version="2"))]
    high = pushed[(f"{P}_shadow_auc_gain", _labels(bound="high", challenger_version="2"))]
    assert low <= pushed[(f"{P}_shadow_auc_gain", _labels(bound="point", challenger_version="2"))] <= high
    assert (low > GateConfig().min_auc_gain) is promoted

    deck = shadow_deck_html(judged, shadow, GateConfig())
    assert ("PROMOTED" if promoted else "not promoted") in deck and deck.count("<img") == 1
    assert "live ROC AUC of challenger v2" in deck


def test_no_shadow_traffic_pushes_nothing_and_moves_nothing(tmp_path, fresh_store, monkeypatch, pushgateway):
    from tasks.monitoring import online_gate, shadow_requests

    monkeypatch.setenv("PUSHGATEWAY_URL", pushgateway)
    _registry_with_champion_and_challenger()
    before = _pushed(pushgateway)
    shadow = shadow_requests(request_log_dir=str(tmp_path / "absent"), **PERIOD)
    judged = online_gate(
        shadow=shadow, model_name=registry.MODEL_NAME, gate=GateConfig(), online=OnlineGateConfig()
    )
    assert not judged.promote and judged.reasons == ["no request was scored in shadow: no challenger served"]
    assert registry.alias_version(registry.MODEL_NAME, "champion") == "1"
    assert _pushed(pushgateway) == before
