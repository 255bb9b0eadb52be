"""The request-time join: each validated row's online features, read from the online store as of
its t (`operational.store`, its layout derived from the bundle's declarations), added to the model
columns.

The request names its entities and its event time (the bundle's `OnlineStoreSpec`: `entities`,
`time`), never the features. Where the store cannot tell (down, empty, behind t) or has nothing
for an entity, a feature is missing: the trees route it, and the answer names it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from contract.bundle import SCHEMA_FILE, BundleError, OnlineStoreSpec, Schema
from operational.declarations import DeclarationError, features_from, stream_from
from operational.store import STORE_DOWN, Layout, OnlineStore
from scoring.validation import key_inputs

NOT_KNOWN = "not_known"  # the store answered: nothing to tell for this entity as of t


@dataclass
class Joined:
    """What the join added: one column per feature, the features the store could not give in any
    row (a value offline would have), why (None: it answered every row), and every missing value
    counted by (feature, reason)."""

    columns: dict[str, list[float]]
    missing: list[str]
    unavailable: str | None = None
    counts: Counter = field(default_factory=Counter)

    def logged(self) -> dict[str, list[float | None]]:
        """The values each row was scored with, for the request log (None where missing)."""
        return {name: [None if v != v else v for v in values] for name, values in self.columns.items()}


def layout_of(spec: OnlineStoreSpec) -> Layout:
    """The store's layout derived from the bundle's declarations (once, when the bundle loads);
    a declaration the store cannot serve is refused naming it."""
    try:
        return Layout(
            features_from(spec.declared),
            stream_from(spec.stream),
            spec.horizon_minutes,
            entities=spec.entity_names,
        )
    except (DeclarationError, ValueError) as error:
        raise BundleError(f"{SCHEMA_FILE} online_store: {error}") from None


class OnlineJoin:
    """The bundle's `OnlineStoreSpec` over one store (None: no store configured, every row's
    online features are missing, reason `store_unavailable`)."""

    def __init__(self, spec: OnlineStoreSpec, store: OnlineStore | None):
        self.spec = spec
        self.store = store
        self.layout = layout_of(spec)

    def join(self, entities: Sequence[Sequence | np.ndarray], minutes: Sequence[int]) -> Joined:
        """`entities`: one column per entity of the spec, in its order; `minutes`: each row's
        event time in whole minutes. The store is asked for (*entity values, minute) per row."""
        n_rows = len(minutes)
        names = self.spec.features
        if self.store is None:
            counts = Counter({(name, STORE_DOWN): n_rows for name in names})
            return Joined({n: [math.nan] * n_rows for n in names}, list(names), STORE_DOWN, counts)
        lookups = self.store.lookup(self.layout, list(zip(*entities, minutes, strict=True)))
        columns: dict[str, list[float]] = {n: [] for n in names}
        counts = Counter()
        unavailable = None
        for lookup in lookups:
            unavailable = unavailable or lookup.unavailable
            for name in names:
                value = lookup.values[name]
                if value is None:
                    counts[name, lookup.unavailable or NOT_KNOWN] += 1
                    columns[name].append(math.nan)
                else:
                    columns[name].append(value)
        # named in the answer: what the model had to do without, not what offline lacks too
        missing = [name for name in names if any(f == name and r != NOT_KNOWN for f, r in counts)]
        return Joined(columns, missing, unavailable, counts)


def online_tags(joined: Joined | None) -> dict:
    """The answer names what the model had to score without: the online features the store could
    not give in any row and, when it could not answer, why."""
    if joined is None:
        return {}
    tags: dict = {"missing_features": joined.missing}
    if joined.unavailable:
        tags["online_store"] = joined.unavailable
    return tags


def request_inputs(schema: Schema) -> list[dict]:
    """What a request carries: the features the online store does not give, then its keys."""
    return [spec.to_dict() for spec in schema.request_features] + key_inputs(schema)
