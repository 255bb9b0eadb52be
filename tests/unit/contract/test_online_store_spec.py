"""schema.json names the features the online store gives and the request fields that find them
(the event time and the entities): they round-trip, and a declaration the server could not use
is refused, naming the field, when the file is read."""

import pytest

from contract.bundle import BundleError, EntitySpec, FeatureSpec, OnlineStoreSpec, OutputSpec, Schema

OUTPUT = OutputSpec(
    threshold=0.35,
    names=("probability", "predicted_x"),
    truth="x",
    positive_class="x",
    negative_class="not x",
)


def _online(**changes) -> OnlineStoreSpec:
    fields = {
        "features": ("station_backlog",),
        "horizon_minutes": 60,
        "time": "event_time",
        "entities": (EntitySpec("station"), EntitySpec("vehicle", nullable=True)),
        "stream": {"key": "visit_id", "watermark": "arrived", "partition": "station"},
        "declared": (
            {
                "name": "station_backlog",
                "entity": "station",
                "time": "arrived",
                "aggregation": "count",
                "window_minutes": 60,
                "until": "served",
            },
        ),
    }
    return OnlineStoreSpec(**{**fields, **changes})


def _schema(online: OnlineStoreSpec | None) -> Schema:
    features = (
        FeatureSpec("station", "category", categories=("A",)),
        FeatureSpec("station_backlog", "number"),
    )
    return Schema(features, OUTPUT, online_store=online)


def test_online_store_spec_round_trips_and_splits_the_request_fields():
    schema = _schema(_online())
    again = Schema.from_dict(schema.to_dict())
    assert again == schema
    assert [f.name for f in again.request_features] == ["station"]
    assert again.online_store is not None and again.online_store.time == "event_time"
    assert again.online_store.entity_names == ("station", "vehicle")
    # an entity that is a feature is sent as that feature; the others are keys of their own
    assert again.entity_keys == [EntitySpec("vehicle", nullable=True)]


def test_a_schema_without_online_store_reads_as_before():
    data = _schema(None).to_dict()
    assert "online_store" not in data
    assert [f.name for f in Schema.from_dict(data).request_features] == ["station", "station_backlog"]
    assert Schema.from_dict(data).entity_keys == []


def test_online_store_naming_no_feature_is_refused():
    data = _schema(None).to_dict()
    declared = [{**_online().to_dict()["declared"][0], "name": "gate_queue"}]
    data["online_store"] = {**_online().to_dict(), "features": ["gate_queue"], "declared": declared}
    with pytest.raises(BundleError, match=r"schema.json online_store names \['gate_queue'\]: not features"):
        Schema.from_dict(data)
    data["online_store"] = {**_online().to_dict(), "ttl": 3}
    with pytest.raises(BundleError, match=r"schema.json online_store has unknown field\(s\) \['ttl'\]"):
        Schema.from_dict(data)


def test_an_online_store_written_before_its_request_fields_were_declared_names_what_it_lacks():
    data = _schema(None).to_dict()
    data["online_store"] = {"features": ["station_backlog"], "horizon_minutes": 60, "keys": ["t", "v"]}
    with pytest.raises(
        BundleError,
        match=r"schema.json online_store lacks required field\(s\) "
        r"\['declared', 'entities', 'stream', 'time'\]",
    ):
        Schema.from_dict(data)


def test_an_online_store_written_before_its_features_were_declared_names_what_it_lacks():
    data = _schema(None).to_dict()
    data["online_store"] = {k: v for k, v in _online().to_dict().items() if k not in ("declared", "stream")}
    with pytest.raises(
        BundleError, match=r"schema.json online_store lacks required field\(s\) \['declared', 'stream'\]"
    ):
        Schema.from_dict(data)


def test_a_declaration_per_feature_in_the_features_order():
    with pytest.raises(
        BundleError,
        match=r"online_store.declared names \[\], not the features \['station_backlog'\] in their order",
    ):
        _online(declared=())


def test_a_declaration_the_store_cannot_serve_is_refused_when_the_bundle_loads_naming_it():
    from scoring.online import layout_of

    assert layout_of(_online()).names == ("station_backlog",)
    median = {**_online().declared[0], "aggregation": "median"}
    with pytest.raises(
        BundleError,
        match=r"schema.json online_store: online feature 'station_backlog': aggregation 'median' is not one "
        r"the store computes",
    ):
        layout_of(_online(declared=(median,)))
    with pytest.raises(
        BundleError, match=r"online_store: online feature 'station_backlog' has unknown field\(s\) \['ttl'\]"
    ):
        layout_of(_online(declared=({**_online().declared[0], "ttl": 3},)))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"entities": ()}, r"online_store.entities is empty: name the field\(s\) the store is keyed by"),
        ({"time": ""}, r"online_store.time must be a non-empty string, got ''"),
        ({"time": "station"}, r"online_store names \['station'\] more than once \(time and entities\)"),
        (
            {"entities": (EntitySpec("vehicle"), EntitySpec("vehicle"))},
            r"online_store names \['vehicle'\] more than once",
        ),
        (
            {"entities": ({"name": "vehicle", "key": 1},)},
            r"online_store entity has unknown field\(s\) \['key'\]",
        ),
    ],
)
def test_online_store_request_fields_the_server_cannot_use_are_refused(changes, message):
    with pytest.raises(BundleError, match=message):
        _online(**changes)


def test_a_time_field_or_entity_that_collides_with_the_features_is_refused():
    with pytest.raises(BundleError, match=r"online_store.time 'station_backlog' is a feature of the model"):
        _schema(_online(time="station_backlog"))
    with pytest.raises(
        BundleError, match=r"online_store entities \['station_backlog'\] are features the store gives"
    ):
        _schema(_online(entities=(EntitySpec("station_backlog"),)))
