"""The decorator every task is made with, and small typed helpers used inside workflows.

`pipeline_task` is the one place that decides how a task runs: its cache version is computed
from its code (`tasks.cache_policy`), a task that calls a service gets retries, every task a
timeout (`tasks.retries`), every task the task image. A task says what it is, not the numbers:

    @pipeline_task(cache=True, calls=[Service.TRACKING], deck=True)
    def register_model(...): ...
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import flytekit
from flytekit import task

import tasks.dataclass_types  # noqa: F401  (before any task is declared: tasks/dataclass_types.py)
import usecases
from images import TASK_IMAGE
from tasks.cache_policy import code_cache
from tasks.retries import SERVICE_RETRIES, Service, timeout_for, with_retries
from tasks.shutdown import freeze_at_exit

__all__ = ["Service", "pipeline_task"]

# Its one effect at import, and only at exit: a process that declares the project's tasks (a
# `pyflyte run`, a task's pod, a test run) skips the interpreter's final collections.
freeze_at_exit()

# `@task` settings a task does not pass itself: they follow from what it says it is.
DECIDED_HERE = frozenset(
    {"cache", "cache_version", "cache_ignore_input_vars", "retries", "timeout", "container_image"}
)


def pipeline_task(
    *,
    cache: bool,
    calls: Iterable[Service] = (),
    deck: bool = False,
    ignored_inputs: tuple[str, ...] = (),
    **options: Any,
) -> Callable[[Callable], Any]:
    """`@task` with the project's settings. `cache`: deterministic, cached under a version
    computed from its code (`ignored_inputs` left out of the key); `calls`: the services it
    calls (it gets `SERVICE_RETRIES`, and its transient errors are retried); `deck`: it renders
    its own deck (flytekit's default input and output deck fields left out, the task's own tabs
    first); `options`: the task's other `@task` settings (resources: `requests` marks the long
    tasks, `tasks.retries.timeout_for`)."""
    decided_here = DECIDED_HERE & set(options)
    if decided_here:
        raise ValueError(f"{sorted(decided_here)} are decided by pipeline_task, not by a task")
    retries = SERVICE_RETRIES if tuple(calls) else 0
    settings: dict[str, Any] = {
        "container_image": TASK_IMAGE,
        # The pod resolves the use case the task was registered with (its signature carries that
        # use case's schemas, `tasks.frames`), whatever image it runs in, a prebuilt one included.
        "environment": {usecases.ENV: usecases.current().name},
        "retries": retries,
        "timeout": timeout_for(options),
        **options,
    }
    if cache:
        settings["cache"] = code_cache(ignored_inputs)
    elif ignored_inputs:
        raise ValueError("ignored_inputs only apply to a cached task")
    if deck:
        settings.update(enable_deck=True, deck_fields=[])

    def decorate(function: Callable) -> Any:
        body = own_deck_first(function) if deck else function
        return task(with_retries(body, retries), **settings)

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


@pipeline_task(cache=True)
def date_label(moment: datetime) -> str:
    """`2013-07-01`: a datetime as the date string used in run names and tags."""
    return f"{moment:%Y-%m-%d}"


@pipeline_task(cache=False)
def truth_known_at(end: datetime) -> datetime:
    """When a period's truth is read: now, or the period's end if that is earlier (a replay of
    the past reads each period as its end saw it). Not cached on purpose: it is the clock; the
    feature table downstream is cached on its value."""
    from core.features import naive

    return min(naive(end).to_pydatetime(), datetime.now())


@pipeline_task(cache=False)
def tracking_target() -> str:
    """The MLflow tracking URI this execution writes to. Not cached on purpose: the registry
    tasks take it as an input, so their cache entries belong to one registry, and pointing
    `MLFLOW_TRACKING_URI` elsewhere registers there instead of replaying another store's answer."""
    from core.paths import tracking_uri

    return tracking_uri()
