"""The online store serves flights' operational features under their own names and windows: the
serving image holds `operational/` but no use case, so the store repeats them; they must agree."""

from __future__ import annotations

from operational import store
from usecases.flights import USE_CASE, operational


def test_the_store_serves_the_features_the_use_case_declares_online():
    assert USE_CASE.online is not None
    assert store.OPERATIONAL_FEATURES == USE_CASE.online.features == tuple(operational.OPERATIONAL_FEATURES)
    assert store.HORIZON_MINUTES == USE_CASE.online.horizon_minutes == operational.HORIZON_MINUTES
    assert store.RECENT_MINUTES == operational.RECENT_MINUTES
