"""The current use case's column names, for the modules that still import them from here.

Transitional: read `usecases.current()` (`.label`, `.key`, `.timestamp`, `.features`, ...)
instead; a use case's schemas live in its package (`usecases/<name>/`).
Resolved when a name is read, never at import.
"""

from __future__ import annotations

from typing import Any

import usecases

_NAMES = {
    "LABEL": lambda case: case.label,
    "KEY": lambda case: case.key,
    "TIMESTAMP": lambda case: case.timestamp,
    "FEATURES": lambda case: list(case.features),
    "CATEGORICAL_FEATURES": lambda case: list(case.categorical_features),
    "NUMERIC_FEATURES": lambda case: list(case.numeric_features),
}


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return _NAMES[name](usecases.current())
    raise AttributeError(f"module 'core.schemas' has no attribute '{name}': read usecases.current()")
