"""The two settings a deployment gives that name its use case, as environment variables.

`make serve` and the Kubernetes manifests set them from the use case's declaration
(`usecases.UseCase.metric_prefix`, `.model_name`); nothing in the serving code defaults to a use
case. Everything else the server names after the use case comes from the bundle it serves.

  METRIC_PREFIX     every metric of the model server, the registry sync and the request-log
                    shipper is named `<prefix>_...`
  REGISTERED_MODEL  the registered model the registry sync follows and a rollback moves
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

METRIC_PREFIX_ENV = "METRIC_PREFIX"
REGISTERED_MODEL_ENV = "REGISTERED_MODEL"
_METRIC_PREFIX = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_WHO_SETS_IT = "make serve and the Kubernetes manifests set it from the use case"


class SettingsError(ValueError):
    """A deployment setting that is missing or malformed: the message names the variable."""


def metric_prefix(value: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """`value` (else `METRIC_PREFIX` from `env`, default the process's) as a metric prefix;
    SettingsError naming the variable when it is missing or cannot start a Prometheus name."""
    value = value or (os.environ if env is None else env).get(METRIC_PREFIX_ENV, "")
    if not value:
        raise SettingsError(f"{METRIC_PREFIX_ENV} is not set: the use case's metric prefix ({_WHO_SETS_IT})")
    if not _METRIC_PREFIX.fullmatch(value):
        raise SettingsError(
            f"{METRIC_PREFIX_ENV} '{value}' must be letters, digits and underscores, "
            "not starting with a digit"
        )
    return value


def registered_model(value: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """`value` (else `REGISTERED_MODEL` from `env`, default the process's); SettingsError naming
    the variable when neither is given."""
    value = value or (os.environ if env is None else env).get(REGISTERED_MODEL_ENV, "")
    if not value:
        raise SettingsError(
            f"{REGISTERED_MODEL_ENV} is not set (nor --model-name given): the use case's registered model "
            f"({_WHO_SETS_IT})"
        )
    return value
