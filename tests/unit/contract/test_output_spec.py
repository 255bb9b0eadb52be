"""schema.json's `output` names what the server answers and reads by: the predicted flag, the
truth feedback gives, the classes a row's flag stands for. A bundle written before they were
declared, or declaring them so that the server could not use them, fails when it is read, naming
the field; nothing falls back to a use case's names."""

import json

import pytest

from contract.bundle import BundleError, Metadata, OutputSpec, Schema
from contract.names import metric_label
from tests.support import REPO

OUTPUT = {
    "threshold": 0.35,
    "names": ["probability", "predicted_x"],
    "truth": "x",
    "positive_class": "x",
    "negative_class": "not x",
}


def test_output_round_trips_with_its_names_and_the_classes_as_metric_labels():
    output = OutputSpec(**OUTPUT)
    assert OutputSpec(**output.to_dict()) == output
    assert output.predicted == "predicted_x"
    assert output.row_labels == ("not_x", "x")
    assert metric_label("visibility 3 miles or more") == "visibility_3_miles_or_more"


def test_a_schema_written_before_the_names_were_declared_names_the_missing_fields():
    """Such a bundle (schema.json of the serving tests before, output `names` + `threshold` only)
    is refused with the fields it lacks, not served under a use case's names."""
    schema = json.loads((REPO / "tests" / "data" / "serving" / "schema.json").read_text())
    schema["output"] = {"names": ["probability", "predicted_x"], "threshold": 0.35}
    with pytest.raises(
        BundleError,
        match=r"schema.json output lacks required field\(s\) \['negative_class', 'positive_class', 'truth'\]",
    ):
        Schema.from_dict(schema)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"names": ["probability"]},
            r"output.names must be \['probability', <the predicted flag>\], got \['probability'\]",
        ),
        ({"names": ["score", "flag"]}, r"output.names must be \['probability', <the predicted flag>\]"),
        (
            {"names": ["probability", ""]},
            r"output.names\[1\] \(the predicted flag\) must be a non-empty string",
        ),
        ({"truth": ""}, r"output.truth must be a non-empty string, got ''"),
        ({"truth": "predicted_x"}, r"output.truth 'predicted_x' must differ from output.names"),
        ({"positive_class": None}, r"output.positive_class must be a non-empty string, got None"),
        (
            {"negative_class": "x"},
            r"output.positive_class 'x' and negative_class 'x' must differ as metric labels",
        ),
        ({"threshold": 1.5}, r"output threshold 1.5 must lie in \[0, 1\]"),
    ],
)
def test_output_names_the_server_cannot_use_are_refused(changes, message):
    with pytest.raises(BundleError, match=message):
        OutputSpec(**{**OUTPUT, **changes})


def test_metadata_without_the_model_name_is_refused():
    with pytest.raises(
        BundleError, match=r"metadata.json lacks required field 'name' \(the registered model's name\)"
    ):
        Metadata.from_dict({**Metadata(name="m").to_dict(), "name": ""})
    assert Metadata.from_dict(Metadata(name="m").to_dict()).name == "m"
