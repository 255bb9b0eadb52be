"""Serving settings, read from the environment when the model object is built (not at import):
each field from the variable of its name in capitals (`MODEL_ROOT`, `SHADOW_MAX_ROWS`, ...).

`METRIC_PREFIX` is required: the deployment names the use case's metrics (`contract.deployment`);
all else the server names after the use case comes from the bundle it serves."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from contract.deployment import metric_prefix
from scoring.explanation import DEFAULT_MAX_ROWS as DEFAULT_EXPLAIN_ROWS
from scoring.predictor import COMPILED_MAX_ROWS as DEFAULT_COMPILED_MAX_ROWS
from scoring.shadow import DEFAULT_BATCH_ROWS as DEFAULT_SHADOW_BATCH_ROWS
from scoring.shadow import DEFAULT_BATCH_SECONDS as DEFAULT_SHADOW_BATCH_SECONDS


@dataclass(frozen=True)
class Settings:
    model_root: str = "/mnt/models"  # holds current.json, challenger.json and versions/
    max_batch_rows: int = 10_000
    max_request_bytes: int = 8 * 1024 * 1024
    model_poll_seconds: float = 1.0  # how often each worker stats the pointer files
    request_log_dir: str = ""  # empty: no request log (and no shadow challenger)
    request_log_max_bytes: int = 64 * 1024 * 1024
    admin_token: str = ""  # empty: admin routes answer 404
    compiled_max_rows: int = DEFAULT_COMPILED_MAX_ROWS  # up to this many rows: the compiled trees
    online_store_url: str = ""  # redis://host:port/db; empty: none
    max_explain_rows: int = DEFAULT_EXPLAIN_ROWS  # explaining costs milliseconds a row
    shadow_max_rows: int = DEFAULT_COMPILED_MAX_ROWS  # larger requests are not shadowed
    shadow_share: float = 1.0  # of requests the challenger scores (docs/serving.md#benchmark)
    shadow_batch_rows: int = DEFAULT_SHADOW_BATCH_ROWS  # the challenger scores its queue at this many rows
    shadow_batch_seconds: float = DEFAULT_SHADOW_BATCH_SECONDS  # or when its oldest request is this old
    metric_prefix: str = ""  # METRIC_PREFIX: required by `from_env`

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        defaults = cls()
        values = {}
        for spec in fields(cls):
            default = getattr(defaults, spec.name)
            values[spec.name] = type(default)(env.get(spec.name.upper(), default))
        values["metric_prefix"] = metric_prefix(env=env)  # SettingsError naming the variable
        return cls(**values)
