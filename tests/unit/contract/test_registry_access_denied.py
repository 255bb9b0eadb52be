"""A registry that refuses the client is told apart from one without the alias: the error says
401 or 403 and what to set, names the user, never the password (contract.registry.resolve_alias)."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import PERMISSION_DENIED, RESOURCE_DOES_NOT_EXIST, UNAUTHENTICATED

from contract.registry import NoVersionForAlias, RegistryAccessDenied, resolve_alias


class Refusing:
    tracking_uri = "http://registry.example:5000"

    def __init__(self, code):
        self.code = code

    def get_model_version_by_alias(self, name, alias):
        raise MlflowException("refused", error_code=self.code)


def test_no_credentials(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    with pytest.raises(
        RegistryAccessDenied, match="answered 401 .* no credentials were sent; set MLFLOW_TRACKING_USERNAME"
    ):
        resolve_alias(Refusing(UNAUTHENTICATED), "m", "champion")


def test_a_refused_password_names_the_user_not_the_password(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "reader")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "s3cret-value")
    with pytest.raises(RegistryAccessDenied, match="the password of user 'reader' was refused") as raised:
        resolve_alias(Refusing(UNAUTHENTICATED), "m", "champion")
    assert "s3cret-value" not in str(raised.value)


def test_a_user_without_read(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "someone")
    with pytest.raises(RegistryAccessDenied, match="answered 403 .* user 'someone' may not read it"):
        resolve_alias(Refusing(PERMISSION_DENIED), "m", "champion")


def test_a_missing_model_is_still_no_version_for_the_alias():
    with pytest.raises(NoVersionForAlias, match="run `make demo` first"):
        resolve_alias(Refusing(RESOURCE_DOES_NOT_EXIST), "m", "champion")
