"""The two settings a deployment gives that name its use case (`contract.deployment`): the metric
prefix and the registered model. Nothing defaults to a use case: a process started without one
stops at once, naming the variable."""

from __future__ import annotations

import pytest

from contract.deployment import SettingsError, metric_prefix, registered_model
from seldon import rollback, ship, sync
from seldon.settings import Settings


def test_the_server_needs_a_metric_prefix():
    with pytest.raises(
        SettingsError, match=r"METRIC_PREFIX is not set: the use case's metric prefix \(make serve"
    ):
        Settings.from_env({})
    assert Settings.from_env({"METRIC_PREFIX": "bikes"}).metric_prefix == "bikes"


@pytest.mark.parametrize("value", ["9lives", "flights-late", "a b"])
def test_a_prefix_that_cannot_start_a_metric_name_is_refused(value):
    with pytest.raises(
        SettingsError, match=rf"METRIC_PREFIX '{value}' must be letters, digits and underscores"
    ):
        metric_prefix(env={"METRIC_PREFIX": value})


def test_the_registered_model_comes_from_the_flag_or_the_environment():
    assert registered_model("given", env={"REGISTERED_MODEL": "env"}) == "given"
    assert registered_model(env={"REGISTERED_MODEL": "env"}) == "env"
    with pytest.raises(SettingsError, match=r"REGISTERED_MODEL is not set \(nor --model-name given\)"):
        registered_model(env={})


@pytest.mark.parametrize(
    ("main", "argv", "variable"),
    [
        (sync.main, ["--root", "unused", "--once"], "REGISTERED_MODEL"),
        (sync.main, ["--root", "unused", "--once", "--model-name", "m"], "METRIC_PREFIX"),
        (rollback.main, ["--to", "1"], "REGISTERED_MODEL"),
        (ship.main, ["--dir", "unused", "--once"], "METRIC_PREFIX"),
    ],
)
def test_the_sidecars_stop_at_once_naming_the_missing_variable(main, argv, variable, monkeypatch, capsys):
    monkeypatch.delenv("REGISTERED_MODEL", raising=False)
    monkeypatch.delenv("METRIC_PREFIX", raising=False)
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    assert f"{variable} is not set" in capsys.readouterr().err
