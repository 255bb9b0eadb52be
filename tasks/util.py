"""Small typed helpers used inside workflows, and the decorator of the tasks that render a deck."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

import flytekit
from flytekit import task

from images import TASK_IMAGE


def deck_task(cache_version: str, **options: Any) -> Any:
    """`@task` of a cached task that renders its own deck (flytekit's default input and output
    deck fields left out); `options` are the task's other settings (resources, ignored inputs).
    The deck opens on what the task made (`own_deck_first`)."""

    def decorate(function: Callable) -> Any:
        return task(
            own_deck_first(function),
            cache=True,
            cache_version=cache_version,
            container_image=TASK_IMAGE,
            enable_deck=True,
            deck_fields=[],
            **options,
        )

    return decorate


def own_deck_first(function: Callable) -> Callable:
    """Drop the decks made before the task's body runs. A local execution shares one list of
    decks between all its tasks, so each deck file would repeat every earlier task's tabs; what
    remains before the body are the pandera reports of the task's inputs, which the deck of the
    task that made those frames already holds. The deck then holds the task's own tabs, then the
    reports of the frames it returns."""

    @functools.wraps(function)
    def body(*args: Any, **kwargs: Any) -> Any:
        flytekit.current_context().decks.clear()
        return function(*args, **kwargs)

    return body


@task(cache=True, cache_version="1", container_image=TASK_IMAGE)
def date_label(moment: datetime) -> str:
    """`2013-07-01`: a datetime as the date string used in run names and tags."""
    return f"{moment:%Y-%m-%d}"


@task(container_image=TASK_IMAGE)
def truth_known_at(end: datetime) -> datetime:
    """When a period's truth is read: now, or the period's end if that is earlier (a replay of
    the past reads each period as its end saw it). Not cached on purpose: it is the clock; the
    feature table downstream is cached on its value."""
    from core.features import naive

    return min(naive(end).to_pydatetime(), datetime.now())


@task(container_image=TASK_IMAGE)
def tracking_target() -> str:
    """The MLflow tracking URI this execution writes to. Not cached on purpose: the registry
    tasks take it as an input, so their cache entries belong to one registry, and pointing
    `MLFLOW_TRACKING_URI` elsewhere registers there instead of replaying another store's answer."""
    from core.paths import tracking_uri

    return tracking_uri()
