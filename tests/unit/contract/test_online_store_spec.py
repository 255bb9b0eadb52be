"""schema.json names the features the online store gives: they round-trip, and a name that is not
a feature of the model is refused when the file is read."""

import pytest

from contract.bundle import BundleError, FeatureSpec, OnlineStoreSpec, OutputSpec, Schema


def _schema(online: OnlineStoreSpec | None) -> Schema:
    features = (
        FeatureSpec("origin", "category", categories=("EWR",)),
        FeatureSpec("origin_backlog", "number"),
    )
    return Schema(features, OutputSpec(threshold=0.35), online_store=online)


def test_online_store_spec_round_trips_and_splits_the_request_features():
    schema = _schema(OnlineStoreSpec(features=("origin_backlog",), horizon_minutes=60))
    again = Schema.from_dict(schema.to_dict())
    assert again == schema
    assert [f.name for f in again.request_features] == ["origin"]
    assert again.online_store is not None and again.online_store.keys == ("sched_dep", "tailnum")


def test_a_schema_without_online_store_reads_as_before():
    data = _schema(None).to_dict()
    assert "online_store" not in data
    assert [f.name for f in Schema.from_dict(data).request_features] == ["origin", "origin_backlog"]


def test_online_store_naming_no_feature_is_refused():
    data = _schema(None).to_dict()
    data["online_store"] = {"features": ["gate_queue"], "horizon_minutes": 60}
    with pytest.raises(BundleError, match=r"schema.json online_store names \['gate_queue'\]: not features"):
        Schema.from_dict(data)
    data["online_store"] = {"features": [], "horizon_minutes": 60, "ttl": 3}
    with pytest.raises(BundleError, match=r"schema.json online_store has unknown field\(s\) \['ttl'\]"):
        Schema.from_dict(data)
