"""The use cases the generated names are tested for: every use case this checkout holds, and a
declaration made here (`renamed`) whose name, classes and threshold differ from each of them and
that has no online store, so that whatever still names a shipped use case shows."""

from __future__ import annotations

import dataclasses

import usecases
from usecases.spec import UseCase

RENAMED = "bike-share"


def shipped() -> list[UseCase]:
    """Every use case under usecases/ (their generated files are committed)."""
    return [usecases.load(folder.replace("_", "-")) for folder in usecases.available()]


def renamed() -> UseCase:
    """Flights' declaration under another name, other classes and threshold, no online store:
    generated into a temp folder, never committed."""
    return dataclasses.replace(
        usecases.load(usecases.DEFAULT),
        name=RENAMED,
        title="will a bike-share station run empty within the hour?",
        model_name=f"{RENAMED}-empty-station",
        positive_class="runs empty",
        negative_class="keeps bikes",
        threshold=0.6,
        online=None,
    )


def every() -> list[UseCase]:
    return [*shipped(), renamed()]
