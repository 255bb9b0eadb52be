"""How a task survives a service's brief outage: which errors are transient, how many attempts,
how long a task may run. One place, read by the task decorator (`tasks.util.pipeline_task`).

On a Flyte cluster, `retries=` re-runs a task in a new pod, but only after a *recoverable* error:
flytekit reports any other exception a task raises as non-recoverable, and Flyte does not retry
those. So a task that calls a service turns a transient error (a connection refused or reset, a
timeout, a 429 or 5xx answer) into `FlyteRecoverableException`; anything else (bad data, a
failed check) fails at once, whatever the retries.

Local execution (`pyflyte run`, `make demo`) enforces neither retries nor timeouts. There, the
same attempts run in a loop inside the process: the task's body runs again after a transient
error, with a short pause, so a tracking server that blinks does not fail a local run either.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from enum import Enum
from typing import Any

logger = logging.getLogger(__name__)

# Attempts after the first, for a task that calls a service (Flyte's `retries`).
SERVICE_RETRIES = 3
# A task that asks for resources does the heavy work (data, fits, scoring); any other task is
# bookkeeping, or calls a service: a hung call must not hold a pod for long. MLflow's client
# already retries each request for about 4 minutes before it gives up.
LONG_TIMEOUT = timedelta(hours=2)
SHORT_TIMEOUT = timedelta(minutes=30)
# Local retry loop: pauses of 1, 2, 4 ... seconds between attempts.
LOCAL_PAUSE_SECONDS = 1.0


class Service(Enum):
    """A service a task calls: its retries come from calling one."""

    TRACKING = "MLflow tracking server and model registry"
    PUSHGATEWAY = "Prometheus Pushgateway"
    OBJECT_STORE = "object store (request logs)"


def timeout_for(options: dict[str, Any]) -> timedelta:
    """The timeout of a task with these `@task` options (`requests`: the long ones)."""
    return LONG_TIMEOUT if options.get("requests") is not None else SHORT_TIMEOUT


# Exceptions whose class (or a base class) has one of these names mean the service was not
# reached or did not answer: the builtin and requests' ConnectionError and Timeout, urllib3's
# retry and protocol errors, botocore's endpoint errors. Matched by name so that no client
# library is imported to classify an error.
TRANSIENT_CLASSES = frozenset(
    {
        "ConnectionError",
        "TimeoutError",
        "Timeout",
        "RetryError",
        "MaxRetryError",
        "ProtocolError",
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
    }
)
TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
# MLflow's error codes for a server that is busy or down (its HTTP 429 and 503).
TRANSIENT_MLFLOW_CODES = frozenset({"TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED"})


def is_transient(error: BaseException) -> bool:
    """Whether `error`, or an error it was raised from, says a service was briefly unavailable."""
    return any(_transient_alone(e) for e in _chain(error))


def _chain(error: BaseException) -> Iterator[BaseException]:
    """`error`, what it was raised from or during, and what urllib's URLError wraps (`reason`)."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = (current.__cause__, current.__context__, getattr(current, "reason", None))
        pending.extend(e for e in linked if isinstance(e, BaseException))


def _transient_alone(error: BaseException) -> bool:
    if any(cls.__name__ in TRANSIENT_CLASSES for cls in type(error).__mro__):
        return True
    if getattr(error, "error_code", None) in TRANSIENT_MLFLOW_CODES:
        return True
    status = getattr(error, "code", None)  # urllib's HTTPError (the Pushgateway client)
    response = getattr(error, "response", None)  # requests' HTTPError
    status = getattr(response, "status_code", status)
    return isinstance(status, int) and status in TRANSIENT_STATUS


def with_retries(function: Callable, retries: int) -> Callable:
    """`function` as a task body that survives `retries` transient errors: on a cluster it
    raises them as recoverable (Flyte runs the task again); locally it runs the body again."""
    if retries <= 0:
        return function

    @functools.wraps(function)
    def body(*args: Any, **kwargs: Any) -> Any:
        if not _local_execution():
            try:
                return function(*args, **kwargs)
            except Exception as error:
                if is_transient(error):
                    from flytekit.exceptions.user import FlyteRecoverableException

                    raise FlyteRecoverableException(f"transient: {error}") from error
                raise
        for attempt in range(retries + 1):
            try:
                return function(*args, **kwargs)
            except Exception as error:
                if attempt == retries or not is_transient(error):
                    raise
                pause = LOCAL_PAUSE_SECONDS * 2**attempt
                logger.warning(
                    "%s: transient error (%s), attempt %d of %d in %.0f s",
                    function.__name__,
                    error,
                    attempt + 2,
                    retries + 1,
                    pause,
                )
                time.sleep(pause)
        raise AssertionError("unreachable")

    return body


def _local_execution() -> bool:
    """True unless the task runs in a Flyte cluster's pod (flytekit's TASK_EXECUTION mode)."""
    from flytekit import FlyteContextManager

    state = FlyteContextManager.current_context().execution_state
    return state is None or state.mode is None or state.is_local_execution()
