"""Which requests the shadow challenger scores: a share of them, chosen by request id, so that
every worker and every replica makes the same choice for the same request."""

import uuid

import pytest

from seldon.session import shadowed
from seldon.settings import Settings

IDS = [uuid.UUID(int=index * 7919 + 1).hex for index in range(4000)] + [str(i) for i in range(4000)]


def test_share_one_shadows_every_request_and_zero_none():
    assert all(shadowed(request_id, 1.0) for request_id in IDS)
    assert not any(shadowed(request_id, 0.0) for request_id in IDS)


@pytest.mark.parametrize("share", [0.1, 0.25, 0.5])
def test_a_share_shadows_that_share_of_requests(share):
    got = sum(shadowed(request_id, share) for request_id in IDS) / len(IDS)
    assert abs(got - share) < 0.02, got


def test_the_choice_is_the_request_ids_and_nested_across_shares():
    chosen = [request_id for request_id in IDS if shadowed(request_id, 0.25)]
    assert chosen == [request_id for request_id in IDS if shadowed(request_id, 0.25)]
    # a larger share keeps every request a smaller one shadowed: raising it only adds requests
    assert all(shadowed(request_id, 0.5) for request_id in chosen)


def test_the_default_share_and_its_environment_variable(monkeypatch):
    assert Settings().shadow_share == 1.0  # every request: batches made it cheap (docs/serving.md)
    monkeypatch.setenv("SHADOW_SHARE", "0.6")
    monkeypatch.setenv("METRIC_PREFIX", "p")
    assert Settings.from_env().shadow_share == 0.6
