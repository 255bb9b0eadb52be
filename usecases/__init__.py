"""Use cases: each sub-package declares one problem (`usecases.spec.UseCase`) as `USE_CASE`.

The loop runs one use case per process, chosen by one setting: `MLOPS_USE_CASE` (default
`flights`), read when `current()` is first called, never at import. A Flyte task image carries
the same setting, so a task resolves the use case it was registered with.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from functools import cache

from usecases.spec import OnlineFeatures, UseCase, UseCaseError

__all__ = ["DEFAULT", "ENV", "OnlineFeatures", "UseCase", "UseCaseError", "available", "current", "load"]

ENV = "MLOPS_USE_CASE"
DEFAULT = "flights"


def available() -> list[str]:
    """The use cases this checkout holds: every sub-package of `usecases` (a use case `rain-next`
    lives in the folder `rain_next`: names take hyphens, Python packages underscores)."""
    folders = pkgutil.iter_modules(list(__path__))
    return sorted(m.name.replace("_", "-") for m in folders if m.ispkg and not m.name.startswith("_"))


@cache
def load(name: str) -> UseCase:
    """The declaration of use case `name` (its package's `USE_CASE`), checked on import."""
    folder = name.replace("-", "_")
    if name not in available():
        raise UseCaseError(name, ENV, f"no package usecases/{folder} (have: {', '.join(available())})")
    module = importlib.import_module(f"usecases.{folder}")
    declared = getattr(module, "USE_CASE", None)
    if not isinstance(declared, UseCase):
        raise UseCaseError(
            name, "USE_CASE", f"usecases/{folder}/__init__.py must define USE_CASE = UseCase(...)"
        )
    if declared.name != name:
        raise UseCaseError(name, "name", f"the package declares '{declared.name}'")
    return declared


def current() -> UseCase:
    """The use case this process runs: `MLOPS_USE_CASE`, or `DEFAULT`."""
    return load(os.environ.get(ENV, "").strip() or DEFAULT)
