"""The online gate on constructed live traffic: logged through the real request-log writer (the
champion's and the shadow challenger's probabilities, then feedback), judged both ways."""

import numpy as np
import pytest

from contract.request_log import TRUTH, RequestLog, read_feedback, read_request_log, request_json
from core.gate import GateConfig
from core.online_gate import OnlineGateConfig, judge_shadow, shadow_frame
from tests.support.shadow_traffic import log_shadow_traffic


def _traffic(tmp_path, challenger_noise: float, n: int = 1200, truth_for: int | None = None, seed: int = 1):
    """The shadow frame of n one-row requests (tests.support.shadow_traffic), truth back for the
    first `truth_for`."""
    log_shadow_traffic(tmp_path, challenger_noise, n=n, seed=seed, truth_for=truth_for)
    return shadow_frame(read_request_log(tmp_path), read_feedback(tmp_path))


def test_a_challenger_better_on_live_traffic_is_promoted(tmp_path):
    judged = judge_shadow(_traffic(tmp_path, challenger_noise=0.6))
    assert judged.promote and judged.challenger_version == "4" and judged.champion_version == "3"
    assert judged.labelled_rows == judged.shadow_rows == 1200
    assert judged.gain_low > GateConfig().min_auc_gain and judged.challenger_auc > judged.champion_auc
    assert judged.reasons[0].endswith("the interval clears the margin, challenger promoted")


def test_a_challenger_no_better_on_live_traffic_stays_challenger(tmp_path):
    judged = judge_shadow(_traffic(tmp_path, challenger_noise=1.4))
    assert not judged.promote and judged.auc_gain < 0
    assert "live ROC AUC of challenger v4" in judged.reasons[0]
    assert judged.reasons[0].endswith("champion stays")


def test_a_gain_inside_the_margin_promotes_nothing(tmp_path):
    traffic = _traffic(tmp_path, challenger_noise=0.6)
    judged = judge_shadow(traffic, GateConfig(min_auc_gain=0.5))
    assert not judged.promote and judged.gain_low > 0


def test_too_little_truth_judges_nothing(tmp_path):
    judged = judge_shadow(_traffic(tmp_path, challenger_noise=0.6, truth_for=100))
    assert not judged.promote and judged.labelled_rows == 100 and judged.shadow_rows == 1200
    assert judged.reasons == ["100 shadow-scored rows with truth (< 500): challenger v4 not judged yet"]
    assert np.isnan(judged.auc_gain)


def test_truth_of_one_class_judges_nothing(tmp_path):
    frame = _traffic(tmp_path, challenger_noise=0.6, n=600)
    frame[TRUTH] = 0
    judged = judge_shadow(frame, config=OnlineGateConfig(min_labelled_rows=10))
    assert not judged.promote
    assert judged.reasons == ["the truth of all 600 rows is one class: ROC AUC undefined, not judged"]


def test_no_shadow_scores_means_no_challenger_served(tmp_path):
    log = RequestLog(tmp_path, max_seconds=0)
    log.write("solo", "m", "3", request_json({"jsonData": {}}, None), [0.2], [0], {})
    log.close()
    frame = shadow_frame(read_request_log(tmp_path), read_feedback(tmp_path))
    assert frame.empty
    assert judge_shadow(frame).reasons == ["no request was scored in shadow: no challenger served"]


@pytest.mark.parametrize("later", ["5", "6"])
def test_only_the_latest_champion_challenger_pair_is_judged(tmp_path, later):
    frame = _traffic(tmp_path, challenger_noise=0.6)
    frame.loc[frame.index[-300:], "challenger_version"] = later  # the alias moved late in the period
    judged = judge_shadow(frame, config=OnlineGateConfig(min_labelled_rows=100))
    assert judged.challenger_version == later and judged.shadow_rows == 300


def _registry_with(champion: str, challenger: str):
    from mlflow import MlflowClient

    from core import registry

    client = registry.client()
    assert isinstance(client, MlflowClient)
    client.create_registered_model("m")
    for _ in range(max(int(champion), int(challenger))):
        client.create_model_version("m", source="file:///nowhere")
    client.set_registered_model_alias("m", "champion", champion)
    client.set_registered_model_alias("m", "challenger", challenger)
    return client


def test_a_promotion_moves_champion_and_drops_challenger(tmp_path, fresh_store):
    from core import registry
    from core.online_gate import apply_online_gate

    client = _registry_with("3", "4")
    judged = apply_online_gate(judge_shadow(_traffic(tmp_path, challenger_noise=0.6)), "m")
    assert judged.promote
    assert (
        registry.alias_version("m", "champion") == "4" and registry.alias_version("m", "challenger") is None
    )
    assert client.get_model_version("m", "4").tags["promotion"] == "online"


def test_a_promotion_retried_after_the_champion_moved_finishes_it(tmp_path, fresh_store):
    """The task retries after a transient error: an attempt that stopped once the champion had
    moved leaves the retry to drop the challenger alias; a second full attempt changes nothing."""
    from core import registry
    from core.online_gate import apply_online_gate

    client = _registry_with("3", "4")
    client.set_registered_model_alias("m", "champion", "4")  # the first attempt got this far
    traffic = _traffic(tmp_path, challenger_noise=0.6)
    for _ in range(2):
        judged = apply_online_gate(judge_shadow(traffic), "m")
        assert judged.promote, judged.reasons
        aliases = (registry.alias_version("m", "champion"), registry.alias_version("m", "challenger"))
        assert aliases == ("4", None)
    assert client.get_model_version("m", "4").tags["promotion"] == "online"


def test_aliases_moved_since_the_traffic_move_nothing(tmp_path, fresh_store):
    from core import registry
    from core.online_gate import apply_online_gate

    _registry_with("3", "5")  # the offline gate kept a newer challenger meanwhile
    judged = apply_online_gate(judge_shadow(_traffic(tmp_path, challenger_noise=0.6)), "m")
    assert not judged.promote and registry.alias_version("m", "champion") == "3"
    assert judged.reasons[-1] == (
        "the registry's champion and challenger are now v3 and v5, not the judged v3 and v4: nothing moved"
    )
