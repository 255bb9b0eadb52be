"""flytekit's literal type of a dataclass, built once per dataclass instead of at every mention.

flytekit 1.16.31 (`flytekit.core.type_engine.DataclassTransformer.get_literal_type`, source read)
builds a dataclass's literal type, a JSON schema made by mashumaro included, each time a task or
workflow interface names the dataclass: the training workflow's tasks name eight dataclasses 38
times, about a second of every `pyflyte run` of it before any task runs (the cached re-run's
largest cost above a one-task run). A dataclass is fixed once defined, so its literal type is
built once; each caller gets its own copy (flytekit mutates some of the types it is handed: a
union tags its members' structure in place).
"""

from __future__ import annotations

import copy
from typing import Any

from flytekit.core.type_engine import DataclassTransformer
from flytekit.models.types import LiteralType

FLYTEKIT_GET_LITERAL_TYPE = DataclassTransformer.get_literal_type
_BUILT: dict[Any, LiteralType] = {}  # dataclass type -> its literal type


def get_literal_type(self: DataclassTransformer, t: Any) -> LiteralType:
    """flytekit's answer for `t`, from the one built for it when there is one."""
    try:
        built = _BUILT.get(t)
    except TypeError:  # an unhashable annotation: no key to keep it under
        return FLYTEKIT_GET_LITERAL_TYPE(self, t)
    if built is None:
        built = _BUILT[t] = FLYTEKIT_GET_LITERAL_TYPE(self, t)
    # a copy, not a protobuf round trip: a NaN default in a dataclass's JSON schema does not parse back
    return copy.deepcopy(built)


def install() -> None:
    DataclassTransformer.get_literal_type = get_literal_type  # type: ignore[method-assign]


install()
