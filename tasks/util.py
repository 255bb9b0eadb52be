"""Small typed helpers used inside workflows."""

from __future__ import annotations

from datetime import datetime

from flytekit import task

from images import TASK_IMAGE


@task(cache=True, cache_version="1", container_image=TASK_IMAGE)
def date_label(moment: datetime) -> str:
    """`2013-07-01`: a datetime as the date string used in run names and tags."""
    return f"{moment:%Y-%m-%d}"
