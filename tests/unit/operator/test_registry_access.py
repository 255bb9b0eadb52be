"""scripts/registry_access.py refuses a request it cannot carry out before it changes anything,
naming the option or the variable (the server side is tests/integration/serving/test_registry_auth.py)."""

from __future__ import annotations

import pytest

from scripts.registry_access import AccessError, User, apply, main


def test_a_user_is_name_equals_password_variable():
    assert User.parse("--reader", "flights-serving=READER_PASSWORD") == User(
        "flights-serving", "READER_PASSWORD"
    )
    with pytest.raises(AccessError, match=r"--reader 'flights-serving': expected NAME=PASSWORD_ENV"):
        User.parse("--reader", "flights-serving")


def test_a_missing_password_is_refused_before_any_request(monkeypatch):
    monkeypatch.delenv("PIPELINE_PASSWORD", raising=False)
    with pytest.raises(
        AccessError, match="user pipeline: environment variable PIPELINE_PASSWORD is unset or empty"
    ):
        apply("http://127.0.0.1:9", User("pipeline", "PIPELINE_PASSWORD"), [], [])


def test_a_user_takes_one_role(monkeypatch):
    monkeypatch.setenv("P", "x")
    with pytest.raises(AccessError, match="each user takes one role"):
        apply("http://127.0.0.1:9", User("pipeline", "P"), [User("pipeline", "P")], [])
    with pytest.raises(AccessError, match="each user takes one role"):
        apply("http://127.0.0.1:9", User("pipeline", "P"), [], ["pipeline"])
    with pytest.raises(
        AccessError, match="each user takes one role: --pipeline, --shipper"
    ):  # writes logs, reads
        apply("http://127.0.0.1:9", User("pipeline", "P"), [User("s", "P")], [], shipper=User("s", "P"))


def test_the_command_line_names_the_bad_option(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--tracking-uri", "http://127.0.0.1:9", "--pipeline", "pipeline"])
    assert exited.value.code == 2
    assert "--pipeline 'pipeline': expected NAME=PASSWORD_ENV" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--tracking-uri", "http://127.0.0.1:9", "--pipeline", "p=P", "--shipper", "logs"])
    assert "--shipper 'logs': expected NAME=PASSWORD_ENV" in capsys.readouterr().err
