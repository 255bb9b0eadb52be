"""Serving settings, read from the environment when the model object is built (not at import)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from scoring.explanation import DEFAULT_MAX_ROWS as DEFAULT_EXPLAIN_ROWS
from scoring.predictor import COMPILED_MAX_ROWS as DEFAULT_COMPILED_MAX_ROWS

MODEL_ROOT = "MODEL_ROOT"  # directory holding current.json and versions/
MAX_BATCH_ROWS = "MAX_BATCH_ROWS"
MAX_REQUEST_BYTES = "MAX_REQUEST_BYTES"
POLL_SECONDS = "MODEL_POLL_SECONDS"
REQUEST_LOG_DIR = "REQUEST_LOG_DIR"  # unset or empty: no request log
REQUEST_LOG_MAX_BYTES = "REQUEST_LOG_MAX_BYTES"
COMPILED_MAX_ROWS = "COMPILED_MAX_ROWS"  # requests up to this many rows use the compiled trees
ADMIN_TOKEN = "ADMIN_TOKEN"  # unset or empty: admin routes answer 404
MAX_EXPLAIN_ROWS = "MAX_EXPLAIN_ROWS"  # explaining costs milliseconds a row: a limit of its own


@dataclass(frozen=True)
class Settings:
    model_root: str
    max_batch_rows: int = 10_000
    max_request_bytes: int = 8 * 1024 * 1024
    poll_seconds: float = 1.0
    request_log_dir: str = ""
    request_log_max_bytes: int = 64 * 1024 * 1024
    admin_token: str = ""
    compiled_max_rows: int = DEFAULT_COMPILED_MAX_ROWS
    online_store_url: str = ""
    max_explain_rows: int = DEFAULT_EXPLAIN_ROWS

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            model_root=env.get(MODEL_ROOT, "/mnt/models"),
            max_batch_rows=int(env.get(MAX_BATCH_ROWS, cls.max_batch_rows)),
            max_request_bytes=int(env.get(MAX_REQUEST_BYTES, cls.max_request_bytes)),
            poll_seconds=float(env.get(POLL_SECONDS, cls.poll_seconds)),
            request_log_dir=env.get(REQUEST_LOG_DIR, ""),
            request_log_max_bytes=int(env.get(REQUEST_LOG_MAX_BYTES, cls.request_log_max_bytes)),
            admin_token=env.get(ADMIN_TOKEN, ""),
            compiled_max_rows=int(env.get(COMPILED_MAX_ROWS, cls.compiled_max_rows)),
            online_store_url=env.get("ONLINE_STORE_URL", ""),  # redis://host:port/db; unset: none
            max_explain_rows=int(env.get(MAX_EXPLAIN_ROWS, cls.max_explain_rows)),
        )
