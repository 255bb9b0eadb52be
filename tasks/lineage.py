"""The clock a training run's duration is measured from (`core.lineage`)."""

from __future__ import annotations

from datetime import UTC, datetime

from tasks.util import pipeline_task


@pipeline_task(cache=False)
def workflow_started() -> datetime:
    """Now, in UTC. A workflow calls it first and gives it no input, so on a cluster it starts with
    the execution (its pod's start-up aside) and locally it runs before any other node. Not cached
    on purpose: it is the clock; the registration takes it as an input left out of its cache key."""
    return datetime.now(UTC)
