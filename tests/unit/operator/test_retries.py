"""Which errors are transient, and what a task that calls a service does with them
(`tasks.retries`): locally its body runs again; on a cluster the error becomes recoverable, the
only kind Flyte retries."""

from __future__ import annotations

import urllib.error

import pytest
import requests
from flytekit import FlyteContextManager
from flytekit.core.context_manager import ExecutionState
from flytekit.exceptions.user import FlyteRecoverableException
from mlflow.exceptions import MlflowException, RestException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, TEMPORARILY_UNAVAILABLE

from tasks import retries
from tasks.retries import is_transient, with_retries


def mlflow_client_error(cause: Exception) -> MlflowException:
    """What MLflow's client raises once its own retries are spent: `raise ... ` inside `except`."""
    try:
        raise cause
    except Exception as error:
        try:
            raise MlflowException(f"API request failed with exception {error}")
        except MlflowException as wrapped:
            return wrapped


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError("refused"),
        TimeoutError("timed out"),
        mlflow_client_error(requests.exceptions.RetryError("too many 503 error responses")),
        mlflow_client_error(requests.exceptions.ConnectionError("connection reset")),
        MlflowException("busy", error_code=TEMPORARILY_UNAVAILABLE),
        RestException({"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"}),
        urllib.error.HTTPError("http://pushgateway:9091", 503, "Service Unavailable", {}, None),
        urllib.error.URLError(ConnectionRefusedError("refused")),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_service_that_did_not_answer_is_transient(error):
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("holdout has no labels"),
        MlflowException("Registered model alias champion not found.", error_code=INVALID_PARAMETER_VALUE),
        RestException({"error_code": "RESOURCE_ALREADY_EXISTS", "message": "exists"}),
        urllib.error.HTTPError("http://pushgateway:9091", 400, "Bad Request", {}, None),
        KeyError("tailnum"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_bad_input_and_a_refusal_are_not(error):
    assert not is_transient(error)


class Flaky:
    """Fails with `errors`, one a call, then returns "done"."""

    def __init__(self, *errors: Exception):
        self.errors, self.calls = list(errors), 0
        self.__name__ = "flaky_task"

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


@pytest.fixture(autouse=True)
def no_pause(monkeypatch):
    monkeypatch.setattr(retries, "LOCAL_PAUSE_SECONDS", 0.0)


def test_locally_the_body_runs_again_after_a_transient_error():
    flaky = Flaky(ConnectionRefusedError("refused"), TimeoutError("slow"))
    assert with_retries(flaky, retries=3)() == "done"
    assert flaky.calls == 3


def test_locally_the_attempts_end_with_the_last_error():
    flaky = Flaky(*[ConnectionRefusedError(f"refused {n}") for n in range(5)])
    with pytest.raises(ConnectionRefusedError, match="refused 3"):
        with_retries(flaky, retries=3)()
    assert flaky.calls == 4


def test_a_failure_that_is_not_transient_is_not_repeated():
    flaky = Flaky(ValueError("no labels in the holdout"))
    with pytest.raises(ValueError, match="no labels"):
        with_retries(flaky, retries=3)()
    assert flaky.calls == 1


def test_no_retries_leaves_the_function_as_it_is():
    flaky = Flaky()
    assert with_retries(flaky, retries=0) is flaky


@pytest.fixture
def on_a_cluster():
    context = FlyteContextManager.current_context()
    state = context.new_execution_state().with_params(mode=ExecutionState.Mode.TASK_EXECUTION)
    with FlyteContextManager.with_context(context.with_execution_state(state)):
        yield


def test_on_a_cluster_a_transient_error_is_recoverable_and_runs_once(on_a_cluster):
    flaky = Flaky(ConnectionRefusedError("refused"))
    with pytest.raises(FlyteRecoverableException, match="transient: refused") as raised:
        with_retries(flaky, retries=3)()
    assert flaky.calls == 1  # Flyte runs the task again, in a new pod
    assert isinstance(raised.value.__cause__, ConnectionRefusedError)


def test_on_a_cluster_any_other_error_stays_as_it_is(on_a_cluster):
    flaky = Flaky(ValueError("no labels in the holdout"))
    with pytest.raises(ValueError, match="no labels"):
        with_retries(flaky, retries=3)()
